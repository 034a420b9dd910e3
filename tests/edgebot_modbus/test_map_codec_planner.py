"""Pure logic of edgebot_modbus: value encoding, the register map's validation, the planner."""

import math
import pathlib
import struct

import pytest
from pymodbus.client import ModbusTcpClient

from edgebot_modbus import codec, planner
from edgebot_modbus import registermap as R

ROOT = pathlib.Path(__file__).resolve().parents[2]
DT = ModbusTcpClient.DATATYPE


# --------------------------------------------------------------------------- codec
@pytest.mark.parametrize(
    "dtype,value",
    [
        ("int16", -12345),
        ("uint16", 54321),
        ("int32", -123456789),
        ("uint32", 3_000_000_000),
        ("float32", 230.25),
        ("int64", -(1 << 40) - 7),
        ("uint64", (1 << 63) + 5),
        ("float64", -1.0e-3),
    ],
)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_decode_matches_pymodbus(dtype, value, word_order):
    """Our conversion agrees with pymodbus's own for the orders pymodbus supports."""
    ptype = getattr(DT, dtype.upper())
    regs = ModbusTcpClient.convert_to_registers(value, ptype, word_order=word_order)
    assert codec.encode(value, dtype, word_order, "big") == regs
    assert codec.decode(regs, dtype, word_order, "big") == value


def test_four_byte_orders_of_a_float():
    a, b, c, d = struct.pack(">f", 1.5)
    ab, cd = (a << 8) | b, (c << 8) | d
    ba, dc = (b << 8) | a, (d << 8) | c
    assert codec.encode(1.5, "float32", "big", "big") == [ab, cd]
    assert codec.encode(1.5, "float32", "little", "big") == [cd, ab]
    assert codec.encode(1.5, "float32", "big", "little") == [ba, dc]
    assert codec.encode(1.5, "float32", "little", "little") == [dc, ba]
    for w in codec.ORDERS:
        for by in codec.ORDERS:
            assert codec.decode(codec.encode(1.5, "float32", w, by), "float32", w, by) == 1.5


def test_scale_offset_and_raw_limits():
    assert codec.to_value(231, 0.1, 0.0) == pytest.approx(23.1)
    assert codec.to_value(7, 1.0, 0.0) == 7 and isinstance(codec.to_value(7), int)
    assert codec.to_raw(23.14, "int16", 0.1) == 231
    assert codec.to_raw(-40.0, "int16", 0.5, -40.0) == 0
    with pytest.raises(codec.EncodeError, match="outside int16"):
        codec.to_raw(4000.0, "int16", 0.1)
    with pytest.raises(codec.EncodeError, match="outside uint16"):
        codec.to_raw(-1, "uint16")
    with pytest.raises(codec.EncodeError, match="finite"):
        codec.to_raw(math.nan, "float32")
    with pytest.raises(codec.EncodeError, match="float32 range"):
        codec.to_raw(1e39, "float32")
    with pytest.raises(ValueError, match="needs 2 registers"):
        codec.decode([1], "float32")


# --------------------------------------------------------------------------- map
GOOD = """
devices:
  - name: meter
    rtu: {port: /dev/ttyUSB0, baudrate: 9600, parity: E}
    unit: 2
    points:
      - {name: voltage, function: input_register, address: 0, type: float32}
      - {name: relay, function: coil, address: 0, writable: true}
      - {name: setpoint, function: holding_register, address: 10, type: int16, scale: 0.1,
         writable: true, min: 5, max: 30}
"""


def test_good_map_and_defaults():
    rm = R.loads(GOOD)
    d = rm.devices[0]
    v, relay, _ = d.points
    assert (v.msg, v.size, v.last) == ("Float64", 2, 1)
    assert (relay.type, relay.msg, relay.size) == ("bool", "Bool", 1)
    assert d.rtu.parity == "E" and d.rtu.baudrate == 9600 and d.rtu.stopbits == 1
    assert d.frame_of(v) == "meter_link" and d.rate_of(v) == 1.0
    assert d.bus_key == ("rtu", "/dev/ttyUSB0")


