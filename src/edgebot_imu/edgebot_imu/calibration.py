"""IMU calibration: stillness check, measurement, YAML file on disk (ROS-free).

File (one per chip, bus and address), e.g. ``~/.local/share/edgebot/imu_mpu6050_i2c-1_68.yaml``::

    chip: mpu6050
    gyro_bias: [0.0123, -0.0201, 0.0046]     # rad/s, subtracted from the readings
    accel_offset: [0.21, -0.35, 0.12]       # m/s², subtracted (measured level, z up)
    bno055_offsets: null                     # or the chip's 22 offset bytes
    created: '2026-11-23T23:50:00Z'
    samples: 400
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import pathlib
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml

from .sample import GRAVITY, ImuSample


class CalibrationFileError(ValueError):
    pass


def default_path(chip: str, bus_label: str, address: int) -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "edgebot", f"imu_{chip}_{bus_label}_{address:02x}.yaml")


@dataclass
class Calibration:
    chip: str
    gyro_bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    accel_offset: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    bno055_offsets: list[int] | None = None
    created: str = ""
    samples: int = 0

    def to_dict(self) -> dict:
        return {
            "chip": self.chip,
            "gyro_bias": [float(v) for v in self.gyro_bias],
            "accel_offset": [float(v) for v in self.accel_offset],
            "bno055_offsets": None
            if self.bno055_offsets is None
            else [int(v) for v in self.bno055_offsets],
            "created": self.created,
            "samples": int(self.samples),
        }

    @classmethod
    def from_dict(cls, d: dict, where: str = "calibration") -> Calibration:
        if not isinstance(d, dict) or "chip" not in d:
            raise CalibrationFileError(f"{where}: not a calibration file (no 'chip')")

        def vec(key):
            v = d.get(key, [0.0, 0.0, 0.0])
            if (
                not isinstance(v, list)
                or len(v) != 3
                or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)
            ):
                raise CalibrationFileError(f"{where}: '{key}' must be three finite numbers")
            return [float(x) for x in v]

        offs = d.get("bno055_offsets")
        if offs is not None and (
            not isinstance(offs, list)
            or len(offs) != 22
            or not all(isinstance(x, int) and 0 <= x <= 255 for x in offs)
        ):
            raise CalibrationFileError(f"{where}: 'bno055_offsets' must be 22 bytes")
        return cls(
            chip=str(d["chip"]),
            gyro_bias=vec("gyro_bias"),
            accel_offset=vec("accel_offset"),
            bno055_offsets=offs,
            created=str(d.get("created", "")),
            samples=int(d.get("samples", 0)),
        )

    def save(self, path: str) -> None:
        """Atomic write (temp file + rename) so a crash never leaves half a file."""
        p = pathlib.Path(path).expanduser()
        p.parent.mkdir(parents=True, exist_ok=True)
        if not self.created:
            self.created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        fd, tmp = tempfile.mkstemp(prefix=p.name, dir=str(p.parent))
        with os.fdopen(fd, "w") as f:
            f.write("# edgebot IMU calibration (written by imu_node's imu/calibrate)\n")
            yaml.safe_dump(self.to_dict(), f, sort_keys=False)
        os.replace(tmp, p)

    @classmethod
    def load(cls, path: str, chip: str) -> Calibration | None:
        """None when there is no file; CalibrationFileError for a bad or foreign one."""
        p = pathlib.Path(path).expanduser()
        if not p.exists():
            return None
        try:
            data = yaml.safe_load(p.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise CalibrationFileError(f"{p}: cannot read: {e}") from None
        cal = cls.from_dict(data, str(p))
        if cal.chip != chip:
            raise CalibrationFileError(f"{p}: calibration of a {cal.chip}, not a {chip}")
        return cal


@dataclass
class StillStats:
    n: int
    gyro_mean: list[float]
    gyro_std: list[float]
    accel_mean: list[float]
    accel_std: list[float]


def stats(samples: Sequence[ImuSample]) -> StillStats:
    n = len(samples)
    if n < 2:
        raise ValueError("need at least two samples")
    out = []
    for attr in ("gyro", "accel"):
        mean = [sum(getattr(s, attr)[i] for s in samples) / n for i in range(3)]
        std = [
            math.sqrt(sum((getattr(s, attr)[i] - mean[i]) ** 2 for s in samples) / (n - 1))
            for i in range(3)
        ]
        out += [mean, std]
    return StillStats(n, out[0], out[1], out[2], out[3])


@dataclass
class StillLimits:
    gyro_std: float = 0.01  # rad/s per axis
    accel_std: float = 0.15  # m/s² per axis
    gyro_mean: float = 0.2  # rad/s per axis: more than any plausible bias = turning
    level_tilt_deg: float = 10.0  # for the accel offset: the robot must stand level


def check_still(s: StillStats, lim: StillLimits) -> str | None:
    """None when still; otherwise why not (for the user)."""
    gs, as_ = max(s.gyro_std), max(s.accel_std)
    gm = max(abs(v) for v in s.gyro_mean)
    if gs > lim.gyro_std:
        return f"robot is moving: gyro std {gs:.4f} rad/s > {lim.gyro_std}"
    if as_ > lim.accel_std:
        return f"robot is moving: accel std {as_:.3f} m/s² > {lim.accel_std}"
    if gm > lim.gyro_mean:
        return f"robot is turning: mean rate {gm:.3f} rad/s > {lim.gyro_mean}"
    return None


def accel_offset_level(s: StillStats, lim: StillLimits):
    """(offset, None) for a level robot (gravity on +z), or (None, reason)."""
    ax, ay, az = s.accel_mean
    tilt = math.degrees(math.atan2(math.hypot(ax, ay), az))
    if tilt > lim.level_tilt_deg:
        return None, f"robot is not level: tilt {tilt:.1f}° > {lim.level_tilt_deg}°"
    return [ax, ay, az - GRAVITY], None


class SampleCollector:
    """Collects ``n`` raw samples from the read thread for a calibration (thread-safe hand-over:
    the requester waits on :meth:`wait`; a start-up collection calls ``on_done`` instead)."""

    def __init__(self):
        self._samples: list | None = None
        self._n = 0
        self._on_done = None
        self.collected: list = []
        self._done = threading.Event()

    @property
    def running(self) -> bool:
        return self._samples is not None

    def begin(self, n: int, on_done=None) -> None:
        self._done.clear()
        self._n = n
        self._on_done = on_done
        self._samples = []

    def feed(self, raw) -> None:
        c = self._samples
        if c is None:
            return
        c.append(raw)
        if len(c) >= self._n:
            self._samples = None
            self.collected = c
            if self._on_done is not None:
                self._on_done(c)
            else:
                self._done.set()

    def wait(self, timeout: float) -> bool:
        """True when the samples are in ``collected``; False (collection abandoned) on timeout."""
        if self._done.wait(timeout):
            return True
        self._samples = None
        return False
