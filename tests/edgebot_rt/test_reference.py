"""edgebot_rt against the pure-Python reference (edgebot_common.reference) on the same
samples, and the Madgwick filter's orientation error on synthetic trajectories."""

import math

import numpy as np
import pytest

import edgebot_rt as rt
from edgebot_common import reference

G = np.array([0.0, 0.0, 9.81])
MAG = np.array([0.22, 0.0, -0.42])  # earth field: north (x) and down, in gauss


# ------------------------------------------------------------------ quaternion helpers (w, x, y, z)
def qmul(a, b):
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def qconj(q):
    return np.array([q[0], -q[1], -q[2], -q[3]])


def to_sensor(q, v):
    """World vector into the sensor frame: R(q)^T v."""
    return qmul(qmul(qconj(q), np.array([0.0, *v])), q)[1:]


def exp_step(omega, dt):
    """Rotation quaternion of body rate omega (rad/s) applied for dt."""
    n = float(np.linalg.norm(omega))
    if n * dt < 1e-15:
        return np.array([1.0, 0.0, 0.0, 0.0])
    half = 0.5 * n * dt
    return np.array([math.cos(half), *(math.sin(half) * omega / n)])


def angle_deg(a, b):
    return math.degrees(2.0 * math.acos(min(1.0, abs(float(np.dot(a, b))))))


def tilt_deg(a, b):
    """Angle between the gravity directions two orientations predict (yaw-free)."""
    ga, gb = to_sensor(a, [0, 0, 1]), to_sensor(b, [0, 0, 1])
    return math.degrees(math.acos(min(1.0, float(np.dot(ga, gb)))))


