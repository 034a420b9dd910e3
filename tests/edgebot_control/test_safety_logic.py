"""Safety monitor logic: priorities, timeouts, e-stop, obstacle, heartbeats (ROS-free)."""

import math

import pytest

from edgebot_control.safety import (
    ACTIVE,
    IDLE,
    LIMITED,
    STOPPED,
    Heartbeat,
    SafetyConfig,
    SafetyLogic,
    Source,
)


def make(heartbeats=()):
    return SafetyLogic(
        SafetyConfig(
            max_linear=1.0,
            max_angular=4.0,
            obstacle_distance=0.3,
            obstacle_hysteresis=0.05,
            range_timeout=0.5,
        ),
        [Source("follower", 10, 0.5), Source("teleop", 100, 0.5)],
        heartbeats,
    )


def test_idle_without_sources():
    out = make().step(0.0)
    assert (out.v, out.w, out.state, out.source) == (0.0, 0.0, IDLE, "")


def test_priority_and_timeouts():
    m = make()
    m.on_command(0.0, "follower", 0.2, 0.1)
    out = m.step(0.1)
    assert (out.v, out.w, out.source, out.state) == (0.2, 0.1, "follower", ACTIVE)
    m.on_command(0.2, "teleop", 0.0, 0.0)  # teleop holding zero still wins
    m.on_command(0.25, "follower", 0.2, 0.1)
    out = m.step(0.3)
    assert (out.v, out.w, out.source) == (0.0, 0.0, "teleop")
    m.on_command(0.6, "follower", 0.2, 0.1)
    out = m.step(0.75)  # teleop 0.55 s old: timed out
    assert (out.v, out.source) == (0.2, "follower")
    out = m.step(1.2)  # both timed out
    assert (out.v, out.w, out.state) == (0.0, 0.0, IDLE)


@pytest.mark.parametrize(
    "v,w,reason",
    [
        (math.nan, 0, "non_finite"),
        (0, math.inf, "non_finite"),
        (1e9, 0, "over_limit"),
        (0, -5.0, "over_limit"),
    ],
)
def test_bad_commands_rejected_and_do_not_refresh(v, w, reason):
    m = make()
    m.on_command(0.0, "teleop", 0.3, 0.0)
    assert m.on_command(0.4, "teleop", v, w) == reason
    assert m.step(0.45).v == 0.3  # last good command still in force
    assert m.step(0.6).state == IDLE  # and not refreshed by the bad one


def test_estop_holds_against_commands_and_needs_a_fresh_command_after_release():
    m = make()
    m.set_estop(0.0, True)
    for i in range(10):
        t = 0.01 * i
        m.on_command(t, "teleop", 0.5, 1.0)
        out = m.step(t)
        assert (out.v, out.w, out.state) == (0.0, 0.0, STOPPED)
        assert out.reasons == ["estop"]
    m.set_estop(0.2, False)
    out = m.step(0.2)  # last command is older than the release
    assert (out.v, out.state) == (0.0, IDLE)
    m.on_command(0.25, "teleop", 0.5, 1.0)
    assert m.step(0.25).v == 0.5
    assert m.stop_counts["estop"] == 1 and m.last_stop_reason == "estop"


def test_obstacle_stops_forward_only_with_hysteresis():
    m = make()
    m.on_command(0.0, "teleop", 0.5, 0.0)
    assert m.on_range(0.0, 0.25) is None
    out = m.step(0.0)
    assert (out.v, out.state) == (0.0, LIMITED) and out.reasons[0].startswith("obstacle")
    m.on_command(0.01, "teleop", -0.2, 1.0)  # reversing and turning allowed
    out = m.step(0.01)
    assert (out.v, out.w, out.state) == (-0.2, 1.0, ACTIVE)
    m.on_command(0.02, "teleop", 0.5, 0.0)
    m.on_range(0.02, 0.33)  # inside the hysteresis band: still stopped
    assert m.step(0.02).v == 0.0
    m.on_range(0.03, 0.40)
    assert m.step(0.03).v == 0.5
    m.on_range(0.04, -math.inf)  # REP 117: too close
    assert m.step(0.04).v == 0.0
    m.on_range(0.05, math.inf)  # REP 117: nothing in range
    assert m.step(0.05).v == 0.5


