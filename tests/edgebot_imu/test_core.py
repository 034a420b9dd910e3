"""ROS-free pieces of the chain: glitch filter, bias estimator, fusion NaN recovery, retries,
calibration file."""

import errno
import math

import pytest

from edgebot_imu.calibration import Calibration, CalibrationFileError, default_path
from edgebot_imu.core import Fusion, GlitchFilter, GyroBiasEstimator, RetryingReader
from edgebot_imu.sample import GRAVITY, ImuSample


def s(ax=0.0, gz=0.0):
    return ImuSample((ax, 0.0, GRAVITY), (0.0, 0.0, gz))


def test_glitch_filter_drops_isolated_spikes_and_accepts_a_real_step():
    f = GlitchFilter(max_accel_jump=30.0, max_gyro_jump=5.0, max_consecutive=5)
    assert f.check(s()) is None
    assert f.check(s(ax=-80.0)) == "accel_jump"
    assert f.check(s()) is None
    assert f.check(s(gz=-8.7)) == "gyro_jump"
    assert f.check(s(gz=0.01)) is None
    assert f.check(ImuSample((math.nan, 0, 0), (0, 0, 0))) == "non_finite"
    assert f.check(s(ax=200.0)) == "accel_limit"
    # a real, lasting change (sensor knocked to a new level): accepted after 5 agreeing samples
    reasons = [f.check(s(gz=6.0)) for _ in range(6)]
    assert reasons[:4] == ["gyro_jump"] * 4 and reasons[4] is None and reasons[5] is None
    assert f.resyncs == 1
    assert (
        GlitchFilter().check(ImuSample((0, 0, GRAVITY), (0, 0, 0), orientation=(2, 0, 0, 0)))
        == "bad_quaternion"
    )


def test_bias_estimator_learns_only_while_still():
    est = GyroBiasEstimator(block=10, still_blocks=2, gain=1.0, max_step=0.05)
    for _ in range(40):
        est.update((0.02, -0.01, 0.03), (0.0, 0.0, GRAVITY))
    assert est.bias == pytest.approx([0.02, -0.01, 0.03])
    # turning (varying rate) does not move it
    for k in range(100):
        est.update((0.0, 0.0, 0.5 * math.sin(k / 5)), (0.0, 0.0, GRAVITY))
    assert est.bias == pytest.approx([0.02, -0.01, 0.03])
    # a steady turn far from the bias is not mistaken for bias
    for _ in range(100):
        est.update((0.02, -0.01, 0.5), (0.0, 0.0, GRAVITY))
    assert est.bias[2] == pytest.approx(0.03)
    assert est.update((0.02, -0.01, 0.03), (0, 0, GRAVITY)) == pytest.approx((0, 0, 0))


def test_fusion_recovers_from_nan_and_counts():
    f = Fusion(0.05, 0.0)
    assert f.update((0, 0, 0), (0, 0, GRAVITY), 0.01) is not None
    assert f.update((0.1, 0, 0), (0, 0, GRAVITY), 0.01) is not None
    # inputs the filter refuses are counted, the state survives
    assert f.update((math.nan, 0, 0), (0, 0, GRAVITY), 0.01) is not None
    assert f.rejected == 1
    # an overflow inside the filter -> reset, re-initialised from gravity, counted
    q = f.update((1e308, 1e308, 1e308), (0, 0, GRAVITY), 1e10)
    assert f.resets == 1 and q is not None and all(math.isfinite(v) for v in q)
    assert f.filter.nan_resets == 1


def test_retrying_reader_counts_and_gives_up():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError(errno.EIO, "x")
        return 42

    r = RetryingReader(retries=2)
    assert r.call(flaky) == 42 and r.errors["EIO"] == 2 and r.retried_ok == 1

    def dead():
        raise OSError(errno.EREMOTEIO, "nack")

    with pytest.raises(OSError):
        r.call(dead)
    assert r.errors["EREMOTEIO"] == 3 and r.failures == 1


def test_calibration_file_round_trip_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = default_path("mpu6050", "i2c-1", 0x68)
    assert path == str(tmp_path / "edgebot" / "imu_mpu6050_i2c-1_68.yaml")
    assert Calibration.load(path, "mpu6050") is None
    Calibration("mpu6050", [0.01, 0.02, 0.03], [0.1, 0.2, 0.3], samples=5).save(path)
    c = Calibration.load(path, "mpu6050")
    assert c.gyro_bias == [0.01, 0.02, 0.03] and c.accel_offset == [0.1, 0.2, 0.3]
    with pytest.raises(CalibrationFileError):
        Calibration.load(path, "bno055")
    (tmp_path / "bad.yaml").write_text("chip: mpu6050\ngyro_bias: [1, .nan, 2]\n")
    with pytest.raises(CalibrationFileError):
        Calibration.load(str(tmp_path / "bad.yaml"), "mpu6050")


def test_fusion_prefers_edgebot_rt_and_falls_back_to_the_reference_explicitly(monkeypatch):
    import sys

    from edgebot_imu.core import load_madgwick

    cls, source = load_madgwick()
    assert source.startswith("edgebot_rt")
    monkeypatch.setitem(sys.modules, "edgebot_rt", None)  # as if it could not be imported
    cls, source = load_madgwick()
    assert "reference" in source and "Python fallback" in source
    f = Fusion(0.05, 0.0)
    assert "reference" in f.source
    q = None
    for _ in range(10):
        q = f.update((0.0, 0.0, 0.1), (0.0, 0.0, GRAVITY), 0.01)
    assert q is not None and abs(sum(v * v for v in q) - 1.0) < 1e-9