def trajectory(
    seconds,
    rate,
    seed,
    still=False,
    gyro_bias=(0.0, 0.0, 0.0),
    gyro_noise=0.005,
    accel_noise=0.05,
    mag_noise=0.005,
    q0=None,
):
    """Truth quaternions and noisy gyro/accel/mag of a body rotating about a fixed point."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / rate
    n = int(seconds * rate)
    q = np.array([1.0, 0.0, 0.0, 0.0]) if q0 is None else np.asarray(q0, float)
    truth, samples = [], []
    for k in range(n):
        t = k * dt
        omega = (
            np.zeros(3)
            if still
            else np.array(
                [
                    0.6 * math.sin(0.7 * t),
                    0.5 * math.sin(1.1 * t + 1.0),
                    0.9 * math.sin(0.45 * t + 0.3),
                ]
            )
        )
        # integrate over the sample interval in small steps, gyro = mean rate
        sub = 2
        for j in range(sub):
            ts = t + (j + 0.5) * dt / sub
            om = (
                np.zeros(3)
                if still
                else np.array(
                    [
                        0.6 * math.sin(0.7 * ts),
                        0.5 * math.sin(1.1 * ts + 1.0),
                        0.9 * math.sin(0.45 * ts + 0.3),
                    ]
                )
            )
            q = qmul(q, exp_step(om, dt / sub))
        q /= np.linalg.norm(q)
        gyro = (
            omega
            if still
            else np.array(
                [
                    0.6 * math.sin(0.7 * (t + dt / 2)),
                    0.5 * math.sin(1.1 * (t + dt / 2) + 1.0),
                    0.9 * math.sin(0.45 * (t + dt / 2) + 0.3),
                ]
            )
        )
        gyro = gyro + np.asarray(gyro_bias) + rng.normal(0, gyro_noise, 3)
        acc = to_sensor(q, G) + rng.normal(0, accel_noise, 3)
        mag = to_sensor(q, MAG) + rng.normal(0, mag_noise, 3)
        truth.append(q.copy())
        samples.append((*gyro, *acc, *mag, dt))
    return np.array(truth), np.array(samples)


# ------------------------------------------------------------------ cross-checks
def test_madgwick_matches_python_reference_imu_and_marg():
    _, samples = trajectory(10.0, 200, seed=3, gyro_bias=(0.01, -0.02, 0.015))
    for beta, zeta in ((0.1, 0.0), (0.3, 0.02)):
        cpp, py = rt.Madgwick(beta, zeta), reference.Madgwick(beta, zeta)
        cpp_m, py_m = rt.Madgwick(beta, zeta), reference.Madgwick(beta, zeta)
        worst = 0.0
        for r in samples:
            g, a, m, dt = r[0:3], r[3:6], r[6:9], r[9]
            assert cpp.update_imu(*g, *a, dt) == py.update_imu(*g, *a, dt)
            assert cpp_m.update_marg(*g, *a, *m, dt) == py_m.update_marg(*g, *a, *m, dt)
            worst = max(
                worst,
                float(np.max(np.abs(np.subtract(cpp.quaternion, py.quaternion)))),
                float(np.max(np.abs(np.subtract(cpp_m.quaternion, py_m.quaternion)))),
                float(np.max(np.abs(np.subtract(cpp_m.gyro_bias, py_m.gyro_bias)))),
            )
        assert worst < 1e-6
        # the state moved (a comparison of two untouched filters would prove nothing)
        assert angle_deg(cpp_m.quaternion, (1, 0, 0, 0)) > 1.0


def test_madgwick_batch_api_matches_per_sample_calls():
    _, samples = trajectory(2.0, 200, seed=4)
    one, many = rt.Madgwick(0.1, 0.01), rt.Madgwick(0.1, 0.01)
    for r in samples:
        one.update_marg(*r)
    assert many.update_marg_many(samples) == len(samples)
    assert np.allclose(one.quaternion, many.quaternion, atol=0, rtol=0)
    imu_rows = samples[:, [0, 1, 2, 3, 4, 5, 9]].copy()
    imu_rows[5, 0] = np.nan  # one bad row is rejected, the rest accepted
    assert rt.Madgwick().update_imu_many(imu_rows) == len(samples) - 1
    with pytest.raises(ValueError):
        rt.Madgwick().update_imu_many(np.zeros((3, 5)))


def test_madgwick_non_finite_handling_matches_reference():
    for f in (rt.Madgwick(), reference.Madgwick()):
        assert f.update_imu(0.1, 0, 0, 0, 0, 9.8, 0.01)
        before = f.quaternion
        assert not f.update_imu(math.nan, 0, 0, 0, 0, 9.8, 0.01)
        assert not f.update_marg(0, 0, 0, 0, 0, 9.8, 0, math.inf, 0, 0.01)
        assert tuple(f.quaternion) == tuple(before)
        assert not f.update_imu(1e308, 1e308, 1e308, 0, 0, 1, 1e10)
        assert f.nan_resets == 1 and tuple(f.quaternion) == (1.0, 0.0, 0.0, 0.0)


def test_pid_matches_python_reference():
    rng = np.random.default_rng(7)
    for args in (
        (2.0, 4.0, 0.05, -1.0, 1.0, 0.02),
        (0.5, 2.0, 0.0, -20.0, 20.0, 0.0),
        (1.0, 10.0, 0.2, -0.3, 0.5, 0.1),
    ):
        cpp, py = rt.Pid(*args), reference.Pid(*args)
        y = 0.0
        for k in range(3000):
            sp = 1.0 if (k // 500) % 2 == 0 else -0.5
            dt = float(rng.uniform(0.001, 0.01))
            meas = y + float(rng.normal(0, 0.01))
            u_c, u_p = cpp.update(sp, meas, dt), py.update(sp, meas, dt)
            assert u_c == pytest.approx(u_p, abs=1e-9)
            y += dt * (-y + u_c) / 0.3
        assert cpp.integral == pytest.approx(py.integral, abs=1e-9)
        assert cpp.update(math.nan, 0.0, 0.01) == py.update(math.nan, 0.0, 0.01)


def test_pid_closed_loop_settles_on_first_order_plant():
    pid = rt.Pid(2.0, 4.0, 0.05, -10.0, 10.0, d_filter_tau=0.02)
    y, dt, peak, settled = 0.0, 0.005, 0.0, None
    for k in range(2000):
        u = pid.update(1.0, y, dt)
        y += dt * (-y + u) / 0.5
        peak = max(peak, y)
        if abs(y - 1.0) > 0.02:
            settled = None
        elif settled is None:
            settled = k * dt
    assert abs(y - 1.0) < 1e-3
    assert peak < 1.2  # overshoot < 20 %
    assert settled is not None and settled < 3.0  # 2 % band within 3 s


# ------------------------------------------------------------------ orientation error
def run_filter(f, samples, marg):
    est = []
    for r in samples:
        ok = f.update_marg(*r) if marg else f.update_imu(*r[0:6], r[9])
        assert ok
        est.append(np.array(f.quaternion))
    return est


def test_static_orientation_error_below_half_degree():
    q_true = qmul(
        exp_step(np.array([0.0, 0.0, 1.0]), 0.8), exp_step(np.array([1.0, 0.4, 0.0]), 0.35)
    )
    truth, samples = trajectory(30.0, 200, seed=11, still=True, q0=q_true)
    f = rt.Madgwick(beta=0.1)
    f.init_from_accel(*samples[0, 3:6])
    est = run_filter(f, samples, marg=True)
    settled = range(len(est) // 2, len(est))  # after 15 s
    errs = [angle_deg(truth[k], est[k]) for k in settled]
    assert max(errs) <= 0.5, max(errs)
    # IMU only: tilt is observable, yaw is not
    f2 = rt.Madgwick(beta=0.1)
    f2.init_from_accel(*samples[0, 3:6])
    est2 = run_filter(f2, samples, marg=False)
    assert max(tilt_deg(truth[k], est2[k]) for k in settled) <= 0.5


def test_dynamic_orientation_error_below_two_degrees_rms():
    truth, samples = trajectory(60.0, 200, seed=12, gyro_bias=(0.01, -0.008, 0.012))
    f = rt.Madgwick(beta=0.1, zeta=0.01)
    f.init_from_accel(*samples[0, 3:6])
    est = run_filter(f, samples, marg=True)
    start = 10 * 200  # yaw converges from 0 first
    errs = np.array([angle_deg(truth[k], est[k]) for k in range(start, len(est))])
    rms = float(np.sqrt(np.mean(errs**2)))
    assert rms <= 2.0, rms
    f2 = rt.Madgwick(beta=0.1, zeta=0.01)
    f2.init_from_accel(*samples[0, 3:6])
    est2 = run_filter(f2, samples, marg=False)
    tilt = np.array([tilt_deg(truth[k], est2[k]) for k in range(start, len(est2))])
    assert float(np.sqrt(np.mean(tilt**2))) <= 2.0


def test_yaw_follows_rep103_and_marg_finds_north():
    # gyro +z turns the heading counter-clockwise
    f = rt.Madgwick(beta=0.1)
    for _ in range(100):
        f.update_imu(0.0, 0.0, 0.5, 0.0, 0.0, 9.81, 0.01)
    w, x, y, z = f.quaternion
    assert 2 * math.atan2(z, w) == pytest.approx(0.5, abs=1e-3)
    # a body yawed by +40 deg sees north at -40 deg in its own frame: MARG converges to +40 deg
    q_true = exp_step(np.array([0.0, 0.0, 1.0]), math.radians(40.0))
    m, a = to_sensor(q_true, MAG), to_sensor(q_true, G)
    f = rt.Madgwick(beta=0.5)
    for _ in range(2000):
        f.update_marg(0, 0, 0, *a, *m, 0.005)
    f.beta = 0.01  # a small gain ends the limit cycle of the normalised gradient step
    assert f.beta == 0.01
    for _ in range(2000):
        f.update_marg(0, 0, 0, *a, *m, 0.005)
    assert angle_deg(q_true, f.quaternion) < 0.1
