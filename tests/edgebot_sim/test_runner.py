"""SimRunner without ROS and without processes: a fake wall clock, recorded outputs."""

import math
import threading

import pytest

from edgebot_sim import scenario as S
from edgebot_sim.devices import DeviceSet
from edgebot_sim.runner import Outputs, SimRunner, every, parse_wheel_cmd
from edgebot_sim.sim_node import SPECS

PARAMS = {s.name: s.default for s in SPECS}


class FakeClock:
    def __init__(self):
        self.t = 100.0
        self.slept = []

    def __call__(self):
        return self.t

    def sleep(self, dt):
        self.slept.append(dt)
        self.t += max(dt, 1e-6)  # as a real sleep: never less than a microsecond


class Recorder(Outputs):
    def __init__(self):
        self.clocks, self.states, self.logs, self.statuses = [], [], [], 0
        self.extra = []

    def clock(self, t):
        self.clocks.append(t)

    def state(self, s):
        self.states.append(s)

    def status(self):
        self.statuses += 1

    def log(self, level, text):
        self.logs.append((level, text))

    def missing(self):
        return list(self.extra)


@pytest.fixture
def make():
    made = []

    def make(**over):
        p = dict(
            PARAMS,
            **{
                "drive": "wheel_cmd",
                "scenario": "near_cone",
                "seed": 3,
                "speed": 0.0,
                "camera.enabled": False,
                "arduino.enabled": False,
                "imu.enabled": False,
            },
        )
        p.update(over)
        clock, out = FakeClock(), Recorder()
        r = SimRunner(p, S.load(p["scenario"]), DeviceSet(), out, clock=clock, sleep=clock.sleep)
        made.append(r)
        return r, out, clock

    yield make
    for r in made:
        r.close()


def test_parse_wheel_cmd_accepts_named_finite_velocities_only():
    assert parse_wheel_cmd(["right_wheel_joint", "left_wheel_joint"], [2.0, 1.0]) == (1.0, 2.0)
    with pytest.raises(ValueError, match="lengths differ"):
        parse_wheel_cmd(["left_wheel_joint"], [1.0, 2.0])
    with pytest.raises(ValueError, match="right_wheel_joint"):
        parse_wheel_cmd(["left_wheel_joint"], [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        parse_wheel_cmd(["left_wheel_joint", "right_wheel_joint"], [math.nan, 1.0])


def test_rates_divide_the_physics_rate():
    assert every(240.0, 100.0) == 2 and every(240.0, 50.0) == 5 and every(240.0, 1000.0) == 1


def test_steps_publish_clock_and_state_at_their_rates(make):
    r, out, _ = make()
    r.run(max_steps=240)  # one simulated second at 240 Hz
    assert r.sim_time() == pytest.approx(1.0)
    assert len(out.clocks) == 120 and len(out.states) == 48  # 100 Hz (every 2), 50 Hz
    assert out.clocks == sorted(out.clocks)
    s = out.states[-1]
    start = r.scenario.start
    assert s.position[0] == pytest.approx(start.x, abs=0.02)
    assert list(s.wheel_velocity) == pytest.approx([0.0, 0.0], abs=0.05)


def test_wheel_target_drives_until_the_command_times_out(make):
    r, out, _ = make()
    x0 = r.world.pose2d()[0]
    r.set_wheel_target(8.0, 8.0)
    r.run(max_steps=96)  # 0.4 s < wheel_cmd_timeout 0.5
    assert r.world._wheel_cmd == [8.0, 8.0]
    r.run(max_steps=240)
    assert r.world._wheel_cmd == [0.0, 0.0]  # no command for 0.5 s of sim time: stopped
    assert r.world.pose2d()[0] > x0 + 0.05
    assert out.states[-1].linear[0] == pytest.approx(0.0, abs=0.1)


def test_speed_paces_simulated_time_against_the_wall_clock(make):
    r, _, clock = make(speed=2.0)
    t0 = clock.t
    r.run(max_steps=720)  # 3 s of simulated time
    assert r.sim_time() == pytest.approx(3.0)
    assert clock.t - t0 == pytest.approx(1.5, abs=0.03)  # at twice real time
    assert r.rtf == pytest.approx(2.0, rel=0.05)


def test_start_gate_holds_time_until_ready_and_settled(make):
    r, out, clock = make(**{"start.wait": True, "start.settle_period": 1.0})
    out.extra = ["publisher of cmd_vel"]
    seen = []

    def sleep(dt):
        seen.append(list(r.holding))
        if len(seen) == 10:
            out.extra = []  # the peer turned up
        clock.sleep(dt)

    r.sleep = sleep
    r.run(max_steps=1)
    assert seen[0] == ["publisher of cmd_vel"] and seen[-1] == []
    assert 10 + 20 <= len(seen) <= 10 + 21  # then 1.0 s of settling in 0.05 s sleeps
    assert r.holding is None and r.world.steps == 1
    assert set(out.clocks[:-1]) == {0.0}  # /clock stood at 0 while held
    assert ("info", "simulated time starts (held 1.5 s)") in out.logs or (
        "info",
        "simulated time starts (held 1.6 s)",
    ) in out.logs


def test_start_gate_gives_up_after_its_timeout(make):
    r, out, _ = make(**{"start.wait": True, "start.timeout": 2.0})
    out.extra = ["subscriber of wheel_cmd"]
    r.run(max_steps=1)
    assert any(
        lv == "warn" and "still missing: ['subscriber of wheel_cmd']" in t for lv, t in out.logs
    )


def test_reset_starts_a_new_episode_and_time_goes_on(make):
    r, out, _ = make()
    r.run(max_steps=120)
    before = r.sim_time()
    result = []
    t = threading.Thread(target=lambda: result.append(r.request_reset(5, 30.0)))
    t.start()
    while r._reset_seed is None:
        pass
    r.run(max_steps=12)
    t.join(30)
    assert result == [True]
    expected = S.load("near_cone").resolved(5)
    st = r.status()
    assert st["episode"] == 1 and st["seed"] == 5 and st["episode_start"] == pytest.approx(0.5)
    assert r.sim_time() > before and out.statuses == 1
    assert out.states[-1].position[0] == pytest.approx(expected.start.x, abs=0.02)


def test_status_reports_scenario_and_endpoints(make):
    r, _, _ = make()
    r.run(max_steps=24)
    st = r.status()
    assert st["scenario"] == "near_cone" and st["seed"] == 3 and st["error"] is None
    assert st["endpoints"] == {} and st["reached"] is False and st["holding"] is None
    assert r.diag_values()["episode"] == 0
