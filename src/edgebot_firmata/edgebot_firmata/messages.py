"""Pin-map readings -> ROS messages (no rclpy: message types only; the node stamps them)."""

from __future__ import annotations

from collections.abc import Sequence

from sensor_msgs.msg import BatteryState, JointState, Range
from std_msgs.msg import Float32

from . import pinmap as PM
from .encoders import WheelEncoder


def analog_msg(a: PM.AnalogInput, raw: int, stamp):
    """BatteryState (type battery) or Float32 (raw * scale + offset)."""
    if a.type != "battery":
        return Float32(data=float(a.value(raw)))
    volts = a.voltage(raw)
    nan = float("nan")
    msg = BatteryState(
        voltage=float(volts),
        percentage=float(a.percentage(volts)),
        temperature=nan,
        current=nan,
        charge=nan,
        capacity=nan,
        design_capacity=nan,
        present=True,
        location=a.name,
    )
    msg.header.stamp = stamp
    return msg


def sonar_msg(s: PM.Sonar, cm: int, stamp) -> Range:
    """REP 117: +inf = nothing detected (no echo, or beyond max_range)."""
    r = cm / 100.0
    msg = Range(
        radiation_type=Range.ULTRASOUND,
        field_of_view=float(s.field_of_view),
        min_range=float(s.min_range),
        max_range=float(s.max_range),
        range=float("inf") if cm == 0 or r > s.max_range else float(r),
    )
    msg.header.stamp = stamp
    msg.header.frame_id = s.frame_id
    return msg


def ir_msg(r: PM.IrRange, raw: int, stamp) -> Range:
    msg = Range(
        radiation_type=Range.INFRARED,
        field_of_view=float(r.field_of_view),
        min_range=float(r.min_range),
        max_range=float(r.max_range),
        range=float(r.distance(raw)),
    )
    msg.header.stamp = stamp
    msg.header.frame_id = r.frame_id
    return msg


def wheel_states_msg(
    encoders: Sequence[PM.Encoder], wheels: dict[str, WheelEncoder], now: float, stamp
) -> JointState:
    """Position (rad) and velocity (rad/s, counts since the previous message) per joint."""
    ws = [wheels[e.name] for e in encoders]
    msg = JointState(
        name=[e.joint for e in encoders],
        position=[w.position for w in ws],
        velocity=[w.velocity(now) for w in ws],
    )
    msg.header.stamp = stamp
    return msg
