"""fleet.launch.yaml (sim_rover.launch.yaml per rover), composed (the default) and
composed:=false: every rover's light nodes get the same name, namespace, remaps and parameters
either way (computed as the container computes them: tests/edgebot_cli/test_launch_composed.py's
helpers); the heavy ones (sim, camera, yolo, mission) keep their own processes; each rover's
firmata_node has the rover's frame_prefix; per-rover mission files."""

import pathlib
import sys

import pytest

from edgebot_cli.launcher.loader import load
from edgebot_testing import ROOT

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "edgebot_cli"))
from test_launch_composed import LIGHT, _cmdline, _composed, _separate

FLEET = str(ROOT / "launch" / "fleet.launch.yaml")


def _plans(tmp_path, args):
    out = {}
    for mode in ("false", "true"):
        d = tmp_path / mode
        d.mkdir()
        out[mode] = load(FLEET, {**args, "composed": mode}, tmpdir=str(d))
    return out


def _members(plan, tmp_path, composed):
    """(namespace, name) -> (remaps, params) for every light node of every rover."""
    out = {}
    if composed:
        containers = [p for p in plan.processes if p.cmd[0].endswith("/edgebot_common/container")]
        rest = [p for p in plan.processes if p not in containers]
        for c in containers:
            sub = type(plan)(**{**plan.__dict__, "processes": [c]})
            got, _ = _composed(sub, tmp_path)
            for name, (ns, remaps, params) in got.items():
                out[(ns, name)] = (remaps, params)
        return out, rest
    rest = []
    for p in plan.processes:
        name, ns, _, _ = _cmdline(p.cmd)
        if name in LIGHT:
            sub = type(plan)(**{**plan.__dict__, "processes": [p]})
            (ns2, remaps, params) = _separate(sub)[name]
            out[(ns2, name)] = (remaps, params)
        else:
            rest.append(p)
    return out, rest


@pytest.mark.parametrize(
    "args",
    [{}, {"robots": "3", "rover3": "true", "imu": "false"}, {"robots": "1", "rover2": "false"}],
)
def test_each_rovers_composed_nodes_are_configured_as_separate_ones(tmp_path, args):
    plans = _plans(tmp_path, args)
    sep, sep_rest = _members(plans["false"], tmp_path, composed=False)
    comp, comp_rest = _members(plans["true"], tmp_path, composed=True)
    assert comp and set(comp) == set(sep), (sorted(comp), sorted(sep))
    for key, (remaps, params) in comp.items():
        assert (remaps, params) == sep[key], key
    n = int(args.get("robots", "2"))
    rovers = {f"/rover{k}" for k in range(1, n + 1)}
    assert {ns for ns, _ in comp} == rovers
    # one container per rover, the heavy nodes apart either way
    assert len(plans["true"].processes) - len(comp_rest) == n
    assert sorted(_cmdline(p.cmd)[:2] for p in comp_rest) == sorted(
        _cmdline(p.cmd)[:2] for p in sep_rest
    )
    for ns in rovers:
        _, params = comp[(ns, "firmata_node")]
        assert params["frame_prefix"] == ns[1:] + "/"
        assert comp[(ns, "robot_state_publisher")][1]["frame_prefix"] == ns[1:] + "/"


def test_each_rover_runs_its_own_mission_file(tmp_path):
    plan = load(
        FLEET,
        {"mission": "true", "mission_file": "/m/all.yaml", "rover2_mission_file": "/m/two.yaml"},
        tmpdir=str(tmp_path),
    )
    got = {}
    for p in plan.processes:
        name, ns, _, files = _cmdline(p.cmd)
        if name == "mission":
            sub = type(plan)(**{**plan.__dict__, "processes": [p]})
            got[ns] = _separate(sub)["mission"][2]["mission_file"]
    assert got == {"/rover1": "/m/all.yaml", "/rover2": "/m/two.yaml"}
