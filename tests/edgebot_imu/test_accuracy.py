"""Orientation accuracy against the trajectory's ground truth, in process and faster than real
time: register model (noise, bias, bias drift) -> MPU-6050 driver -> the node's processing
chain (glitch filter, start-up bias, bias estimator, edgebot_rt Madgwick) on a simulated clock."""

import math

from edgebot_imu import quat as Q
from edgebot_imu.calibration import Calibration, StillLimits, accel_offset_level, check_still, stats
from edgebot_imu.core import Fusion, GlitchFilter, GyroBiasEstimator, ImuProcessor
from edgebot_imu.motion import make_trajectory
from edgebot_imu.mpu6050 import Mpu6050
from edgebot_imu.virtual_imu import LocalBus, make_model


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def run(trajectory, seconds, rate=100.0, seed=0, start_cal_s=2.0, bias_estimation=True):
    """Yields (t, estimated q, true q, processor): first the calibration workflow (level, still:
    accel offsets and gyro bias, as imu/calibrate does), then the trajectory from t = 0."""
    clock = Clock()
    model = make_model(
        "mpu6050", motion=make_trajectory("static"), clock=clock, seed=seed, noise=True
    )
    drv = Mpu6050(LocalBus(model), rate_hz=rate, dlpf_cfg=3, sleep=lambda s: None)
    drv.configure()
    dt = 1.0 / rate
    n_cal = int(start_cal_s * rate)
    cal_samples = []
    for k in range(n_cal):
        clock.t = (k + 0.5) * dt
        cal_samples.append(drv.read())
    st = stats(cal_samples)
    assert check_still(st, StillLimits()) is None
    offset, why = accel_offset_level(st, StillLimits())
    assert why is None
    cal = Calibration("mpu6050", gyro_bias=st.gyro_mean, accel_offset=offset)
    # the robot now starts its trajectory (time of the trajectory restarts at 0)
    model.motion = trajectory
    model.t0 = clock.t
    bias = GyroBiasEstimator(block=int(0.5 * rate), bias=cal.gyro_bias, enabled=bias_estimation)
    proc = ImuProcessor(cal, GlitchFilter(), bias, Fusion(0.05, 0.0), chip_orientation=False)
    assert proc.fusion.source.startswith("edgebot_rt")
    t_start = clock.t
    k = 0
    while k * dt < seconds:
        clock.t = t_start + (k + 0.5) * dt
        out = proc.process(drv.read(), dt)
        k += 1
        if out is not None and out.orientation is not None:
            yield clock.t - t_start, out.orientation, model.last_truth.orientation, proc


def test_static_tilted_within_half_a_degree():
    traj = make_trajectory("static", roll_deg=12.0, pitch_deg=-7.0, yaw_deg=0.0)
    errs = [
        (Q.tilt_deg(q, q_true), abs(Q.yaw_diff_deg(q, q_true)))
        for t, q, q_true, _ in run(traj, 40.0, seed=1)
        if t > 20.0
    ]
    assert errs
    assert max(e[0] for e in errs) <= 0.5
    assert max(e[1] for e in errs) <= 0.5


def test_dynamic_rotation_rms_within_two_degrees():
    traj = make_trajectory("rotate", rate_dps=45.0, wobble_deg=15.0, lead_in=3.0)
    sq = []
    for t, q, q_true, _ in run(traj, 63.0, seed=2):
        if t > 3.0:
            sq.append(Q.angle_deg(q, q_true) ** 2)
    rms = math.sqrt(sum(sq) / len(sq))
    assert rms <= 2.0, rms


def test_figure_eight_rms_within_two_degrees():
    """Drives a figure eight (starting at 45° heading): an IMU-only filter has no heading
    reference, so the truth is compared after aligning the initial heading."""
    traj = make_trajectory("figure-eight", size_m=1.0, period_s=15.0, lead_in=3.0)
    sq = []
    align = None
    for t, q, q_true, _ in run(traj, 63.0, seed=3):
        if align is None:
            align = Q.from_euler(0.0, 0.0, math.radians(Q.yaw_diff_deg(q, q_true)))
        if t > 3.0:
            sq.append(Q.angle_deg(q, Q.mul(align, q_true)) ** 2)
    rms = math.sqrt(sum(sq) / len(sq))
    assert rms <= 2.0, rms


def test_yaw_drift_with_bias_estimation_ten_simulated_minutes():
    """A realistic MPU-6050 (±2 °/s initial bias, random-walk drift) over 10 minutes of
    stop-and-go turning: heading drift stays within 1°/min."""
    traj = make_trajectory("stop-and-go", step_deg=90.0, still_s=8.0, turn_s=6.0)
    first = last = None
    proc = None
    for t, q, q_true, proc in run(traj, 600.0, rate=100.0, seed=4):  # noqa: B007 (read after the loop)
        if first is None and t > 3.0:
            first = (t, Q.yaw_diff_deg(q, q_true))
        last = (t, Q.yaw_diff_deg(q, q_true))
    minutes = (last[0] - first[0]) / 60.0
    drift = abs(last[1] - first[1]) / minutes
    assert proc.bias.updates > 10
    assert drift <= 1.0, f"yaw drift {drift:.3f} deg/min"
