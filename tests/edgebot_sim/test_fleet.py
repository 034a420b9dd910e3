"""Several rovers in one world, without ROS: the spawn rule, per-rover parameters, the world
and the runner with two rovers (issue 21)."""

import math

import pytest

from edgebot_common.node_main import ConfigError
from edgebot_sim import fleet
from edgebot_sim import scenario as S
from edgebot_sim.devices import DeviceSet
from edgebot_sim.runner import Outputs, SimRunner
from edgebot_sim.sim_params import SPECS
from edgebot_sim.world import SimWorld

PARAMS = {s.name: s.default for s in SPECS}
SCEN = {
    "time_limit": 20.0,
    "floor": {"size": [5.0, 5.0]},
    "start": {"x": -0.8, "y": 0.0, "yaw": 0.0},
    "target": {"class": "ball", "x": 0.6, "y": 0.0, "reach_distance": 0.75},
    "fleet": {"spacing": 2.0},
}


def test_the_spawn_rule_shifts_start_and_target_and_one_rover_is_unchanged():
    s = S.parse(SCEN, "f.yaml")
    assert s.for_rover(1, 1) is s
    a, b = s.for_rover(1, 2), s.for_rover(2, 2)
    assert (a.start.y, b.start.y) == (-1.0, 1.0) and (a.target.y, b.target.y) == (-1.0, 1.0)
    assert a.start.x == b.start.x == -0.8 and a.target.x == b.target.x == 0.6
    assert s.for_rover(1, 3).start.y == -2.0  # three fit the 5 m floor at 2 m spacing
    with pytest.raises(S.ScenarioError, match=r"f.yaml: key 'fleet.spacing' = 2.0: puts rover 1"):
        s.for_rover(1, 4)  # y = -3.0: off the floor
    blocked = S.parse(
        {**SCEN, "obstacles": [{"shape": "box", "x": -0.8, "y": 1.0, "size": [0.3, 0.3, 0.3]}]},
        "f.yaml",
    )
    with pytest.raises(S.ScenarioError, match=r"puts rover 2 of 2's start on obstacles\[0\]"):
        blocked.for_rover(2, 2)
    with pytest.raises(S.ScenarioError, match=r"key 'fleet.spacing' = 0.2: must be >= 0.4"):
        S.parse({**SCEN, "fleet": {"spacing": 0.2}}, "f.yaml")
    with pytest.raises(S.ScenarioError, match=r"key 'fleet.axis' = 'z': must be one of"):
        S.parse({**SCEN, "fleet": {"axis": "z"}}, "f.yaml")


def test_namespaces_and_per_rover_device_parameters():
    p = dict(PARAMS)
    assert fleet.namespaces(p) == [""] and fleet.rover_params(p) == [p]
    p.update({"robots": 3, "fleet.camera_ports": "9001, 9002,9003", "fleet.arduino_links": ""})
    assert fleet.namespaces(p) == ["rover1", "rover2", "rover3"]
    qs = fleet.rover_params(p)
    assert [q["camera.port"] for q in qs] == [9001, 9002, 9003]
    assert [q["imu.port"] for q in qs] == [0, 0, 0] and [q["arduino.link"] for q in qs] == [""] * 3
    assert fleet.gate_topics("odom, /clock", ["rover1", "rover2"]) == [
        "rover1/odom",
        "/clock",
        "rover2/odom",
        "/clock",
    ]
    p["fleet.imu_ports"] = "1,2"
    with pytest.raises(ConfigError, match=r"parameter 'fleet.imu_ports' = '1,2': must list 3"):
        fleet.rover_params(p)
    p["fleet.imu_ports"] = "a,b,c"
    with pytest.raises(ConfigError, match=r"'fleet.imu_ports'.*comma-separated ports"):
        fleet.rover_params(p)


