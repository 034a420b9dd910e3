"""ParamSpec validation (ROS-free) and the node entry point's config-error path (real process)."""

import pytest

from edgebot_common.params import ParameterError, ParamSpec, nested, require_order, validate_all


def test_types_and_coercion():
    assert ParamSpec("r", 0.5).validate(2) == 2.0  # int accepted for float
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
    assert nested({"broker.tls.ca": "x", "broker.port": 1}) == {
        "broker": {"tls": {"ca": "x"}, "port": 1}
    }
    custom = ParamSpec("topic", "a", check=lambda v: None if v.islower() else "must be lower case")
    with pytest.raises(ParameterError, match="lower case"):
        custom.validate("ABC")


def test_bad_parameter_stops_a_node_with_one_line(procs):
    p = procs.node("edgebot_common", "talker", params={"rate": -5.0})
    assert p.wait(60) == 2
    lines = [line for line in p.output().splitlines() if line.strip()]
    assert lines == ["[talker] configuration error: parameter 'rate' = -5.0: must be > 0.0"], lines


def test_declared_parameters_carry_their_range_in_the_descriptor():
    """declare_params puts min/max into integer_range / floating_point_range (what
    `ros2 param describe` shows); an out-of-range value still gets our one-line message."""
    import math

    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from edgebot_common.ros_params import INT64_MAX, declare_params

    specs = [
        ParamSpec("quality", 85, "JPEG quality", min=1, max=100),
        ParamSpec("retries", 2, "retries", min=0, min_exclusive=True),
        ParamSpec("rate", 200.0, "rate [Hz]", min=1.0, max=1000.0),
        ParamSpec("gain", 0.5, "gain", min=0.0),
        ParamSpec("name", "x", "no range"),
    ]
    ctx = Context()
    rclpy.init(context=ctx, domain_id=0)
    try:
        node = Node(
            "ranges",
            context=ctx,
            start_parameter_services=False,
            parameter_overrides=[Parameter("rate", value=50)],
        )
        values = declare_params(node, specs)
        assert values["rate"] == 50.0 and values["quality"] == 85
        q = node.describe_parameter("quality").integer_range[0]
        assert (q.from_value, q.to_value, q.step) == (1, 100, 0)
        r = node.describe_parameter("retries").integer_range[0]
        assert (r.from_value, r.to_value) == (1, INT64_MAX)  # > 0 for an integer: >= 1
        f = node.describe_parameter("rate").floating_point_range[0]
        assert (f.from_value, f.to_value) == (1.0, 1000.0)
        g = node.describe_parameter("gain").floating_point_range[0]
        assert g.from_value == 0.0 and g.to_value == math.inf
        d = node.describe_parameter("name")
        assert not d.integer_range and not d.floating_point_range
        assert "[>= 1, <= 100]" in node.describe_parameter("quality").description
        node.destroy_node()

        bad = Node(
            "ranges_bad",
            context=ctx,
            start_parameter_services=False,
            parameter_overrides=[Parameter("quality", value=101)],
        )
        with pytest.raises(ParameterError) as e:
            declare_params(bad, specs)
        assert str(e.value) == "parameter 'quality' = 101: must be <= 100"
        bad.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)


def test_a_renamed_parameter_stops_the_node_naming_the_new_name():
    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from edgebot_common.ros_params import declare_params

    specs = [ParamSpec("publish_rate", 200.0, "rate [Hz]", min=1.0, renamed_from=("rate_hz",))]
    ctx = Context()
    rclpy.init(context=ctx, domain_id=0)
    try:
        old = Node(
            "renamed_old",
            context=ctx,
            start_parameter_services=False,
            parameter_overrides=[Parameter("rate_hz", value=100.0)],
        )
        with pytest.raises(ParameterError) as e:
            declare_params(old, specs)
        assert str(e.value) == (
            "parameter 'rate_hz' = 100.0: renamed to 'publish_rate' (see CHANGELOG.md)"
        )
        new = Node(
            "renamed_new",
            context=ctx,
            start_parameter_services=False,
            parameter_overrides=[Parameter("publish_rate", value=100.0)],
        )
        assert declare_params(new, specs) == {"publish_rate": 100.0}
        assert not new.has_parameter("rate_hz")  # the probe is not left declared
        old.destroy_node()
        new.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
