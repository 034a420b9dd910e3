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