def test_two_rovers_in_one_world_move_apart_and_see_each_other():
    s = S.parse(SCEN, "f.yaml")
    w = SimWorld(s, rovers=2)
    try:
        w.step(10)
        assert w.pose2d(0)[1] == pytest.approx(-1.0, abs=0.01)
        assert w.pose2d(1)[1] == pytest.approx(1.0, abs=0.01)
        w.set_wheel_velocity(8.0, 8.0, i=1)  # only rover 2 drives
        w.step(480)
        assert w.pose2d(0)[0] == pytest.approx(-0.8, abs=0.01)
        assert w.pose2d(1)[0] > -0.8 + 0.2
        assert w.target_distance(1) < w.target_distance(0)  # each rover has its own target
        # rover 1 turned towards rover 2: its sonar sees the other rover 2 m away
        w2 = SimWorld(
            S.parse({**SCEN, "start": {"x": -0.8, "y": 0.0, "yaw": math.pi / 2}}), rovers=2
        )
        w2.step(10)
        assert w2.sonar_range(0) == pytest.approx(2.0 - 0.125 - 0.1, abs=0.15)
        w2.close()
    finally:
        w.close()


class Rec(Outputs):
    def __init__(self):
        self.states = []

    def state(self, s):
        self.states.append(s)


def test_runner_drives_each_rover_from_its_own_commands():
    p = dict(
        PARAMS,
        **{
            "drive": "wheel_cmd",
            "speed": 0.0,
            "camera.enabled": False,
            "arduino.enabled": False,
            "imu.enabled": False,
        },
    )
    out = Rec()
    r = SimRunner(p, S.parse(SCEN, "f.yaml"), [DeviceSet(), DeviceSet()], out)
    try:
        r.set_wheel_target(8.0, 8.0, 0)
        r.set_wheel_target(-4.0, 4.0, 1)
        r.run(max_steps=240)
        assert {s.rover for s in out.states} == {0, 1}
        assert r.world.pose2d(0)[0] > -0.8 + 0.05  # rover 1 drove forward
        assert abs(r.world.pose2d(1)[2]) > 0.2 and abs(r.world.pose2d(1)[0] + 0.8) < 0.05
        st = [r.status(0), r.status(1)]
        assert [x["robot"] for x in st] == [1, 2] and st[0]["robots"] == 2
        assert st[1]["target"]["y"] == 1.0 and st[0]["target"]["y"] == -1.0
    finally:
        r.close()


def test_make_demo_robots_gives_each_rover_its_own_ports_and_files():
    from edgebot_cli.demo import stack

    assert stack.robots_of(["x:=1"]) == 1 and stack.robots_of(["robots:=3"]) == 3
    base = dict(
        scenario_name="fleet_field",
        seed=0,
        speed=1.0,
        target_class="ball",
        tmp="/tmp/run",
        record_dir="/tmp/rec",
        ports={"mqtt_port": 1883},
        stack={"mqtt": True},
    )
    one = stack.launch_args(**base, extra=[])
    assert not any(a.startswith(("run_dir:=", "rover1_")) for a in one)
    three = stack.launch_args(**base, extra=["robots:=3"])
    kv = dict(a.split(":=", 1) for a in three)
    assert kv["run_dir"] == "/tmp/run" and kv["rover3"] == "true" and kv["robots"] == "3"
    ports = [kv[f"rover{k}_{d}_port"] for k in (1, 2, 3) for d in ("camera", "imu")]
    assert len(set(ports)) == 6
    assert (
        dict(a.split(":=", 1) for a in stack.launch_args(**base, extra=["robots:=2"]))["rover3"]
        == "false"
    )
    with pytest.raises(ValueError, match="robots must be an integer 1..3"):
        stack.launch_args(**base, extra=["robots:=4"])
    with pytest.raises(ValueError, match="robots must be an integer 1..3"):
        stack.robots_of(["robots:=two"])


def test_one_namespaced_rover_for_the_fleet_baseline():
    p = dict(PARAMS, **{"fleet.namespaced": True})
    assert fleet.namespaces(p) == ["rover1"]
    assert fleet.rover_params(p)[0]["camera.port"] == 0  # ports from the fleet lists