def test_obstacle_reading_expires():
    m = make()
    m.on_range(0.0, 0.1)
    m.on_command(1.0, "teleop", 0.5, 0.0)
    assert m.step(1.0).v == 0.5


@pytest.mark.parametrize("r,reason", [(math.nan, "nan_range"), (-0.5, "negative_range")])
def test_garbage_range_rejected_keeps_state(r, reason):
    m = make()
    m.on_range(0.0, 0.1)
    assert m.on_range(0.01, r) == reason
    m.on_command(0.02, "teleop", 0.5, 0.0)
    assert m.step(0.02).v == 0.0


def test_heartbeat_loss_stops_everything_or_only_the_gated_source():
    m = make([Heartbeat("firmata", 1.0), Heartbeat("detector", 1.0, ("follower",))])
    m.on_command(0.0, "teleop", 0.3, 0.0)
    out = m.step(0.0)
    assert out.state == STOPPED and any("firmata" in r for r in out.reasons)
    m.on_heartbeat(0.1, "firmata")
    out = m.step(0.1)  # firmata back: the command from before is ignored
    assert out.state == IDLE
    m.on_command(0.2, "teleop", 0.3, 0.0)
    out = m.step(0.2)
    assert (out.v, out.state) == (0.3, ACTIVE)  # detector lost only gates the follower
    m.on_command(1.0, "follower", 0.2, 0.0)
    m.on_heartbeat(1.0, "firmata")
    out = m.step(1.0)  # teleop timed out, follower gated by the detector
    assert (out.v, out.state) == (0.0, STOPPED)
    assert any("detector" in r for r in out.reasons)
    m.on_heartbeat(1.1, "detector")
    m.on_command(1.2, "follower", 0.2, 0.0)
    assert m.step(1.2).v == 0.2
    out = m.step(2.5)  # firmata silent 1.5 s
    assert out.state == STOPPED and m.stop_counts["heartbeat_lost:firmata"] == 2


def test_configuration_errors():
    with pytest.raises(ValueError):
        SafetyLogic(SafetyConfig(), [Source("a", 1, 1.0), Source("a", 2, 1.0)])
    with pytest.raises(ValueError):
        SafetyLogic(SafetyConfig(), [Source("a", 1, 1.0)], [Heartbeat("h", 1.0, ("b",))])


def test_authority_is_lost_when_idle_or_stopped_and_kept_by_a_source_holding_zero():
    m = make([Heartbeat("det", 0.5, ("follower",))])
    m.on_heartbeat(0.0, "det")
    assert m.step(0.0).authority is False  # idle: nothing drives
    m.on_command(0.1, "follower", 0.2, 0.0)
    assert m.step(0.1).authority is True
    m.on_command(0.2, "follower", 0.0, 0.0)  # a source asking for zero still has authority:
    out = m.step(0.2)  # the normal ramp
    assert (out.state, out.authority) == (ACTIVE, True)
    m.on_range(0.25, 0.1)  # obstacle: forward removed, turning allowed: still a source drives
    m.on_command(0.25, "follower", 0.2, 0.3)
    out = m.step(0.25)
    assert (out.state, out.authority) == (LIMITED, True)
    out = m.step(0.8)  # the follower's commands timed out: idle
    assert (out.state, out.authority) == (IDLE, False)
    m.on_heartbeat(0.85, "det")
    m.on_command(0.9, "follower", 0.2, 0.0)
    assert m.step(0.9).authority is True
    m.on_command(1.4, "follower", 0.2, 0.0)
    out = m.step(1.45)  # the detector's heartbeat is lost: stopped
    assert (out.state, out.authority) == (STOPPED, False)
    m.on_heartbeat(1.5, "det")
    m.step(1.5)
    m.on_command(1.55, "teleop", 0.1, 0.0)
    m.set_estop(1.6, True)
    out = m.step(1.6)
    assert (out.state, out.authority) == (STOPPED, False)
