"""imu_node's parameters and processing chain, built from them (ROS-free)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgebot_common.params import ParamSpec

from . import bno055
from .calibration import Calibration, StillLimits
from .core import Fusion, GlitchFilter, GyroBiasEstimator, ImuProcessor


def _diag3(name, default, text):
    return ParamSpec(
        name,
        list(default),
        text,
        item_type=float,
        check=lambda v: (
            None if len(v) == 3 and min(v) >= 0 else "must be three variances >= 0 (the diagonal)"
        ),
    )


SPECS = [
    ParamSpec("chip", "mpu6050", "IMU chip", choices=["mpu6050", "bno055"]),
    ParamSpec(
        "address", 0, "7-bit I2C address (0: the chip's default, 0x68 / 0x28)", min=0, max=0x77
    ),
    ParamSpec(
        "publish_rate",
        200.0,
        "read/publish rate [Hz] (MPU-6050 <= 1000, BNO055 <= 100)",
        renamed_from=("rate_hz",),
        min=1.0,
        max=1000.0,
    ),
    ParamSpec("frame_id", "imu_link", "frame of the messages"),
    ParamSpec(
        "mpu6050.gyro_range_dps", 500, "gyro full scale [deg/s]", choices=[250, 500, 1000, 2000]
    ),
    ParamSpec("mpu6050.accel_range_g", 4, "accel full scale [g]", choices=[2, 4, 8, 16]),
    ParamSpec(
        "mpu6050.use_fifo",
        False,
        "read every sample through the FIFO (batched reads, "
        "chip-clock timestamps; survives a busy host)",
    ),
    ParamSpec(
        "mpu6050.dlpf_cfg", -1, "DLPF_CFG 0..6 (-1: chosen from publish_rate)", min=-1, max=6
    ),
    ParamSpec("bno055.mode", "imu", "fusion mode", choices=list(bno055.FUSION_MODES)),
    _diag3("covariance.orientation", (3e-4, 3e-4, 7.6e-3), "orientation variance diagonal [rad^2]"),
    _diag3("covariance.angular_velocity", (1e-6, 1e-6, 1e-6), "gyro variance diagonal [(rad/s)^2]"),
    _diag3(
        "covariance.linear_acceleration", (1e-3, 1e-3, 1e-3), "accel variance diagonal [(m/s^2)^2]"
    ),
    ParamSpec(
        "calibration.file",
        "",
        "calibration YAML (empty: ~/.local/share/edgebot/imu_<chip>_<bus>_<addr>.yaml)",
    ),
    ParamSpec("calibration.at_start", True, "measure the gyro bias at start (refused if moving)"),
    ParamSpec("calibration.samples", 200, "samples per calibration", min=10, max=100000),
    ParamSpec("calibration.still_gyro_std", 0.01, "still: gyro std below [rad/s]", min=0.0),
    ParamSpec("calibration.still_accel_std", 0.15, "still: accel std below [m/s^2]", min=0.0),
    ParamSpec("calibration.still_gyro_mean", 0.2, "still: |mean rate| below [rad/s]", min=0.0),
    ParamSpec(
        "calibration.level_tilt_deg",
        10.0,
        "accel offsets need the robot level within [deg]",
        min=0.0,
        max=45.0,
    ),
    ParamSpec("bias_estimation.enabled", True, "follow the gyro bias while standing still"),
    ParamSpec(
        "bias_estimation.block_period",
        0.5,
        "length of a still-detection block [s]",
        min=0.05,
        max=10.0,
        renamed_from=("bias_estimation.block_s",),
    ),
    ParamSpec("glitch.max_accel", 156.0, "drop samples with |accel| beyond [m/s^2]", min=0.0),
    ParamSpec("glitch.max_gyro", 35.0, "drop samples with |rate| beyond [rad/s]", min=0.0),
    ParamSpec("glitch.max_accel_jump", 30.0, "drop accel jumps per sample beyond [m/s^2]", min=0.0),
    ParamSpec("glitch.max_gyro_jump", 5.0, "drop rate jumps per sample beyond [rad/s]", min=0.0),
    ParamSpec("glitch.max_consecutive", 5, "accept a new level after this many drops", min=1),
    ParamSpec("filter.beta", 0.05, "Madgwick gain", min=0.0, max=5.0),
    ParamSpec("filter.zeta", 0.0, "Madgwick gyro-drift gain", min=0.0, max=1.0),
    ParamSpec(
        "filter.accel_gate", 2.0, "gyro-only step when ||a|-g| beyond [m/s^2] (0: off)", min=0.0
    ),
    ParamSpec("i2c.retries", 2, "retries per failed read", min=0, max=20),
    ParamSpec(
        "i2c.timeout",
        0.5,
        "virtual bus socket timeout [s]",
        min=0.01,
        max=10.0,
        renamed_from=("i2c.timeout_s",),
    ),
    ParamSpec(
        "startup_timeout",
        10.0,
        "wait this long for the device at start [s]",
        renamed_from=("startup_timeout_s",),
        min=0.0,
        max=300.0,
    ),
    ParamSpec(
        "temperature_rate",
        1.0,
        "temperature publish rate [Hz]",
        min=0.01,
        max=100.0,
        renamed_from=("temperature_rate_hz",),
    ),
]


def covariance(diag):
    """A 3x3 row-major covariance from its diagonal."""
    return [diag[0], 0.0, 0.0, 0.0, diag[1], 0.0, 0.0, 0.0, diag[2]]


@dataclass
class Chain:
    """Glitch filter -> calibration -> gyro bias -> fusion, as the parameters ask."""

    glitch: GlitchFilter
    bias: GyroBiasEstimator
    fusion: Fusion | None
    fusion_error: str
    proc: ImuProcessor
    limits: StillLimits


def build_chain(
    p: dict,
    chip: str,
    cal: Calibration,
    info: Callable[[str], None],
    warn: Callable[[str], None],
    error: Callable[[str], None],
) -> Chain:
    limits = StillLimits(
        p["calibration.still_gyro_std"],
        p["calibration.still_accel_std"],
        p["calibration.still_gyro_mean"],
        p["calibration.level_tilt_deg"],
    )
    is_bno = chip == "bno055"
    fusion, fusion_error = None, ""
    if not is_bno:
        try:
            fusion = Fusion(p["filter.beta"], p["filter.zeta"], p["filter.accel_gate"])
        except ImportError as e:
            fusion_error = f"no orientation filter (edgebot_rt and the reference: {e})"
            error(f"{fusion_error}; publishing imu/data_raw only")
        else:
            level = info if fusion.source.startswith("edgebot_rt") else warn
            level(f"orientation filter: Madgwick from {fusion.source}")
    block = max(2, int(round(p["bias_estimation.block_period"] * p["publish_rate"])))
    bias = GyroBiasEstimator(
        block=block, bias=cal.gyro_bias, enabled=p["bias_estimation.enabled"] and not is_bno
    )
    glitch = GlitchFilter(
        p["glitch.max_accel"],
        p["glitch.max_gyro"],
        p["glitch.max_accel_jump"],
        p["glitch.max_gyro_jump"],
        p["glitch.max_consecutive"],
    )
    proc = ImuProcessor(cal, glitch, bias, fusion, chip_orientation=is_bno)
    return Chain(glitch, bias, fusion, fusion_error, proc, limits)
