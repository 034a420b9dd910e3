"""robot.launch.yaml and demo.launch.yaml, composed (the default) and composed:=false: every
light node gets the same name, namespace, remaps and parameters (its file sections, then its
overrides, as rcl merges them) either way; the heavy nodes stay in their own processes.

The composed side is computed as the container computes it (edgebot_common.composition from
the container's own parameter file); both plans come from the launcher (tests/edgebot_cli/
test_parity.py checks the launcher against ros2 launch's rules)."""

import fnmatch

import pytest
import yaml

from edgebot_cli.launcher.loader import load
from edgebot_common import composition as C
from edgebot_testing import ROOT

LIGHT = {
    "firmata_node",
    "imu_node",
    "base_controller",
    "safety_monitor",
    "target_follower",
    "mqtt_bridge",
    "foxglove_bridge",
    "mcap_recorder",
    "robot_state_publisher",
}


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _params(files, ns, name):
    """What rcl gives node ``ns/name`` from these parameter files (later files win)."""
    fqn = ("/" + "/".join(p for p in (ns or "").split("/") + [name] if p)).replace("//", "/")
    out = {}
    for f in files:
        for key, body in (yaml.safe_load(open(f)) or {}).items():
            pattern = key if key.startswith("/") else "/" + key
            if fnmatch.fnmatchcase(fqn, pattern.replace("/**", "*")):
                out.update(_flat(body.get("ros__parameters", {})))
    return out


def _cmdline(args):
    """(name, namespace, remaps, params files) from a ``--ros-args`` command line."""
    name = ns = None
    remaps, files = [], []
    it = iter(args)
    for a in it:
        if a == "-r":
            rule = next(it)
            if rule.startswith("__node:="):
                name = rule.split(":=", 1)[1]
            elif rule.startswith("__ns:="):
                ns = rule.split(":=", 1)[1]
            else:
                remaps.append(rule)
        elif a == "--params-file":
            files.append(next(it))
    return name, ns, remaps, files


def _separate(plan):
    out = {}
    for p in plan.processes:
        name, ns, remaps, files = _cmdline(p.cmd)
        out[name] = (ns, remaps, _params(files, ns, name))
    return out


def _composed(plan, tmp_path):
    out, rest = {}, []
    for p in plan.processes:
        if not p.cmd[0].endswith("/edgebot_common/container"):
            rest.append(p)
            continue
        cname, cns, _, cfiles = _cmdline(p.cmd)
        members = C.plan(_params(cfiles, cns, cname))
        ns, remaps = C.container_ros_args(p.cmd)
        for m in members:
            f = C.write_overrides(str(tmp_path), m.key, m.overrides)
            name, mns, mremaps, files = _cmdline(C.member_args(m.key, ns, remaps, m, f))
            out[name] = (mns, mremaps, _params(files, mns, name))
    return out, rest


@pytest.mark.parametrize(
    "launch_file, args, heavy",
    [
        ("robot.launch.yaml", {}, set()),
        ("robot.launch.yaml", {"namespace": "rover1", "record": "true", "follower": "false"}, set()),
        ("robot.launch.yaml", {"mqtt": "false", "arduino_port": "/dev/ttyACM1", "imu_bus": "3"}, set()),
        # the demo hosts camera_node too by default (compose_camera:=true), yolo_node on request
        ("demo.launch.yaml", {}, {"camera_node"}),
        ("demo.launch.yaml", {"foxglove": "true", "imu": "false", "target_class": "cone"}, {"camera_node"}),
        ("demo.launch.yaml", {"compose_camera": "false"}, set()),
        ("demo.launch.yaml", {"compose_yolo": "true", "annotated": "true", "tracking": "true"},
         {"camera_node", "yolo_node"}),
        ("demo.launch.yaml", {"compose_yolo": "true", "perception": "false"}, set()),
    ],
)  # fmt: skip
def test_composed_nodes_are_configured_as_separate_ones(tmp_path, launch_file, args, heavy):
    path = str(ROOT / "launch" / launch_file)
    (tmp_path / "s").mkdir()
    (tmp_path / "c").mkdir()
    separate = _separate(load(path, {**args, "composed": "false"}, tmpdir=str(tmp_path / "s")))
    composed_plan = load(path, dict(args), tmpdir=str(tmp_path / "c"))
    composed, rest = _composed(composed_plan, tmp_path)
    assert set(composed) == (LIGHT | heavy) & set(separate), (sorted(composed), sorted(separate))
    assert composed, "no node composed"
    for name, (ns, remaps, params) in composed.items():
        s_ns, s_remaps, s_params = separate[name]
        assert (ns or "/") == (s_ns or "/"), name
        assert remaps == s_remaps, name
        assert params == s_params, name
    # the other heavy ones (camera, yolo, sim) keep their own processes
    assert {_cmdline(p.cmd)[0] for p in rest} == set(separate) - LIGHT - heavy


def test_ros_state_publisher_is_left_out_of_the_composed_process(tmp_path):
    """ros_state_publisher:=true: ROS's robot_state_publisher (a C++ node, full installs) runs
    from description.launch.yaml; the composed process does not host edgebot_viz's."""
    path = str(ROOT / "launch" / "robot_nodes.launch.yaml")
    for flag, want in (("false", True), ("true", False)):
        (tmp_path / flag).mkdir()
        plan = load(path, {"ros_state_publisher": flag}, tmpdir=str(tmp_path / flag))
        composed, _ = _composed(plan, tmp_path)
        assert ("robot_state_publisher" in composed) is want
