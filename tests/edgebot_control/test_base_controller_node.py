"""base_controller as a process on the edgebot_rt loop: kinematics and odometry on known
motions, wheel feedback and IMU in the odometry, command timeout, bad input, bad parameters."""

import math

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Imu, JointState

from control_helpers import Streamer, diag_values, twist
from edgebot_common import qos
from edgebot_control import kinematics as K
from edgebot_testing import wait_for

R, L = 0.033, 0.16


def start(procs, **params):
    p = procs.node("edgebot_control", "base_controller", params={"rate_hz": 200.0, **params})
    p.wait_output("base controller running", timeout=30)
    return p


def wheels(msg):
    assert list(msg.name) == ["left_wheel_joint", "right_wheel_joint"]
    return msg.velocity[0], msg.velocity[1]


def pose(od):
    q = od.pose.pose.orientation
    return (
        od.pose.pose.position.x,
        od.pose.pose.position.y,
        K.quaternion_to_yaw(q.x, q.y, q.z, q.w),
    )


def close(a, b, tol):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_known_motions_wheels_and_odometry(procs, ros):
    start(procs, use_feedback=False, imu_yaw_weight=0.0)
    wc = ros.collect(JointState, "wheel_cmd")
    odom = ros.collect(Odometry, "odom")
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, timeout=30)
    wait_for(lambda: wc and odom, 20, what="first wheel_cmd and odom")
    assert wheels(wc[-1]) == (0.0, 0.0)  # no command: wheels stopped
    assert odom[-1].header.frame_id == "odom" and odom[-1].child_frame_id == "base_link"

    # straight: both wheels v/R, pose stays on the x axis
    s = Streamer(ros, pub, twist(0.2, 0.0))
    want = K.twist_to_wheels(0.2, 0.0, R, L)
    wait_for(lambda: close(wheels(wc[-1]), want, 1e-9), 20, what="straight wheel speeds")
    wait_for(lambda: pose(odom[-1])[0] > 0.1, 30, what="10 cm forward")
    x, y, th = pose(odom[-1])
    assert abs(y) < 1e-9 and abs(th) < 1e-9
    assert abs(odom[-1].twist.twist.linear.x - 0.2) < 1e-9

    # spin in place: wheels opposite, position fixed, heading turns left
    s.msg = twist(0.0, 1.0)
    want = K.twist_to_wheels(0.0, 1.0, R, L)
    wait_for(lambda: close(wheels(wc[-1]), want, 1e-9), 20, what="spin wheel speeds")
    x0, y0, th0 = pose(odom[-1])
    wait_for(lambda: K.wrap_angle(pose(odom[-1])[2] - th0) > 0.5, 30, what="turned 0.5 rad")
    x1, y1, _ = pose(odom[-1])
    assert abs(x1 - x0) < 1e-9 and abs(y1 - y0) < 1e-9
    assert abs(odom[-1].twist.twist.angular.z - 1.0) < 1e-9

    # arc: v=0.2, w=0.5 -> a circle of radius 0.4 about the point left of the start pose
    s.msg = twist(0.2, 0.5)
    wait_for(
        lambda: (
            abs(odom[-1].twist.twist.linear.x - 0.2) < 1e-9
            and abs(odom[-1].twist.twist.angular.z - 0.5) < 1e-9
        ),
        20,
        what="arc twist",
    )
    ax, ay, ath = pose(odom[-1])
    cx, cy = ax - 0.4 * math.sin(ath), ay + 0.4 * math.cos(ath)
    wait_for(lambda: abs(K.wrap_angle(pose(odom[-1])[2] - ath)) > 0.8, 30, what="0.8 rad of arc")
    s.stop()
    x, y, _ = pose(odom[-1])
    # ends on the circle (the final deceleration is a straight-line stop, not on the arc)
    assert abs(math.hypot(x - cx, y - cy) - 0.4) < 0.01
    wait_for(lambda: wheels(wc[-1]) == (0.0, 0.0), 20, what="zero after the stream stops")


def test_limits_are_applied(procs, ros):
    start(procs, use_feedback=False, max_linear=0.3, max_angular=10.0, max_wheel_speed=12.0)
    wc = ros.collect(JointState, "wheel_cmd")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, timeout=30)
    s = Streamer(ros, pub, twist(5.0, 0.0))  # over max_linear: clamped to 0.3
    want = K.twist_to_wheels(0.3, 0.0, R, L)
    wait_for(lambda: wc and close(wheels(wc[-1]), want, 1e-9), 20, what="clamped to 0.3 m/s")
    s.msg = twist(0.0, 100.0)  # wheel limit binds first
    wait_for(lambda: close(wheels(wc[-1]), (-12.0, 12.0), 1e-9), 20, what="wheel speed limit")
    assert all(max(abs(v) for v in m.velocity) <= 12.0 + 1e-9 for m in wc)
    wait_for(
        lambda: int(diag_values(diags, "base_controller").get("clamped_commands", 0)) > 0,
        20,
        what="clamped commands counted",
    )
    s.stop()


