"""ParamSpec validation (ROS-free) and the node entry point's config-error path (real process)."""
import pytest

from edgebot_common.params import ParameterError, ParamSpec, nested, require_order, validate_all


def test_types_and_coercion():
    assert ParamSpec("r", 0.5).validate(2) == 2.0                 # int accepted for float
    with pytest.raises(ParameterError, match="must be a number"):
        ParamSpec("r", 0.5).validate("fast")
    with pytest.raises(ParameterError, match="must be an integer"):
        ParamSpec("n", 3).validate(True)
    with pytest.raises(ParameterError, match="must be finite"):
        ParamSpec("r", 0.5).validate(float("nan"))
    assert ParamSpec("l", [0.0], item_type=float).validate([1, 2.5]) == [1.0, 2.5]
    with pytest.raises(ParameterError, match="item 1 must be float"):
        ParamSpec("l", [0.0], item_type=float).validate([1.0, "x"])


def test_ranges_choices_and_message_shape():
    spec = ParamSpec("wheel_radius", 0.033, "radius [m]", min=0.0, min_exclusive=True, max=1.0)
    with pytest.raises(ParameterError) as e:
        spec.validate(-0.03)
    assert str(e.value) == "parameter 'wheel_radius' = -0.03: must be > 0.0"
    assert spec.validate(1.0) == 1.0
    with pytest.raises(ParameterError, match="must be <= 1.0"):
        spec.validate(1.5)
    mode = ParamSpec("mode", "velocity", choices=["velocity", "duty"])
    with pytest.raises(ParameterError, match=r"must be one of \['velocity', 'duty'\]"):
        mode.validate("torque")
    assert "one of" in mode.constraint_text()


def test_cross_checks_and_nesting():
    v = validate_all([ParamSpec("min", 0.0), ParamSpec("max", 1.0)], {"min": 2.0})
    with pytest.raises(ParameterError, match="must be >= min"):
        require_order(v, "min", "max")
    assert nested({"broker.tls.ca": "x", "broker.port": 1}) == {"broker": {"tls": {"ca": "x"}, "port": 1}}
    custom = ParamSpec("topic", "a", check=lambda v: None if v.islower() else "must be lower case")
    with pytest.raises(ParameterError, match="lower case"):
        custom.validate("ABC")


def test_bad_parameter_stops_a_node_with_one_line(procs):
    p = procs.node("edgebot_common", "talker", params={"rate": -5.0})
    assert p.wait(60) == 2
    lines = [l for l in p.output().splitlines() if l.strip()]
    assert lines == ["[talker] configuration error: parameter 'rate' = -5.0: must be > 0.0"], lines
