"""edgebot_common.composition (ROS-free): the container's parameters -> the hosted nodes and each
one's own command line; which node a failure belongs to; the capture of a node's factory."""

import pytest
import yaml

from edgebot_common import composition as C
from edgebot_common.node_main import capture_factory


def test_plan_groups_each_nodes_parameters_files_remaps_and_enabled_flags():
    ms = C.plan(
        {
            "nodes": ["edgebot_control/base_controller", "edgebot_common/listener:l2", ""],
            "use_sim_time": False,
            "base_controller.use_sim_time": True,
            "base_controller.limits.max_speed": 0.5,
            "params_files.base_controller": ["/cfg/control.yaml", ""],
            "remaps.l2": ["chatter:=talk"],
            "l2.exit_after": 3,
        }
    )
    assert [(m.pkg, m.executable, m.key) for m in ms] == [
        ("edgebot_control", "base_controller", "base_controller"),
        ("edgebot_common", "listener", "l2"),
    ]
    assert ms[0].overrides == {"use_sim_time": True, "limits.max_speed": 0.5}
    assert ms[0].params_files == ["/cfg/control.yaml"]
    assert ms[1].remaps == ["chatter:=talk"] and ms[1].overrides == {"exit_after": 3}
    left = C.plan({"nodes": ["a/b", "a/c"], "enabled.b": False, "enabled.c": True})
    assert [m.key for m in left] == ["c"]
    m = C.plan({"nodes": ["a/b"], "on_failure.b": "continue"})[0]
    assert m.on_failure == "continue"


@pytest.mark.parametrize(
    "params, name, allowed",
    [
        ({}, "nodes", "non-empty list"),
        ({"nodes": ["nopkg"]}, "nodes", "'<pkg>/<executable>'"),
        ({"nodes": ["a/b:bad-name"]}, "nodes", "'<pkg>/<executable>:<node name>'"),
        ({"nodes": ["a/b", "c/b"]}, "nodes", "appears twice"),
        ({"nodes": ["a/nodes"]}, "nodes", "reserved"),
        ({"nodes": ["a/b"], "enabled.x": True}, "enabled.x", "no node 'x'"),
        ({"nodes": ["a/b"], "enabled.b": "yes"}, "enabled.b", "true or false"),
        ({"nodes": ["a/b"], "remaps.b": ["chatter"]}, "remaps.b", "'from:=to'"),
        ({"nodes": ["a/b"], "params_files.b": "f.yaml"}, "params_files.b", "list of strings"),
        ({"nodes": ["a/b"], "rate": 3.0}, "rate", "not a parameter of a hosted node"),
        ({"nodes": ["a/b"], "on_failure.b": "ignore"}, "on_failure.b", "one of"),
    ],
)
def test_bad_container_parameters_are_one_line_naming_parameter_value_and_allowed(
    params, name, allowed
):
    with pytest.raises(C.CompositionError) as e:
        C.plan(params)
    msg = str(e.value)
    assert msg.startswith(f"parameter '{name}' = ") and allowed in msg and "\n" not in msg


def test_each_member_gets_the_containers_namespace_and_remaps_but_not_its_name_or_params(
    tmp_path,
):
    argv = [
        "container",
        "--ros-args",
        "-r",
        "__node:=robot_nodes",
        "-r",
        "__ns:=/rover1",
        "--params-file",
        "/tmp/container_params.yaml",
        "-r",
        "scan:=front/scan",
        "-r",
        "other_node:x:=y",
        "-p",
        "a:=1",
    ]
    ns, remaps = C.container_ros_args(argv)
    assert ns == "/rover1" and remaps == ["scan:=front/scan"]
    m = C.Member("edgebot_common", "listener", "l2", ["/cfg/a.yaml"], {"x.y": 2}, ["a:=b"])
    f = C.write_overrides(str(tmp_path), "l2", m.overrides)
    assert yaml.safe_load(open(f)) == {"/**": {"ros__parameters": {"x": {"y": 2}}}}
    assert C.member_args("l2", ns, remaps, m, f) == [
        "--ros-args",
        "-r",
        "__node:=l2",
        "-r",
        "__ns:=/rover1",
        "-r",
        "scan:=front/scan",
        "-r",
        "a:=b",
        "--params-file",
        "/cfg/a.yaml",
        "--params-file",
        f,
    ]
    assert C.write_overrides(str(tmp_path), "none", {}) is None
    with pytest.raises(C.CompositionError, match="'l2.rate' = nan: must be finite"):
        C.write_overrides(str(tmp_path), "l2", {"rate": float("nan")})


def test_a_failure_is_attributed_to_the_node_whose_code_raised():
    class Helper:
        def __init__(self, node):
            self._node = node

        def run(self):
            raise RuntimeError("in a helper")

    class FakeNode:
        def cb(self):
            Helper(self).run()

        def direct(self):
            raise ValueError("in the node")

    a, b = FakeNode(), FakeNode()
    members = {id(a): "a", id(b): "b"}
    for call, want in ((b.cb, "b"), (a.direct, "a")):
        try:
            call()
        except Exception as e:
            assert C.failed_member(e.__traceback__, members) == want
    try:
        raise KeyError("outside every node")
    except KeyError as e:
        assert C.failed_member(e.__traceback__, members) is None


def test_capture_factory_gets_what_main_passes_to_run_node_without_running_it():
    from edgebot_common import demo_nodes

    factory, threads = capture_factory(demo_nodes.listener)
    assert factory is demo_nodes.Listener and threads == 1
    with pytest.raises(TypeError, match="does not call run_node"):
        capture_factory(lambda args=None: None)


def test_composition_is_ros_free():
    import pathlib

    text = pathlib.Path(C.__file__).read_text()
    assert "import rclpy" not in text and "from rclpy" not in text