def test_shipped_maps_are_valid():
    for name in ("modbus.yaml", "modbus_sdm120.yaml"):
        rm = R.load(str(ROOT / "config" / name))
        assert list(rm.points())


def _err(text):
    with pytest.raises(R.MapError) as e:
        R.loads(text)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def _one(point, device_extra="tcp: {host: 10.0.0.2}"):
    return (
        f"devices:\n  - name: plc\n    {device_extra}\n    points:\n      - {point}\n"
        f"      - {{name: other, function: input_register, address: 500}}\n"
    )


@pytest.mark.parametrize(
    "point,expect",
    [
        (
            "{name: p, function: holding_register, address: 1, colour: red}",
            "devices[0] 'plc' points[0] 'p'.colour: unknown key",
        ),
        (
            "{name: p, function: holding_register, address: 1, scale: .nan}",
            "devices[0] 'plc' points[0] 'p'.scale = nan",
        ),
        ("{name: p, function: holding_register, address: 1, scale: 0}", "must not be 0"),
        ("{name: p, function: holding_register, address: 70000}", "less than or equal to 65535"),
        (
            "{name: p, function: holding_register, address: 1, type: double}",
            "points[0] 'p'.type = 'double'",
        ),
        ("{name: p, function: coil, address: 1, type: float32}", "points[0] 'p'"),
        (
            "{name: p, function: input_register, address: 1, writable: true}",
            "only coils and holding registers are writable",
        ),
        ("{name: p, function: holding_register, address: 1, min: 3}", "only for writable"),
        (
            "{name: p, function: holding_register, address: 1, writable: true, min: 3, max: 1}",
            "min 3.0 > max 1.0",
        ),
        (
            "{name: p, function: input_register, address: 1, type: uint32, msg: Int32}",
            "type uint32 does not fit msg Int32",
        ),
        (
            "{name: p, function: input_register, address: 1, scale: 0.1, msg: Int32}",
            "needs scale 1",
        ),
        ("{name: p-1, function: coil, address: 1}", "'p-1'"),
        ("{name: p, function: register, address: 1}", "points[0] 'p'.function = 'register'"),
    ],
)
def test_bad_points_name_the_point(point, expect):
    assert expect in _err(_one(point))


def test_overlap_names_both_points():
    msg = _err(_one("{name: a, function: input_register, address: 499, type: float32}"))
    assert "devices[0] 'plc' points[1] 'other'" in msg and "overlaps point 'plc/a'" in msg
    # different tables never overlap
    R.loads(_one("{name: a, function: holding_register, address: 499, type: float32}"))


def test_overlap_across_devices_on_one_unit_and_bus():
    text = """
devices:
  - {name: a, tcp: {host: h}, unit: 1, points: [{name: x, function: holding_register, address: 5}]}
  - {name: b, tcp: {host: h}, unit: 1, points: [{name: y, function: holding_register, address: 5}]}
"""
    assert "devices[1] 'b' points[0] 'y': holding_register 5 (unit 1) overlaps point 'a/x'" in _err(
        text
    )
    R.loads(text.replace("unit: 1, points: [{name: y", "unit: 2, points: [{name: y"))


