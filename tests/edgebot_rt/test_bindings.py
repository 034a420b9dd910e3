"""The Python API of edgebot_rt that the control and IMU nodes use."""

import math
import time

import pytest

import edgebot_rt as rt

NAN = float("nan")
INF = float("inf")


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


def test_pid_update_reset_and_rejects_non_finite():
    pid = rt.Pid(1.0, 2.0, 0.0, -1.0, 1.0)
    u = pid.update(0.5, 0.0, 0.1)
    assert u == pytest.approx(0.5 + 2.0 * 0.5 * 0.1)
    assert pid.update(NAN, 0.0, 0.1) == u
    assert pid.update(0.5, INF, 0.1) == u
    for _ in range(100):
        assert -1.0 <= pid.update(10.0, 0.0, 0.1) <= 1.0
    pid.reset()
    assert pid.integral == 0.0
    pid2 = rt.Pid(kp=1.0, ki=0.0, kd=1.0, out_min=-50, out_max=50, d_filter_tau=0.1)
    pid2.update(0, 0, 0.01)
    assert pid2.update(0, 1.0, 0.01) == pytest.approx(-1.0 - 100.0 * 0.01 / 0.11)
    with pytest.raises(ValueError):
        rt.Pid(1, 0, 0, 1.0, -1.0)


def test_rate_limiter():
    lim = rt.RateLimiter(0.5, 1.0)
    assert lim.step(2.0, 0.1) == pytest.approx(0.1)
    for _ in range(20):
        lim.step(2.0, 0.1)
    assert lim.value == pytest.approx(0.5)
    assert lim.step(NAN, 0.1) == pytest.approx(0.5)
    lim.reset()
    assert lim.value == 0.0
    lim.reset(value=0.3)
    assert lim.value == pytest.approx(0.3)


def test_kinematics_and_odometry():
    kin = rt.DiffDriveKinematics(0.033, 0.16)
    wl, wr = kin.inverse(0.2, 1.0)
    assert wl == pytest.approx((0.2 - 0.08) / 0.033)
    assert wr == pytest.approx((0.2 + 0.08) / 0.033)
    assert kin.forward(wl, wr) == pytest.approx((0.2, 1.0))
    odo = rt.Odometry(0.033, 0.16)
    for _ in range(100):
        assert odo.update_velocity(0.2 / 0.033, 0.2 / 0.033, 0.01)
    assert odo.pose == pytest.approx((0.2, 0.0, 0.0), abs=1e-9)
    assert odo.twist == pytest.approx((0.2, 0.0), abs=1e-9)
    assert not odo.update_velocity(NAN, 0.0, 0.01)
    odo.reset(x=1.0, y=2.0, theta=0.5)
    assert odo.pose == pytest.approx((1.0, 2.0, 0.5))
    odo.set_yaw(-1.0)
    assert odo.pose[2] == pytest.approx(-1.0)
    odo.reset()
    assert odo.update_position(0.0, 0.0)  # latches
    assert odo.update_position(1.0, 1.0, 0.5)  # 0.033 m straight in 0.5 s
    assert odo.pose == pytest.approx((0.033, 0.0, 0.0), abs=1e-12)
    assert odo.twist == pytest.approx((0.066, 0.0), abs=1e-12)


def test_madgwick_api():
    f = rt.Madgwick(beta=0.1, zeta=0.0)
    assert f.quaternion == (1.0, 0.0, 0.0, 0.0)
    assert f.update_imu(0.0, 0.0, 0.1, 0.0, 0.0, 9.81, 0.01)
    q = f.quaternion
    assert not f.update_imu(NAN, 0, 0, 0, 0, 9.81, 0.01)
    assert f.quaternion == q
    assert f.update_marg(0, 0, 0, 0, 0, 9.81, 0.2, 0.0, -0.4, 0.01)
    assert not f.update_marg(0, 0, 0, 0, 0, 9.81, INF, 0.0, -0.4, 0.01)
    assert f.init_from_accel(0.0, 9.81, 0.0)  # lying on its side: roll +90 deg
    w, x, y, z = f.quaternion
    assert 2 * math.atan2(x, w) == pytest.approx(math.pi / 2)
    assert f.set_quaternion(2.0, 0.0, 0.0, 0.0)
    assert f.quaternion == (1.0, 0.0, 0.0, 0.0)
    assert f.gyro_bias == (0.0, 0.0, 0.0)
    assert f.nan_resets == 0
    assert not f.update_imu(1e308, 1e308, 1e308, 0, 0, 1, 1e10)
    assert f.nan_resets == 1
    assert f.quaternion == (1.0, 0.0, 0.0, 0.0)
    f.reset()
    assert f.quaternion == (1.0, 0.0, 0.0, 0.0)