def _found_at(sc, x, y, err=0.1):
    """mission/state with one ball found at map (x + err, y), in the rover's odometry frame."""
    c, s = math.cos(sc.start.yaw), math.sin(sc.start.yaw)
    dx, dy = x + err - sc.start.x, y - sc.start.y
    return {
        "mission": "fleet_field",
        "state": "done",
        "done": True,
        "outcome": "complete",
        "elapsed": 20.0,
        "time_limit": 40.0,
        "found": [{"index": 1, "class": "ball", "x": c * dx + s * dy, "y": -s * dx + c * dy}],
    }


def test_the_demo_summary_and_plot_show_every_rover(tmp_path):
    import cv2
    import numpy as np

    from edgebot_cli.demo import summary as D
    from edgebot_cli.demo.plot import write_plot

    base = S.load("fleet_field").resolved(0)
    scens = [base.for_rover(k, 2) for k in (1, 2)]
    track = [(0.1 * i, scens[1].start.x + 0.01 * i, scens[1].start.y, 0.0) for i in range(100)]
    snap = {
        "status": {},
        "sim_t": 21.0,
        "pose": None,
        "state": "-",
        "path": [(0.1 * i, scens[0].start.x + 0.01 * i, scens[0].start.y, 0.0) for i in range(100)],
        "odom": [],
        "det_times": [],
        "det_target_times": [],
        "det_objects": {},
        "det_msgs": 0,
        "states": [],
        "diag": {},
        "mqtt_stats": {},
        "mission": _found_at(scens[0], scens[0].target.x, scens[0].target.y),
        "mission_states": [(0.0, "search"), (20.0, "done")],
        "others": {"rover2": {"path": track, "mission": _found_at(scens[1], 0.5, 0.9, 0.2)}},
    }
    st = {
        "fleet": [
            {"robot": 1, "reached": True, "reached_at": 9.5, "target_distance": 0.6},
            {"robot": 2, "reached": False, "reached_at": None, "target_distance": 1.1},
        ]
    }
    assert D.missions_done(snap, 1) and D.missions_done(snap, 2)
    assert not D.missions_done(snap, 3)  # rover3's mission not done (not even heard)
    assert not D.missions_done({**snap, "others": {}}, 2)
    args = (snap, None, st, {}, [], "mission done", 30.0, 0, 1.0, 30.0, tmp_path)
    one = D.build_summary(scens[0], *args)
    assert "fleet" not in one and "rover2" not in D.format_summary(one)  # one rover: unchanged
    s = D.build_summary(scens[0], *args, fleet_scens=scens)
    r1, r2 = s["fleet"]
    assert (r1["namespace"], r1["reached"], r1["time_to_reach_s"]) == ("rover1", True, 9.5)
    assert r2["target"]["y"] == round(scens[1].target.y, 3) and r2["reached"] is False
    assert r1["mission"]["found"][0]["error_m"] == pytest.approx(0.1, abs=1e-3)
    # rover2 reported (0.7, 0.9): its error is against its own ball (nearest of the class)
    want = math.hypot(0.7 - scens[1].target.x, 0.9 - scens[1].target.y)
    assert r2["mission"]["found"][0]["error_m"] == pytest.approx(want, abs=1e-3)
    text = D.format_summary(s)
    assert "  rover1: target ball at" in text and "REACHED at t=9.5 s; mission complete" in text
    assert "  rover2: target ball at" in text and "not reached (distance left 1.1 m)" in text
    assert f"{want:.2f} m from the true ball" in text
    write_plot(tmp_path / "run.png", scens[0], snap, s)
    img = cv2.imread(str(tmp_path / "run.png"))
    cyan = np.array([0xCF, 0xBE, 0x17])  # rover2's track, tab:cyan (BGR)
    assert (np.abs(img.astype(int) - cyan).sum(axis=2) < 30).sum() > 50
    write_plot(tmp_path / "one.png", scens[0], snap, one)
    img = cv2.imread(str(tmp_path / "one.png"))
    assert (np.abs(img.astype(int) - cyan).sum(axis=2) < 30).sum() == 0