def test_device_level_errors():
    assert "exactly one of tcp: or rtu:" in _err(
        "devices:\n  - {name: d, points: [{name: x, function: coil, address: 0}]}\n"
    )
    assert "exactly one of tcp: or rtu:" in _err(
        "devices:\n  - {name: d, tcp: {host: h}, rtu: {port: /dev/x},"
        " points: [{name: x, function: coil, address: 0}]}\n"
    )
    assert "rtu.parity = 'X'" in _err(
        "devices:\n  - {name: d, rtu: {port: /dev/x, parity: X},"
        " points: [{name: x, function: coil, address: 0}]}\n"
    )
    same_port = """
devices:
  - {name: a, rtu: {port: /dev/x, baudrate: 9600}, unit: 1, points: [{name: x, function: coil, address: 0}]}
  - {name: b, rtu: {port: /dev/x, baudrate: 19200}, unit: 2, points: [{name: y, function: coil, address: 0}]}
"""
    assert "serial port /dev/x is also used by 'a' with other settings" in _err(same_port)
    assert "name used twice" in _err(
        "devices:\n  - {name: d, tcp: {host: h}, points: [{name: x, function: coil, address: 0},"
        " {name: x, function: coil, address: 1}]}\n"
    )
    assert "not valid YAML" in _err("devices: [")
    assert "must be a mapping" in _err("- 1\n")


# --------------------------------------------------------------------------- planner
def _device(points, **kw):
    doc = {"devices": [{"name": "d", "tcp": {"host": "h"}, "points": points, **kw}]}
    return R.from_dict(doc).devices[0]


def test_planner_merges_near_points_within_gap():
    pts = [
        {"name": f"p{a}", "function": "input_register", "address": a, "type": "float32"}
        for a in (0, 6, 12, 30, 70)
    ]
    b = planner.plan_device(_device(pts, max_gap=8))
    assert [(x.start, x.count) for x in b] == [(0, 14), (30, 2), (70, 2)]
    assert [p.name for p in b[0].points] == ["p0", "p6", "p12"]
    b = planner.plan_device(_device(pts, max_gap=0))
    assert len(b) == 5
    b = planner.plan_device(_device(pts, max_gap=50))
    assert [(x.start, x.count) for x in b] == [(0, 72)]


def test_planner_respects_the_modbus_limits():
    regs = [{"name": f"r{i}", "function": "holding_register", "address": i} for i in range(300)]
    b = planner.plan_device(_device(regs))
    assert [(x.start, x.count) for x in b] == [(0, 125), (125, 125), (250, 50)]
    bits = [{"name": f"c{i}", "function": "coil", "address": i} for i in range(4100)]
    b = planner.plan_device(_device(bits))
    assert [x.count for x in b] == [2000, 2000, 100]
    # a lower device limit, and a 32-bit value is never split across two reads
    pts = [
        {"name": f"f{i}", "function": "input_register", "address": 2 * i, "type": "float32"}
        for i in range(10)
    ]
    b = planner.plan_device(_device(pts, max_read_registers=5))
    assert [(x.start, x.count) for x in b] == [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4)]


def test_planner_separates_functions_rates_and_skips_write_only():
    pts = [
        {"name": "a", "function": "holding_register", "address": 0},
        {"name": "b", "function": "holding_register", "address": 1, "poll_rate": 10.0},
        {"name": "c", "function": "input_register", "address": 2},
        {
            "name": "w",
            "function": "holding_register",
            "address": 3,
            "poll_rate": 0.0,
            "writable": True,
        },
    ]
    b = planner.plan_device(_device(pts))
    got = sorted((x.function, x.start, x.count, round(x.period, 3)) for x in b)
    assert got == [
        ("holding_register", 0, 1, 1.0),
        ("holding_register", 1, 1, 0.1),
        ("input_register", 2, 1, 1.0),
    ]


def test_batch_values_decode_each_point():
    pts = [
        {"name": "t", "function": "input_register", "address": 0, "type": "int16", "scale": 0.1},
        {
            "name": "n",
            "function": "input_register",
            "address": 2,
            "type": "uint32",
            "word_order": "little",
        },
    ]
    (b,) = planner.plan_device(_device(pts))
    regs = codec.encode(-215, "int16") + [0] + codec.encode(70000, "uint32", "little")
    vals = {p.name: v for p, v in b.values(regs)}
    assert vals["t"] == pytest.approx(-21.5) and vals["n"] == 70000