def test_loop_runner_run_for_returns_stats():
    runner = rt.LoopRunner(500.0)
    s = runner.run_for(0.3)
    for key in (
        "cycles",
        "overruns",
        "period_err_p50_ns",
        "period_err_p99_ns",
        "period_err_max_ns",
        "rt_priority_applied",
        "mlock_applied",
        "drift_ns",
    ):
        assert key in s
    assert s["cycles"] > 10
    assert s["period_err_p50_ns"] <= s["period_err_p99_ns"] <= s["period_err_max_ns"]
    # the last wake is measured against its absolute deadline: one of the recorded latencies
    assert 0 <= s["phase_err_last_ns"] <= s["wake_latency_max_ns"]
    assert not runner.running
    assert runner.stats()["cycles"] == s["cycles"]


def test_loop_runner_records_wake_times_for_benchmarks():
    runner = rt.LoopRunner(500.0, record=1000)
    s = runner.run_for(0.3)
    t = runner.timestamps()
    assert len(t) == min(s["cycles"], 1000) and len(t) > 10
    assert (t[1:] > t[:-1]).all()  # strictly increasing
    assert abs(t[-1] / 1e9 - time.monotonic()) < 5.0  # CLOCK_MONOTONIC, as time.monotonic
    short = rt.LoopRunner(1000.0, record=10)
    assert short.run_for(0.2)["cycles"] > 10
    assert len(short.timestamps()) == 10  # bounded by the preallocated buffer
    assert len(rt.LoopRunner(100.0).timestamps()) == 0


