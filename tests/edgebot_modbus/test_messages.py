"""Point values -> standard messages (no rclpy: message classes only)."""

import math

from builtin_interfaces.msg import Time
from sensor_msgs.msg import BatteryState, FluidPressure, Temperature
from std_msgs.msg import Bool, Float32, Float64, Int64

from edgebot_modbus import messages
from edgebot_modbus import registermap as R


def _pt(**kw):
    doc = {
        "devices": [
            {
                "name": "d",
                "tcp": {"host": "h"},
                "points": [{"name": "p", "function": "input_register", "address": 0, **kw}],
            }
        ]
    }
    return R.from_dict(doc).devices[0].points[0]


def test_types_fields_and_headers():
    stamp = Time(sec=5, nanosec=7)
    t = messages.make(_pt(type="int16", scale=0.1, msg="Temperature"), 21.5, stamp, "plc_link")
    assert isinstance(t, Temperature) and t.temperature == 21.5 and t.variance == 0.0
    assert (t.header.frame_id, t.header.stamp.sec, t.header.stamp.nanosec) == ("plc_link", 5, 7)
    p = messages.make(_pt(msg="FluidPressure", scale=100.0), 101300.0, stamp, "f")
    assert isinstance(p, FluidPressure) and p.fluid_pressure == 101300.0
    i = messages.make(_pt(type="uint32", msg="Int64"), 4_000_000_000, stamp, "f")
    assert isinstance(i, Int64) and i.data == 4_000_000_000
    f = messages.make(_pt(type="float64", msg="Float32"), 1e300, stamp, "f")
    assert isinstance(f, Float32) and f.data == math.inf
    assert isinstance(messages.make(_pt(), 3, stamp, "f"), Float64)


def test_battery_percentage_and_unknown_fields():
    stamp = Time()
    pt = _pt(type="float32", msg="BatteryState", full_voltage=25.2, empty_voltage=19.8)
    m = messages.make(pt, 22.5, stamp, "bat")
    assert isinstance(m, BatteryState) and m.voltage == 22.5 and m.present
    assert abs(m.percentage - 0.5) < 1e-6
    assert messages.make(pt, 30.0, stamp, "bat").percentage == 1.0
    assert messages.make(pt, 10.0, stamp, "bat").percentage == 0.0
    assert math.isnan(m.current) and math.isnan(m.capacity)
    plain = messages.make(_pt(type="float32", msg="BatteryState"), 12.0, stamp, "bat")
    assert math.isnan(plain.percentage)


def test_reused_message_and_command_types():
    pt = _pt(type="int16")
    m = messages.new(pt)
    assert messages.fill(m, pt, 1.0, Time(), "") is m and m.data == 1.0
    messages.fill(m, pt, 2.0, Time(), "")
    assert m.data == 2.0
    coil = (
        R.from_dict(
            {
                "devices": [
                    {
                        "name": "d",
                        "tcp": {"host": "h"},
                        "points": [
                            {"name": "c", "function": "coil", "address": 0, "writable": True}
                        ],
                    }
                ]
            }
        )
        .devices[0]
        .points[0]
    )
    assert messages.cmd_type(coil) is Bool and messages.cmd_type(pt) is Float64
    assert messages.command_value(coil, Bool(data=True)) is True
    assert isinstance(messages.make(coil, 1, Time(), ""), Bool)
