"""Pure logic: when a polled value is published (every_poll / on_change with deadband and
heartbeat), the map keys that choose it, and the Modbus unit ids the map accepts."""

import math

import pytest

from edgebot_modbus import registermap as R
from edgebot_modbus.publish import EveryPoll, OnChange, gate_for


def _map(points, **device):
    dev = {"name": "d", "tcp": {"host": "h"}, "points": points, **device}
    return R.from_dict({"devices": [dev]})


def _err(doc_points, **device) -> str:
    with pytest.raises(R.MapError) as e:
        _map(doc_points, **device)
    return str(e.value)


def test_every_poll_publishes_every_value():
    g = EveryPoll()
    assert all(g(1.0, t) for t in range(5))


def test_on_change_first_value_changes_and_no_heartbeat():
    g = OnChange(deadband=0.0, max_period=0.0)
    seq = [(5.0, 0.0), (5.0, 1.0), (5.0, 1e6), (5.5, 1e6 + 1), (5.5, 1e6 + 2), (5.0, 1e6 + 3)]
    assert [g(v, t) for v, t in seq] == [True, False, False, True, False, True]


def test_deadband_is_measured_from_the_last_published_value():
    g = OnChange(deadband=1.0)
    # a slow drift is published once it has added up to more than the deadband
    vals = [10.0, 10.4, 10.8, 11.2, 11.3, 9.9, 10.2]
    assert [g(v, i) for i, v in enumerate(vals)] == [True, False, False, True, False, True, False]


def test_heartbeat_republishes_an_unchanged_value_after_max_period():
    g = OnChange(max_period=2.0)
    assert [g(3, t) for t in (0.0, 1.0, 1.99, 2.0, 3.0, 4.1)] == [
        True,
        False,
        False,
        True,
        False,
        True,
    ]
    g.reset()
    assert g(3, 4.2)  # forgotten: the next value goes out


def test_bits_nan_and_inf():
    g = OnChange(deadband=5.0)
    assert g(False, 0) and not g(False, 1) and g(True, 2) and not g(True, 3)
    f = OnChange(deadband=5.0)
    assert f(math.nan, 0) and not f(math.nan, 1)  # stuck at NaN: not a change per poll
    assert f(1.0, 2) and f(math.inf, 3) and not f(math.inf, 4) and f(-math.inf, 5)
    assert f(1.0, 6)
    with pytest.raises(ValueError):
        OnChange(deadband=-1.0)
    with pytest.raises(ValueError):
        OnChange(max_period=math.inf)


def test_map_keys_choose_the_gate_device_default_point_override():
    rm = _map(
        [
            {"name": "a", "function": "holding_register", "address": 0},
            {"name": "b", "function": "holding_register", "address": 1, "publish": "every_poll"},
            {"name": "c", "function": "holding_register", "address": 2, "deadband": 0.5},
            {"name": "e", "function": "coil", "address": 0, "max_period": 0},
        ],
        publish="on_change",
        deadband=2.0,
        max_period=30.0,
    )
    d = rm.devices[0]
    a, b, c, e = (gate_for(d, p) for p in d.points)
    assert isinstance(a, OnChange) and (a.deadband, a.max_period) == (2.0, 30.0)
    assert isinstance(b, EveryPoll)
    assert (c.deadband, c.max_period) == (0.5, 30.0)
    assert e.max_period == 0.0
    # the default: every poll (a ROS topic at the poll rate), heartbeat 1 s when on_change
    d0 = _map([{"name": "a", "function": "coil", "address": 0}]).devices[0]
    assert d0.publish == "every_poll" and d0.max_period == 1.0
    assert isinstance(gate_for(d0, d0.points[0]), EveryPoll)


def test_bad_publish_keys_name_the_point():
    assert "points[0] 'a'.publish = 'sometimes'" in _err(
        [{"name": "a", "function": "coil", "address": 0, "publish": "sometimes"}]
    )
    assert "deadband = -1" in _err(
        [{"name": "a", "function": "holding_register", "address": 0, "deadband": -1}],
        publish="on_change",
    )
    assert "'a': deadband is for numeric points" in _err(
        [{"name": "a", "function": "coil", "address": 0, "deadband": 1}], publish="on_change"
    )
    msg = _err([{"name": "a", "function": "holding_register", "address": 0, "deadband": 1}])
    assert "devices[0] 'd' points[0] 'a': deadband/max_period apply to publish: on_change" in msg
    assert "max_period = inf" in _err(
        [{"name": "a", "function": "coil", "address": 0}], max_period=math.inf
    )


@pytest.mark.parametrize("unit", [1, 17, 247])
def test_unicast_unit_ids_on_both_links(unit):
    pts = [{"name": "a", "function": "coil", "address": 0}]
    assert _map(pts, unit=unit).devices[0].unit == unit
    rtu = {"name": "d", "rtu": {"port": "/dev/x"}, "unit": unit, "points": pts}
    assert R.from_dict({"devices": [rtu]}).devices[0].unit == unit


def test_unit_ids_broadcast_refused_reserved_only_on_tcp():
    pts = [{"name": "a", "function": "coil", "address": 0}]
    # 0 is broadcast: writes only, never answered -- a bridge that reads cannot use it
    assert "unit = 0: Input should be greater than or equal to 1" in _err(pts, unit=0)
    assert "unit = 256" in _err(pts, unit=256)
    # 255 (248..255): what many Modbus TCP devices and gateways answer to
    assert _map(pts, unit=255).devices[0].unit == 255
    rtu = {"name": "d", "rtu": {"port": "/dev/x"}, "unit": 255, "points": pts}
    with pytest.raises(R.MapError) as e:
        R.from_dict({"devices": [rtu]})
    assert "unit 255: 1..247 on a serial line" in str(e.value)