def test_odometry_from_wheel_feedback_and_imu(procs, ros):
    start(procs, use_feedback=True, imu_yaw_weight=1.0, feedback_timeout=0.3)
    odom = ros.collect(Odometry, "odom")
    fb = ros.publisher(JointState, "wheel_states", qos.SENSOR_DATA)
    imu = ros.publisher(Imu, "imu/data", qos.SENSOR_DATA)
    ros.wait_subscribers(fb, timeout=30)
    ros.wait_subscribers(imu, timeout=30)
    # pushed by hand at 10 rad/s without any command: odometry follows the measurement
    f = Streamer(
        ros, fb, JointState(name=["right_wheel_joint", "left_wheel_joint"], velocity=[10.0, 10.0])
    )
    wait_for(
        lambda: odom and abs(odom[-1].twist.twist.linear.x - 0.33) < 1e-9,
        20,
        what="odometry speed from wheel_states",
    )
    i = Imu()
    i.angular_velocity.z = 0.5
    m = Streamer(ros, imu, i)
    wait_for(
        lambda: abs(odom[-1].twist.twist.angular.z - 0.5) < 1e-9,
        20,
        what="yaw rate from imu/data (weight 1)",
    )
    f.stop()
    m.stop()
    wait_for(
        lambda: odom[-1].twist.twist.linear.x == 0.0 and odom[-1].twist.twist.angular.z == 0.0,
        20,
        what="stale feedback ignored",
    )


def test_wheel_pid_on_feedback_open_loop_without(procs, ros):
    start(procs, use_feedback=True, feedback_timeout=0.3, max_wheel_speed=20.0)
    wc = ros.collect(JointState, "wheel_cmd")
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    fb = ros.publisher(JointState, "wheel_states", qos.SENSOR_DATA)
    ros.wait_subscribers(pub, timeout=30)
    ros.wait_subscribers(fb, timeout=30)
    ff = K.twist_to_wheels(0.2, 0.0, R, L)[0]  # 6.06 rad/s feed-forward
    s = Streamer(ros, pub, twist(0.2, 0.0))
    wait_for(lambda: wc and abs(wheels(wc[-1])[0] - ff) < 1e-9, 20, what="open loop = ff")
    # the wheels report half the speed (a heavy load): the PID adds to the feed-forward
    f = Streamer(
        ros,
        fb,
        JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[ff / 2, ff / 2]),
    )
    wait_for(lambda: min(wheels(wc[-1])) > ff + 1.0, 30, what="PID correction above ff")
    assert max(max(m.velocity) for m in wc) <= 20.0 + 1e-9
    # wheels report too fast: the command drops below the feed-forward
    f.msg = JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[2 * ff, 2 * ff])
    wait_for(lambda: max(wheels(wc[-1])) < ff - 1.0, 30, what="PID correction below ff")
    f.stop()  # feedback stale -> open loop again
    wait_for(lambda: abs(wheels(wc[-1])[0] - ff) < 1e-9, 20, what="back to open loop")
    s.stop()


def test_command_timeout_and_bad_commands(procs, ros):
    start(procs, command_timeout=0.25, use_feedback=False)
    wc = ros.collect(JointState, "wheel_cmd")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, timeout=30)
    s = Streamer(ros, pub, twist(0.2, 0.0))
    wait_for(lambda: wc and wheels(wc[-1])[0] > 5.0, 20, what="driving")
    s.msg = twist(math.nan, 0.0)  # NaN: rejected, counts as silence
    wait_for(lambda: wheels(wc[-1]) == (0.0, 0.0), 20, what="zero after NaN stream (timeout)")
    s.msg = twist(0.2, math.inf)
    vals = wait_for(
        lambda: (
            (d := diag_values(diags, "base_controller"))
            and int(d.get("rejected.non_finite_cmd_vel", 0)) >= 5
            and int(d.get("command_timeouts", 0)) >= 1
            and d
        ),
        20,
        what="rejected commands and a timeout counted",
    )
    assert vals["timed_out"] == "True"
    assert all(math.isfinite(v) for m in wc for v in m.velocity)
    s.stop()


