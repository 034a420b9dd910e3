"""The IMU processing chain between driver and messages (ROS-free):

    driver.read()  --RetryingReader (retries, error counts)-->  ImuSample
      --GlitchFilter (drop spikes)--> calibration offsets --GyroBiasEstimator (at rest)-->
      --Fusion (edgebot_rt Madgwick, NaN -> reset)-->  orientation

``ImuProcessor`` holds the chain; the node and the in-process accuracy tests both use it.
"""

from __future__ import annotations

import errno
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .calibration import Calibration
from .sample import GRAVITY, ImuSample


# --------------------------------------------------------------------------------------------
class GlitchFilter:
    """Drops samples that no rigid body can produce: beyond absolute limits, or jumping from
    the last accepted sample by more than a limit in one sample. When ``max_consecutive``
    dropped samples in a row agree with each other (within the jump limits), the new level is
    real (a bump, a re-mounted sensor) and is accepted; counted as a resync."""

    def __init__(
        self,
        max_accel: float = 156.0,
        max_gyro: float = 35.0,
        max_accel_jump: float = 30.0,
        max_gyro_jump: float = 5.0,
        max_consecutive: int = 5,
    ):
        self.max_accel, self.max_gyro = max_accel, max_gyro
        self.max_accel_jump, self.max_gyro_jump = max_accel_jump, max_gyro_jump
        self.max_consecutive = max_consecutive
        self._last: ImuSample | None = None
        self._pending: ImuSample | None = None
        self._run = 0
        self.resyncs = 0

    def reset(self) -> None:
        self._last = None
        self._pending = None
        self._run = 0

    def _jump(self, a: ImuSample, b: ImuSample) -> str | None:
        if max(abs(x - y) for x, y in zip(a.accel, b.accel)) > self.max_accel_jump:
            return "accel_jump"
        if max(abs(x - y) for x, y in zip(a.gyro, b.gyro)) > self.max_gyro_jump:
            return "gyro_jump"
        return None

    def check(self, s: ImuSample) -> str | None:
        """None to keep the sample, else the reason it is dropped."""
        vals = s.accel + s.gyro + (s.orientation or ())
        if not all(math.isfinite(v) for v in vals):
            return "non_finite"
        if s.orientation is not None:
            n = math.sqrt(sum(v * v for v in s.orientation))
            if abs(n - 1.0) > 0.05:
                return "bad_quaternion"
        if max(abs(v) for v in s.accel) > self.max_accel:
            return "accel_limit"
        if max(abs(v) for v in s.gyro) > self.max_gyro:
            return "gyro_limit"
        reason = self._jump(s, self._last) if self._last is not None else None
        if reason is None:
            self._last, self._pending, self._run = s, None, 0
            return None
        if self._pending is not None and self._jump(s, self._pending) is None:
            self._run += 1
        else:
            self._run = 1
        self._pending = s
        if self._run >= self.max_consecutive:
            self.resyncs += 1
            self._last, self._pending, self._run = s, None, 0
            return None
        return reason


# --------------------------------------------------------------------------------------------
class GyroBiasEstimator:
    """Follows the gyro bias while the robot stands still.

    Samples are grouped in blocks of ``block`` samples; a block counts as still when each gyro
    axis varies less than ``still_gyro_std`` and the accel less than ``still_accel_std``, and
    its mean rate is within ``max_step`` of the current bias estimate (a slow steady turn is
    not mistaken for bias). Only after ``still_blocks`` still blocks in a row (a turn passing
    slowly through zero rate is not a stop) the estimate moves by ``gain`` towards the mean of
    those blocks. Returns bias-corrected rates."""

    def __init__(
        self,
        block: int = 100,
        still_gyro_std: float = 0.005,
        still_accel_std: float = 0.1,
        max_step: float = 0.005,
        gain: float = 0.3,
        bias: tuple[float, float, float] = (0.0, 0.0, 0.0),
        enabled: bool = True,
        still_blocks: int = 3,
    ):
        self.block, self.gain = max(2, int(block)), gain
        self.still_blocks = max(1, int(still_blocks))
        self._still_means: list = []
        self.still_gyro_std, self.still_accel_std, self.max_step = (
            still_gyro_std,
            still_accel_std,
            max_step,
        )
        self.bias = list(bias)
        self.enabled = enabled
        self.updates = 0
        self._clear()

    def _clear(self):
        self._n = 0
        self._sg = [0.0] * 3
        self._sg2 = [0.0] * 3
        self._sa = [0.0] * 3
        self._sa2 = [0.0] * 3

    def set_bias(self, bias) -> None:
        self.bias = list(bias)
        self._still_means = []
        self._clear()

    def update(self, gyro, accel) -> tuple[float, float, float]:
        if self.enabled:
            for i in range(3):
                g, a = gyro[i], accel[i]
                self._sg[i] += g
                self._sg2[i] += g * g
                self._sa[i] += a
                self._sa2[i] += a * a
            self._n += 1
            if self._n >= self.block:
                self._close_block()
        b = self.bias
        return (gyro[0] - b[0], gyro[1] - b[1], gyro[2] - b[2])

    def _close_block(self):
        n = self._n
        mean_g = [s / n for s in self._sg]
        var_g = [max(0.0, (self._sg2[i] - n * mean_g[i] ** 2) / (n - 1)) for i in range(3)]
        mean_a = [s / n for s in self._sa]
        var_a = [max(0.0, (self._sa2[i] - n * mean_a[i] ** 2) / (n - 1)) for i in range(3)]
        self._clear()
        still = (
            max(var_g) <= self.still_gyro_std**2
            and max(var_a) <= self.still_accel_std**2
            and max(abs(mean_g[i] - self.bias[i]) for i in range(3)) <= self.max_step
        )
        if not still:
            self._still_means = []
            return
        self._still_means.append(mean_g)
        if len(self._still_means) < self.still_blocks:
            return
        k = len(self._still_means)
        mean = [sum(m[i] for m in self._still_means) / k for i in range(3)]
        self._still_means = self._still_means[1:]
        self.bias = [b + self.gain * (m - b) for b, m in zip(self.bias, mean)]
        self.updates += 1


