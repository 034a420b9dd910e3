"""safety_monitor's configuration, state reports and diagnostics (ROS-free)."""

import pytest

from edgebot_common.params import ParameterError, validate_all
from edgebot_control.safety import (
    ACTIVE,
    IDLE,
    LIMITED,
    STOPPED,
    Heartbeat,
    Output,
    SafetyConfig,
    SafetyLogic,
    Source,
)
from edgebot_control.safety_setup import SPECS, StateReporter, diag_report, load


def loader(given: dict):
    """A declare() as the node's: defaults, overridden by ``given``, validated."""
    declared = []

    def declare(specs):
        declared.extend(s.name for s in specs)
        return validate_all(specs, given)

    return declare, declared


def test_defaults_give_teleop_over_follower():
    declare, declared = loader({})
    p = validate_all(SPECS, {})
    setup = load(p, declare)
    assert [(s.name, s.priority, s.timeout, t) for s, t in setup.sources] == [
        ("teleop", 100, 0.5, "teleop/cmd_vel"),
        ("follower", 10, 0.5, "follower/cmd_vel"),
    ]
    assert setup.heartbeats == []
    assert "sources.follower.timeout" in declared
    assert setup.cfg.obstacle_distance == 0.25
    assert "teleop" in setup.summary()


def test_sources_and_heartbeats_from_parameters():
    given = {
        "source_names": ["nav", "joy"],
        "heartbeat_names": ["det"],
        "sources.nav.topic": "nav/cmd",
        "sources.joy.timeout": 0.2,
        "heartbeats.det.topic": "detections",
        "heartbeats.det.type": "std_msgs/msg/Bool",
        "heartbeats.det.timeout": 0.4,
        "heartbeats.det.blocks": ["nav"],
    }
    declare, _ = loader(given)
    setup = load(validate_all(SPECS, given), declare)
    # unknown names get priorities in list order (first is higher)
    assert [(s.name, s.priority, s.timeout, t) for s, t in setup.sources] == [
        ("nav", 50, 0.5, "nav/cmd"),
        ("joy", 49, 0.2, "joy/cmd_vel"),
    ]
    (hb, topic, type_name) = setup.heartbeats[0]
    assert (hb.name, hb.timeout, hb.blocks, topic, type_name) == (
        "det",
        0.4,
        ("nav",),
        "detections",
        "std_msgs/msg/Bool",
    )


@pytest.mark.parametrize(
    "given, name, words",
    [
        ({"source_names": ["a", "a"]}, "source_names", "unique"),
        ({"source_names": ["a/b"]}, "source_names", "without"),
        (
            {"sources.teleop.priority": 5, "sources.follower.priority": 5},
            "sources.*.priority",
            "distinct",
        ),
        ({"sources.teleop.timeout": 0.0}, "sources.teleop.timeout", "> 0"),
        (
            {"heartbeat_names": ["x"], "heartbeats.x.type": "std_msgs/msg/Bool"},
            "heartbeats.x.topic",
            "must not be empty",
        ),
        (
            {"heartbeat_names": ["x"], "heartbeats.x.topic": "t", "heartbeats.x.type": "no/pe"},
            "heartbeats.x.type",
            "",
        ),
        (
            {
                "heartbeat_names": ["x"],
                "heartbeats.x.topic": "t",
                "heartbeats.x.type": "std_msgs/msg/Bool",
                "heartbeats.x.blocks": ["ghost"],
            },
            "heartbeats.x.blocks",
            "must name sources",
        ),
    ],
)
def test_bad_configuration_names_the_parameter(given, name, words):
    declare, _ = loader(given)
    with pytest.raises(ParameterError) as e:
        load(validate_all(SPECS, given), declare)
    assert e.value.name == name
    assert words in str(e.value)


def test_state_reporter_publishes_on_change_and_once_a_period():
    r = StateReporter(period=1.0)
    idle = Output(0.0, 0.0, "", IDLE)
    state, warn = r.update(0.0, idle, False)
    assert state == {"state": IDLE, "source": "", "reasons": [], "estop": False}
    assert warn is None
    assert r.update(0.5, idle, False) == (None, None)  # unchanged, within the period
    assert r.update(1.0, idle, False)[0]["state"] == IDLE  # the periodic repeat
    stopped = Output(0.0, 0.0, "", STOPPED, ["estop"])
    state, warn = r.update(1.1, stopped, True)
    assert state["estop"] is True and state["reasons"] == ["estop"]
    assert warn == "stopped: estop"
    # the same reason kind with other details is not a change
    limited = Output(0.0, 0.5, "teleop", LIMITED, ["obstacle (0.10 m < 0.25 m)"])
    assert r.update(1.2, limited, False)[1] == "limited: obstacle (0.10 m < 0.25 m)"
    limited2 = Output(0.0, 0.5, "teleop", LIMITED, ["obstacle (0.12 m < 0.25 m)"])
    assert r.update(1.3, limited2, False) == (None, None)
    # driving is not a warning
    assert r.update(1.4, Output(0.2, 0.0, "teleop", ACTIVE), False)[1] is None


def test_diag_report_levels_and_counters():
    logic = SafetyLogic(SafetyConfig(), [Source("teleop", 100, 0.5)], [Heartbeat("firmata", 1.0)])
    out = logic.step(0.0)  # heartbeat never seen
    level, msg, values = diag_report(out, logic, {"non_finite": 2}, 2)
    assert level == "error"
    assert msg.startswith("stopped: heartbeat_lost:firmata")
    assert values["rejected.non_finite"] == 2 and values["rejected_total"] == 2
    assert values["stops.heartbeat_lost:firmata"] == 1
    assert values["range_m"] == "none" and values["estop"] is False
    logic.on_heartbeat(0.1, "firmata")
    logic.step(0.1)  # the heartbeat is back: commands older than this are ignored
    logic.on_command(0.2, "teleop", 0.2, 0.0)
    level, msg, values = diag_report(logic.step(0.3), logic, {}, 0)
    assert (level, msg, values["source"]) == ("ok", "active (teleop)", "teleop")