def test_loop_zeroes_wheels_exactly_when_the_command_expires():
    """In-process check of the invariant behind the timeout stop: every loop sample is
    timed out exactly when it is older than command_timeout after the last command."""
    import edgebot_rt as rt

    loop = rt.BaseControlLoop(
        rate_hz=200.0, command_timeout=0.1, use_feedback=False, max_linear_accel=100.0
    )
    assert loop.start()
    try:
        t_cmd = rt.monotonic_ns() * 1e-9
        assert loop.set_command(0.2, 0.0)
        assert not loop.set_command(math.nan, 0.0)
        # drain until the loop has run well past the expiry (a fixed sleep gives a starved
        # loop thread no guarantee of a cycle after it)
        samples = []
        wait_for(
            lambda: samples.extend(loop.drain()) or any(s[0] > t_cmd + 0.1 + 0.05 for s in samples),
            30,
            what="loop samples after the command expired",
        )
    finally:
        loop.stop()
    after = [s for s in samples if s[0] > t_cmd]
    assert after, "loop produced no samples"
    for t, wl, wr, *_rest, timed_out in after:
        if t - t_cmd < 0.1 - 1e-3:
            assert not timed_out and wl > 0 and wr > 0
        elif t - t_cmd > 0.1 + 1e-3:
            assert timed_out and wl == 0.0 and wr == 0.0
    assert any(s[8] for s in after) and any(not s[8] for s in after)
    # once zero, it stays zero (cycle stamps are the loop's own clock readings, so this and
    # the checks above hold however loaded the machine is)
    first_zero = next(s[0] for s in after if s[8])
    assert all(s[8] for s in after if s[0] >= first_zero)
    assert loop.stats()["rejected"] == 1


def test_invalid_parameters_stop_the_node_naming_them(procs):
    for params, name in (
        ({"wheel_radius": -0.03}, "wheel_radius"),
        ({"max_wheel_speed": 1.0}, "max_wheel_speed"),
        ({"publish_rate_hz": 500.0, "rate_hz": 100.0}, "rate_hz"),
        ({"imu_yaw_weight": 2.0}, "imu_yaw_weight"),
    ):
        p = procs.node("edgebot_control", "base_controller", params=params)
        assert p.wait(timeout=60) == 2
        out = p.output()
        assert "configuration error" in out and name in out, out


