"""safety_monitor as a process: priorities, timeouts, e-stop, obstacle stop, heartbeats."""

import math

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from sensor_msgs.msg import Range
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool

from control_helpers import Streamer, diag_values, twist, wait_state, wait_twist
from edgebot_common import qos
from edgebot_testing import wait_for


def start(procs, **params):
    p = procs.node("edgebot_control", "safety_monitor", params={"rate_hz": 50.0, **params})
    p.wait_output("safety monitor ready", timeout=30)
    return p


def test_priority_timeouts_and_bad_commands(procs, ros):
    start(procs, **{"sources.teleop.timeout": 0.3, "sources.follower.timeout": 0.3})
    out = ros.collect(Twist, "cmd_vel")
    state = ros.collect(String, "safety/state", qos.LATCHED)
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    follower = ros.publisher(Twist, "follower/cmd_vel", qos.COMMANDS)
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(follower, timeout=30)
    ros.wait_subscribers(teleop, timeout=30)
    wait_twist(out, lambda v, w: v == 0.0 and w == 0.0, what="idle zero output")
    wait_state(state, lambda s: s["state"] == "idle")

    f = Streamer(ros, follower, twist(0.1, 0.2))
    wait_twist(out, lambda v, w: (v, w) == (0.1, 0.2), what="follower drives")
    wait_state(state, lambda s: s["state"] == "active" and s["source"] == "follower")
    t = Streamer(ros, teleop, twist(0.3, -0.5))
    wait_twist(out, lambda v, w: (v, w) == (0.3, -0.5), what="teleop overrides")
    # garbage on the teleop topic: rejected, does not move the robot, counted
    t.msg = twist(math.nan, 0.0)
    wait_twist(out, lambda v, w: (v, w) == (0.1, 0.2), what="teleop stale -> follower again")
    t.msg = twist(1e9, 0.0)
    vals = wait_for(
        lambda: (
            (d := diag_values(diags, "safety_monitor"))
            and int(d.get("rejected.over_limit", 0)) > 0
            and int(d.get("rejected.non_finite", 0)) > 0
            and d
        ),
        20,
        what="reject counters",
    )
    assert vals["source"] == "follower"
    assert all(m.linear.x <= 0.3 for m in out)
    t.stop()
    f.stop()
    wait_twist(out, lambda v, w: (v, w) == (0.0, 0.0), what="both timed out -> zero")
    wait_state(state, lambda s: s["state"] == "idle")


def test_estop_holds_against_a_command_stream(procs, ros):
    start(procs)
    out = ros.collect(Twist, "cmd_vel")
    estop = ros.collect(Bool, "estop", qos.LATCHED)
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(teleop, timeout=30)
    wait_for(lambda: estop and estop[-1].data is False, 30, what="latched estop=false")
    t = Streamer(ros, teleop, twist(0.4, 1.0), period=0.02)
    wait_twist(out, lambda v, w: v == 0.4, what="teleop drives")
    resp = ros.call(SetBool, "estop", SetBool.Request(data=True), timeout=30)
    assert resp.success
    n = len(out)

    # the monitor publishes a zero before it answers; from that zero on, every output is zero
    # although commands keep coming (messages sent before the call may still arrive after
    # the answer, as many as the delivery lag of a loaded machine holds: the check starts at
    # the first zero, and waits for more than 40 outputs after it)
    def zeros_after_first():
        tail = out[n:]
        first = next(
            (i for i, m in enumerate(tail) if (m.linear.x, m.angular.z) == (0.0, 0.0)), None
        )
        return first is not None and len(tail) - first > 50 and tail[first:]

    under_estop = wait_for(zeros_after_first, 30, what="50 outputs under e-stop")
    assert all((m.linear.x, m.angular.z) == (0.0, 0.0) for m in under_estop)
    wait_for(lambda: estop[-1].data is True, 10, what="latched estop=true")
    late = ros.collect(Bool, "estop", qos.LATCHED)  # a late joiner gets the latched value
    wait_for(lambda: late and late[-1].data is True, 30, what="late joiner sees estop")
    vals = wait_for(
        lambda: (
            (d := diag_values(diags, "safety_monitor")) and d["last_stop_reason"] == "estop" and d
        ),
        15,
        what="estop reason",
    )
    assert vals["state"] == "stopped" and int(vals["stops.estop"]) == 1
    ros.call(SetBool, "estop", SetBool.Request(data=False), timeout=30)
    wait_twist(out, lambda v, w: v == 0.4, what="driving again after release")
    t.stop()


