"""Point values <-> standard messages (message packages only, no rclpy).

| msg | published type | field |
|---|---|---|
| Bool, Int32, Int64, Float32, Float64 | std_msgs/<msg> | data |
| Temperature | sensor_msgs/Temperature | temperature (header, variance 0) |
| FluidPressure | sensor_msgs/FluidPressure | fluid_pressure |
| RelativeHumidity | sensor_msgs/RelativeHumidity | relative_humidity |
| Illuminance | sensor_msgs/Illuminance | illuminance |
| BatteryState | sensor_msgs/BatteryState | voltage; percentage from full/empty voltage, else NaN |

Commands to writable points: std_msgs/Bool for coils, std_msgs/Float64 for registers (any
scale/type: the value is range-checked, scaled and rounded by the supervisor).
"""

from __future__ import annotations

import math

from sensor_msgs.msg import BatteryState, FluidPressure, Illuminance, RelativeHumidity, Temperature
from std_msgs.msg import Bool, Float32, Float64, Int32, Int64

from .registermap import Point

TYPES = {
    "Bool": Bool,
    "Int32": Int32,
    "Int64": Int64,
    "Float32": Float32,
    "Float64": Float64,
    "Temperature": Temperature,
    "FluidPressure": FluidPressure,
    "RelativeHumidity": RelativeHumidity,
    "Illuminance": Illuminance,
    "BatteryState": BatteryState,
}
_FIELD = {
    "Temperature": "temperature",
    "FluidPressure": "fluid_pressure",
    "RelativeHumidity": "relative_humidity",
    "Illuminance": "illuminance",
}


def msg_type(p: Point):
    return TYPES[p.msg]


def has_header(p: Point) -> bool:
    """Whether the point's message has a header (a stamp and a frame to fill)."""
    return p.msg not in ("Bool", "Int32", "Int64", "Float32", "Float64")


def cmd_type(p: Point):
    return Bool if p.is_bit else Float64


def new(p: Point):
    """A message for the point, with the fields that never change filled in."""
    t = p.msg
    m = TYPES[t]()
    if t == "BatteryState":
        m.present = True
        for f in ("current", "charge", "capacity", "design_capacity", "temperature", "percentage"):
            setattr(m, f, math.nan)
    elif t in _FIELD:
        m.variance = 0.0
    return m


def fill(m, p: Point, value, stamp, frame_id: str):
    """Put a value (and stamp/frame for header types) into ``m`` (from :func:`new`); the node
    keeps one message per point and publishes it again: no allocation per sample."""
    t = p.msg
    if t == "Bool":
        m.data = bool(value)
    elif t in ("Int32", "Int64"):
        m.data = int(value)
    elif t == "Float64":
        m.data = float(value)
    elif t == "Float32":
        v = float(value)
        if math.isfinite(v) and abs(v) > 3.4028234663852886e38:
            v = math.copysign(math.inf, v)
        m.data = v
    else:
        v = float(value)
        if t == "BatteryState":
            m.voltage = v
            if p.full_voltage is not None:
                span = p.full_voltage - p.empty_voltage
                m.percentage = min(1.0, max(0.0, (v - p.empty_voltage) / span))
        else:
            setattr(m, _FIELD[t], v)
        m.header.stamp = stamp
        m.header.frame_id = frame_id
    return m


def make(p: Point, value, stamp, frame_id: str):
    """A new message for a point's value; ``stamp`` is a builtin_interfaces/Time."""
    return fill(new(p), p, value, stamp, frame_id)


def command_value(p: Point, msg):
    return bool(msg.data) if p.is_bit else float(msg.data)