# --------------------------------------------------------------------------------------------
def load_madgwick() -> tuple[type, str]:
    """(Madgwick class, source text): edgebot_rt's C++ filter, else the Python reference."""
    try:
        import edgebot_rt as rt

        return rt.Madgwick, "edgebot_rt (C++)"
    except ImportError as e:
        why = str(e)
    from edgebot_common.reference import Madgwick  # the Python fallback

    return Madgwick, f"edgebot_common.reference (Python fallback; edgebot_rt: {why})"


class Fusion:
    """Madgwick orientation with initialisation from gravity and NaN recovery (counted).

    ``accel_gate``: when |a| differs from g by more than this (m/s²), the step uses the gyro
    only (the filter skips the correction for a zero accel vector), so hard braking or a bump
    does not tilt the estimate."""

    def __init__(
        self, beta: float = 0.1, zeta: float = 0.0, accel_gate: float = 2.0, madgwick_cls=None
    ):
        if madgwick_cls is None:
            madgwick_cls, self.source = load_madgwick()
        else:
            self.source = getattr(madgwick_cls, "__module__", "?")
        self.filter = madgwick_cls(beta=beta, zeta=zeta)
        self.accel_gate = accel_gate
        self.initialized = False
        self.resets = 0  # NaN/inf inside the filter -> reset and re-initialised
        self.rejected = 0  # inputs the filter refused (non-finite, dt <= 0)
        self.gated = 0

    def reset(self) -> None:
        self.filter.reset()
        self.initialized = False

    def update(self, gyro, accel, dt: float) -> tuple[float, float, float, float] | None:
        f = self.filter
        if not self.initialized:
            if not f.init_from_accel(*accel):
                return None
            self.initialized = True
            return tuple(f.quaternion)
        before = f.nan_resets
        a = accel
        if (
            self.accel_gate > 0
            and abs(math.sqrt(sum(v * v for v in a)) - GRAVITY) > self.accel_gate
        ):
            a = (0.0, 0.0, 0.0)
            self.gated += 1
        ok = f.update_imu(gyro[0], gyro[1], gyro[2], a[0], a[1], a[2], dt)
        if not ok:
            if f.nan_resets != before:
                self.resets += 1
                self.initialized = bool(f.init_from_accel(*accel))
                if not self.initialized:
                    return None
            else:
                self.rejected += 1
        q = tuple(f.quaternion)
        if not all(math.isfinite(v) for v in q):
            self.resets += 1
            f.reset()
            self.initialized = False
            return None
        return q


# --------------------------------------------------------------------------------------------
@dataclass
class Processed:
    sample: ImuSample  # calibrated (offsets and bias removed)
    orientation: tuple[float, float, float, float] | None


class ImuProcessor:
    """Glitch filter -> calibration -> gyro bias -> orientation (Madgwick or the chip's)."""

    def __init__(
        self,
        calibration: Calibration,
        glitch: GlitchFilter,
        bias: GyroBiasEstimator,
        fusion: Fusion | None,
        chip_orientation: bool,
    ):
        self.cal = calibration
        self.glitch = glitch
        self.bias = bias
        self.fusion = fusion
        self.chip_orientation = chip_orientation
        self.dropped: Counter = Counter()
        self.accepted = 0

    def process(self, raw: ImuSample, dt: float) -> Processed | None:
        reason = self.glitch.check(raw)
        if reason is not None:
            self.dropped[reason] += 1
            return None
        off = self.cal.accel_offset
        accel = (raw.accel[0] - off[0], raw.accel[1] - off[1], raw.accel[2] - off[2])
        gyro = self.bias.update(raw.gyro, accel)
        q = None
        if self.chip_orientation:
            q = raw.orientation
        elif self.fusion is not None and dt > 0:
            q = self.fusion.update(gyro, accel, dt)
        self.accepted += 1
        return Processed(
            ImuSample(accel, gyro, raw.temperature, raw.orientation, raw.calib_status), q
        )


# --------------------------------------------------------------------------------------------
BUS_ERROR_NAMES = {
    errno.EIO: "EIO",
    errno.EREMOTEIO: "EREMOTEIO",
    errno.ENXIO: "ENXIO",
    errno.ETIMEDOUT: "ETIMEDOUT",
    errno.EAGAIN: "EAGAIN",
    errno.ECONNREFUSED: "ECONNREFUSED",
    errno.ECONNRESET: "ECONNRESET",
}


def errno_name(e: OSError) -> str:
    return BUS_ERROR_NAMES.get(e.errno, errno.errorcode.get(e.errno or 0, "OSError"))


class RetryingReader:
    """Calls ``read()`` up to ``1 + retries`` times on OSError; counts every error by errno.
    Raises the last OSError when all attempts failed (the caller then reconnects)."""

    def __init__(self, retries: int = 2, on_error: Callable[[str, OSError], None] | None = None):
        self.retries = retries
        self.errors: Counter = Counter()
        self.retried_ok = 0
        self.failures = 0
        self._on_error = on_error

    def call(self, fn: Callable[[], object]):
        last = None
        for attempt in range(self.retries + 1):
            try:
                v = fn()
                if attempt:
                    self.retried_ok += 1
                return v
            except OSError as e:
                last = e
                name = errno_name(e)
                self.errors[name] += 1
                if self._on_error:
                    self._on_error(name, e)
        self.failures += 1
        raise last