def test_obstacle_stops_forward_motion_only(procs, ros):
    start(procs, obstacle_distance=0.3)
    out = ros.collect(Twist, "cmd_vel")
    state = ros.collect(String, "safety/state", qos.LATCHED)
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    sonar = ros.publisher(Range, "sonar/range", qos.SENSOR_DATA)
    ros.wait_subscribers(teleop, timeout=30)
    ros.wait_subscribers(sonar, timeout=30)
    r = Range(min_range=0.02, max_range=4.0, range=0.15)
    r.header.frame_id = "sonar_link"
    s = Streamer(ros, sonar, r)
    t = Streamer(ros, teleop, twist(0.3, 0.0))
    wait_state(state, lambda st: st["state"] == "limited" and "obstacle" in st["reasons"][0])
    wait_twist(out, lambda v, w: v == 0.0)
    t.msg = twist(-0.2, 0.8)  # reversing and turning stay allowed
    wait_twist(out, lambda v, w: (v, w) == (-0.2, 0.8), what="reverse + turn allowed")
    t.msg = twist(0.3, 0.0)
    wait_twist(out, lambda v, w: v == 0.0)
    s.msg = Range(min_range=0.02, max_range=4.0, range=math.nan)  # garbage keeps the stop
    wait_twist(out, lambda v, w: v == 0.0)
    s.msg = Range(min_range=0.02, max_range=4.0, range=1.5)
    wait_twist(out, lambda v, w: v == 0.3, what="clear again")
    t.stop()
    s.stop()


def test_heartbeat_supervision(procs, ros):
    start(
        procs,
        heartbeat_names="[firmata]",
        **{
            "heartbeats.firmata.topic": "wheel_states",
            "heartbeats.firmata.type": "sensor_msgs/msg/JointState",
            "heartbeats.firmata.timeout": 0.5,
        },
    )
    from sensor_msgs.msg import JointState

    out = ros.collect(Twist, "cmd_vel")
    state = ros.collect(String, "safety/state", qos.LATCHED)
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    hb = ros.publisher(JointState, "wheel_states", qos.SENSOR_DATA)
    ros.wait_subscribers(teleop, timeout=30)
    ros.wait_subscribers(hb, timeout=30)
    t = Streamer(ros, teleop, twist(0.2, 0.0))
    wait_state(
        state,
        lambda s: s["state"] == "stopped" and "heartbeat_lost:firmata (never seen)" in s["reasons"],
    )
    wait_twist(out, lambda v, w: v == 0.0)
    h = Streamer(ros, hb, JointState(name=["left_wheel_joint", "right_wheel_joint"]))
    wait_twist(out, lambda v, w: v == 0.2, what="heartbeat present -> drive")
    h.stop()
    wait_state(
        state,
        lambda s: (
            s["state"] == "stopped"
            and any(r.startswith("heartbeat_lost:firmata (silent") for r in s["reasons"])
        ),
    )
    wait_twist(out, lambda v, w: v == 0.0, what="heartbeat lost -> zero")
    t.stop()


def test_invalid_parameters_stop_the_node_naming_them(procs):
    for params, name in (
        ({"max_linear": -1.0}, "max_linear"),
        (
            {
                "heartbeat_names": "[x]",
                "heartbeats.x.topic": "t",
                "heartbeats.x.type": "nope/msg/Nothing",
            },
            "heartbeats.x.type",
        ),
        ({"sources.teleop.priority": 10}, "priority"),
    ):
        p = procs.node("edgebot_control", "safety_monitor", params=params)
        assert p.wait(timeout=60) == 2
        out = p.output()
        assert "configuration error" in out and name in out, out


def test_authority_follows_the_sources_and_the_estop(procs, ros):
    """safety/authority goes with every cmd_vel: false while idle or stopped, true while a
    source drives (base_controller brakes at its emergency deceleration on false)."""
    start(procs, **{"sources.teleop.timeout": 0.3})
    auth = ros.collect(Bool, "safety/authority")
    out = ros.collect(Twist, "cmd_vel")
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(teleop, timeout=30)
    wait_for(lambda: auth and auth[-1].data is False, 30, what="idle: no authority")
    t = Streamer(ros, teleop, twist(0.0, 0.0))  # a source holding zero has the authority
    wait_for(lambda: auth[-1].data is True, 30, what="teleop: authority")
    t.msg = twist(0.2, 0.0)
    wait_twist(out, lambda v, w: v == 0.2, what="teleop drives")
    assert ros.call(SetBool, "estop", SetBool.Request(data=True), timeout=30).success
    wait_for(lambda: auth[-1].data is False, 30, what="e-stop: no authority")
    assert ros.call(SetBool, "estop", SetBool.Request(data=False), timeout=30).success
    wait_for(lambda: auth[-1].data is True, 30, what="released, fresh commands: authority")
    t.stop()
    wait_for(lambda: auth[-1].data is False, 30, what="teleop timed out: no authority")