def test_base_control_loop_open_loop_commands_and_odometry():
    loop = rt.BaseControlLoop(
        rate_hz=200.0,
        max_linear=0.5,
        max_linear_accel=100.0,
        max_wheel_speed=8.0,
        command_timeout=5.0,
    )
    assert loop.latest() is None
    loop.start()
    try:
        assert loop.set_command(0.2, 0.0)
        sample = wait_for(
            lambda: (lambda s: s if s and not s[8] and s[1] > 0 else None)(loop.latest())
        )
        t, wl, wr, x, y, theta, v, w, timed_out = sample
        assert wl == pytest.approx(0.2 / 0.033) and wr == pytest.approx(0.2 / 0.033)
        assert abs(t - time.monotonic()) < 5.0  # the loop's clock is time.monotonic's
        wait_for(lambda: loop.latest()[3] > 0.01)  # odometry integrates the commands
        rows = loop.drain()
        assert rows and all(len(r) == 9 for r in rows)
        assert all(isinstance(r[8], bool) for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        # clamped to max_wheel_speed (0.5 m/s would be 15.2 rad/s on each wheel)
        loop.set_command(0.5, 0.0)
        wait_for(lambda: loop.latest()[2] == pytest.approx(8.0))
        assert loop.latest()[1] == pytest.approx(8.0)
        assert not loop.set_command(NAN, 0.0)
        assert not loop.set_wheel_feedback(0.0, INF)
        assert not loop.set_imu_yaw_rate(NAN)
    finally:
        loop.stop()
    s = loop.stats()
    assert s["rejected"] == 3
    assert s["cycles"] > 0 and s["drops"] == 0
    assert s["rt_priority_applied"] is False and s["mlock_applied"] is False
    assert not loop.running


def test_base_control_loop_command_timeout_zeroes_wheels():
    loop = rt.BaseControlLoop(rate_hz=200.0, command_timeout=0.1, max_linear_accel=100.0)
    loop.start()
    try:
        # keep commanding until the loop has acted on it (robust to a stalled, loaded machine)
        def moving():
            loop.set_command(0.3, 0.0)
            s = loop.latest()
            return s is not None and not s[8] and s[1] > 0

        wait_for(moving)
        stamp = time.monotonic()  # the last command was stamped before this
        # no new command: zero, flagged, from the first cycle after the timeout expired
        sample = wait_for(
            lambda: (lambda s: s if s[8] and s[0] > stamp + 0.1 else None)(loop.latest())
        )
        assert sample[1] == 0.0 and sample[2] == 0.0
        wait_for(lambda: loop.latest()[0] > stamp + 0.3)
        rows = loop.drain()
        late = [r for r in rows if r[0] > stamp + 0.1]
        assert late and all(r[8] and r[1] == 0.0 and r[2] == 0.0 for r in late)
        assert any(not r[8] and r[1] > 0 for r in rows)  # it did move before
    finally:
        loop.stop()


def test_base_control_loop_uses_fresh_feedback_for_odometry():
    loop = rt.BaseControlLoop(
        rate_hz=200.0,
        use_feedback=True,
        command_timeout=5.0,
        feedback_timeout=5.0,
        imu_yaw_weight=1.0,
    )
    loop.start()
    try:
        loop.set_command(0.0, 0.0)
        loop.set_wheel_feedback(3.0, 3.0)
        loop.set_imu_yaw_rate(0.25)
        s = wait_for(lambda: (lambda s: s if s and s[6] > 0 else None)(loop.latest()))
        assert s[6] == pytest.approx(3.0 * 0.033)  # measured, while the command is 0
        assert s[7] == pytest.approx(0.25)  # heading rate from the gyro
        assert s[1] < 0.0  # PID counters the overspeed
    finally:
        loop.stop()


def test_ring_drops_oldest_when_not_drained():
    loop = rt.BaseControlLoop(rate_hz=1000.0, ring_capacity=16)
    loop.start()
    try:
        wait_for(lambda: loop.stats()["drops"] > 0)
    finally:
        loop.stop()
    rows = loop.drain()
    assert len(rows) == 16
    s = loop.stats()
    assert s["drops"] + len(rows) == s["cycles"]
    assert rows[-1] == loop.latest()


def test_invalid_configuration_raises():
    with pytest.raises(ValueError):
        rt.BaseControlLoop(rate_hz=0.0)
    with pytest.raises(ValueError):
        rt.BaseControlLoop(wheel_radius=-1.0)
    with pytest.raises(ValueError):
        rt.BaseControlLoop(imu_yaw_weight=2.0)
    with pytest.raises(ValueError):
        rt.LoopRunner(100.0, priority=200)


def test_stop_is_clean_and_idempotent_and_restartable():
    loop = rt.BaseControlLoop(rate_hz=500.0)
    assert loop.start()
    assert not loop.start()
    wait_for(lambda: loop.stats()["cycles"] > 5)
    loop.stop()
    n = loop.stats()["cycles"]
    time.sleep(0.05)
    assert loop.stats()["cycles"] == n
    loop.stop()
    assert loop.start()
    wait_for(lambda: loop.stats()["cycles"] > 2)
    del loop  # destructor stops the thread


def test_rate_limiter_brake_and_loop_authority_bindings():
    lim = rt.RateLimiter(1.0, 1.0)
    lim.reset(0.5)
    assert lim.brake(0.01, 5.0) == pytest.approx(0.45)
    assert lim.brake(1.0, 5.0) == 0.0
    loop = rt.BaseControlLoop(
        command_timeout=10.0, max_linear_accel=1.0, emergency_linear_decel=5.0
    )
    assert loop.authority is True
    loop.set_authority(False)
    assert loop.authority is False
    loop.set_authority(True)
    assert loop.authority is True
    with pytest.raises(ValueError, match="emergency_linear_decel"):
        rt.BaseControlLoop(max_linear_accel=2.0, emergency_linear_decel=1.0)


def _x(loop):
    s = loop.latest()
    return None if s is None else s[3]


def test_base_control_loop_odometry_from_wheel_positions_and_stamps():
    # positions: the pose is the wheel geometry of their change, whatever the loop's clock
    loop = rt.BaseControlLoop(rate_hz=200.0, command_timeout=5.0, feedback_timeout=5.0)
    loop.start()
    try:
        assert loop.set_wheel_state(10.0, position=(1.0, 1.0))  # latches
        assert loop.set_wheel_state(10.5, velocity=(4.0, 4.0), position=(3.0, 3.0))
        wait_for(lambda: _x(loop) == pytest.approx(2.0 * 0.033, abs=1e-12))
        assert not loop.set_wheel_state(11.0)  # neither velocity nor position
        assert not loop.set_wheel_state(11.0, position=(NAN, 0.0))
    finally:
        loop.stop()
    # no positions: velocity x the stamps' difference (0.1 s), not the loop's time
    loop = rt.BaseControlLoop(rate_hz=200.0, command_timeout=5.0, feedback_timeout=5.0)
    loop.start()
    try:
        assert loop.set_wheel_feedback(10.0, 10.0, 100.0)
        assert loop.set_wheel_feedback(10.0, 10.0, 100.1)
        wait_for(lambda: _x(loop) == pytest.approx(1.0 * 0.033, abs=1e-9))
    finally:
        loop.stop()