def test_odometry_on_simulated_time(procs, ros):
    """use_sim_time: a simulator running at half real time. wheel speeds are per simulated
    second, so the pose must be integrated on /clock, not on the wall clock."""
    from builtin_interfaces.msg import Time
    from rosgraph_msgs.msg import Clock

    start(procs, use_feedback=False, use_sim_time=True, max_linear_accel=100.0)
    odom = ros.collect(Odometry, "odom")
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    clock = ros.publisher(Clock, "/clock", qos.CLOCK)
    ros.wait_subscribers(pub, timeout=30)
    ros.wait_subscribers(clock, timeout=30)
    sim = {"ns": 1_000_000_000}

    def tick():  # 10 ms of simulated time every 20 ms
        sim["ns"] += 10_000_000
        clock.publish(Clock(clock=Time(sec=sim["ns"] // 10**9, nanosec=sim["ns"] % 10**9)))

    timer = ros.node.create_timer(0.02, tick)
    s = Streamer(ros, pub, twist(0.2, 0.0))
    wait_for(
        lambda: (
            odom
            and odom[-1].header.stamp.sec >= 1
            and abs(odom[-1].twist.twist.linear.x - 0.2) < 1e-9
        ),
        30,
        what="driving on sim time",
    )

    def stamp(m):
        return m.header.stamp.sec + m.header.stamp.nanosec * 1e-9

    a = odom[-1]
    wait_for(lambda: stamp(odom[-1]) - stamp(a) > 1.0, 60, what="1 s of simulated time")
    b = odom[-1]
    s.stop()
    ros.node.destroy_timer(timer)
    moved = b.pose.pose.position.x - a.pose.pose.position.x
    sim_dt = stamp(b) - stamp(a)
    # 0.2 m/s for sim_dt simulated seconds (wall-clock integration would give about twice that)
    assert abs(moved - 0.2 * sim_dt) < 0.1 * 0.2 * sim_dt, (moved, sim_dt)


def test_lost_authority_brakes_even_against_a_command_and_is_given_back(procs, ros):
    """safety/authority false (from safety_monitor: idle, e-stop, lost heartbeat) makes the
    loop brake to exactly zero at its emergency deceleration, whatever cmd_vel says; true
    gives the command back. (The deceleration rates are checked in edgebot_rt's gtests.)"""
    from std_msgs.msg import Bool

    start(procs, use_feedback=False, max_linear_accel=5.0, emergency_linear_decel=50.0)
    wc = ros.collect(JointState, "wheel_cmd")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    cmd = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    auth = ros.publisher(Bool, "safety/authority", qos.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    ros.wait_subscribers(auth, timeout=30)
    want = K.twist_to_wheels(0.2, 0.0, R, L)
    c = Streamer(ros, cmd, twist(0.2, 0.0))
    a = Streamer(ros, auth, Bool(data=True))
    wait_for(lambda: wc and close(wheels(wc[-1]), want, 1e-9), 30, what="driving")
    a.msg = Bool(data=False)
    wait_for(lambda: wheels(wc[-1]) == (0.0, 0.0), 30, what="braked to zero")
    n = len(wc)
    wait_for(lambda: len(wc) > n + 20, 30, what="20 more wheel_cmd")
    assert all(wheels(m) == (0.0, 0.0) for m in wc[n:])  # the 0.2 m/s command is not followed
    wait_for(
        lambda: diag_values(diags, "base_controller")["authority"] == "False",
        30,
        what="authority False in the diagnostics",
    )
    a.msg = Bool(data=True)
    wait_for(lambda: close(wheels(wc[-1]), want, 1e-9), 30, what="driving again")
    c.stop()
    a.stop()


def test_position_odometry_on_a_slow_simulated_clock_with_dropped_messages(procs, ros):
    """use_sim_time with /clock at 0.3x wall time; wheel_states carry positions stamped on that
    clock, and for a stretch only every 20th message gets out (gaps of 0.4 s wall, longer than
    feedback_timeout). The odometry is the wheel geometry of the position change: neither the
    loop's wall-clock period nor the lost messages change it (the loop's wall dt gave 3x)."""
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from rosgraph_msgs.msg import Clock

    start(procs, use_feedback=True, use_sim_time=True, imu_yaw_weight=0.0)
    odom = ros.collect(Odometry, "odom")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    fb = ros.publisher(JointState, "wheel_states", qos.SENSOR_DATA)
    clock = ros.publisher(Clock, "/clock", qos.CLOCK)
    ros.wait_subscribers(fb, timeout=30)
    ros.wait_subscribers(clock, timeout=30)
    wl, wr = 6.0, 9.0  # rad per simulated second: an arc to the left
    p0 = (-3.0, 1.0)  # the encoders' count at the start
    st = {"tick": 0, "move_tick": None, "stop": None, "moved": 0}

    def tick():
        k = st["tick"]
        t = 1.0 + 0.006 * k  # 6 ms of simulated time every 20 ms of wall time
        n = 0 if st["move_tick"] is None else k - st["move_tick"]
        if st["stop"] is not None:  # standing at the end: the last position again and again
            n = st["stop"]
        moving = 0.006 * n
        m = JointState(
            name=["right_wheel_joint", "left_wheel_joint"],
            position=[p0[1] + wr * moving, p0[0] + wl * moving],
            velocity=[wr, wl] if moving and st["stop"] is None else [0.0, 0.0],
        )
        m.header.stamp = Time(sec=int(t), nanosec=int(round((t % 1.0) * 1e9)) % 10**9)
        clock.publish(Clock(clock=m.header.stamp))
        dropping = 50 <= n < 250 and n % 20 and st["stop"] is None  # 19 of 20 lost
        if not dropping:
            fb.publish(m)
            st["moved"] = n
        st["tick"] += 1

    timer = ros.node.create_timer(0.02, tick)
    # standing still until the node has had wheel_states (their positions latch)
    wait_for(
        lambda: int(diag_values(diags, "base_controller").get("feedback_msgs", 0)) > 0,
        60,
        what="wheel_states at the node",
    )
    st["move_tick"] = st["tick"]
    wait_for(lambda: st["moved"] >= 300, 120, what="300 ticks of motion")
    st["stop"] = st["moved"]  # (a best-effort message may be lost: the last one is repeated)
    dl, dr = wl * 0.006 * st["stop"], wr * 0.006 * st["stop"]
    assert dr - dl > 1.0  # 1.8 s simulated of 3 rad/s difference (6 s of wall time)
    th_want = R * (dr - dl) / L
    ds = R * (dl + dr) / 2.0
    x_want = ds / th_want * math.sin(th_want)
    y_want = ds / th_want * (1.0 - math.cos(th_want))
    last = wait_for(
        lambda: (lambda p: p if abs(p[2] - th_want) < 1e-6 else None)(pose(odom[-1])),
        30,
        what=f"odometry heading {th_want:.4f} rad after the last position "
        f"(odometry {pose(odom[-1])}, want {x_want, y_want, th_want})",
    )
    ros.node.destroy_timer(timer)
    assert abs(last[0] - x_want) < 1e-6 and abs(last[1] - y_want) < 1e-6, (last, x_want, y_want)
