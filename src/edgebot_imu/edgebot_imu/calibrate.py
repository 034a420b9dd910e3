"""imu_node's calibration logic (ROS-free): the calibration file at start, the start-up gyro
bias, and the ``imu/calibrate`` request (MPU-6050: measure still samples and save gyro bias and
level accel offsets; BNO055: save the chip's own offsets once it reports itself calibrated).
Answers are ``(success, message)``; the node puts them into the Trigger response.
"""

from __future__ import annotations

from collections.abc import Callable

from .calibration import (
    Calibration,
    CalibrationFileError,
    SampleCollector,
    accel_offset_level,
    check_still,
    stats,
)

Answer = tuple[bool, str]


class Calibrator:
    def __init__(
        self,
        chip: str,
        path: str,
        info: Callable[[str], None],
        warning: Callable[[str], None],
        error: Callable[[str], None],
    ):
        self.chip, self.path = chip, path
        self.info, self.warning = info, warning
        self.source = "none"
        try:
            cal = Calibration.load(path, chip)
        except CalibrationFileError as e:
            error(f"ignoring calibration file: {e}")
            cal = None
        if cal is not None:
            self.source = f"file {path}"
            info(
                f"loaded calibration {path}: gyro_bias {cal.gyro_bias} "
                f"accel_offset {cal.accel_offset}"
            )
        self.cal = cal or Calibration(chip)
        self.collector = SampleCollector()
        self.chain = None  # set by the node once the chain is built
        self.start_calibration = "not requested"

    def start(self, samples: int) -> None:
        """Measure the gyro bias from the first ``samples`` samples (refused if moving)."""
        self.start_calibration = "running"
        self.collector.begin(samples, self._finish_start)

    def _finish_start(self, samples) -> None:
        st = stats(samples)
        # the offsets in the file were measured on raw data: judge stillness on raw data too
        why = check_still(st, self.chain.limits)
        if why:
            self.start_calibration = f"refused: {why}"
            self.warning(
                f"start-up gyro calibration refused: {why}; keeping bias "
                f"{[round(b, 5) for b in self.chain.bias.bias]} ({self.source})"
            )
            return
        self.chain.bias.set_bias(st.gyro_mean)
        if self.chain.fusion is not None:
            self.chain.fusion.reset()
        self.start_calibration = "done"
        self.info(
            f"start-up gyro bias {[round(b, 5) for b in st.gyro_mean]} rad/s from {st.n} samples"
        )

    def request(
        self, n: int, timeout: float, calib_status: tuple | None, read_offsets: Callable[[], list]
    ) -> Answer:
        """The ``imu/calibrate`` service (the caller checked the device is connected)."""
        if self.chip == "bno055":
            return self._bno055(calib_status, read_offsets)
        if self.collector.running:
            return False, "a calibration is already running"
        self.collector.begin(n)
        if not self.collector.wait(timeout):
            return False, f"timed out collecting {n} samples"
        st = stats(self.collector.collected)
        why = check_still(st, self.chain.limits)
        offset, why_level = accel_offset_level(st, self.chain.limits)
        if why or why_level:
            message = f"calibration refused: {why or why_level}"
            self.warning(message)
            return False, message
        return self._save(
            Calibration(self.chip, gyro_bias=list(st.gyro_mean), accel_offset=offset, samples=st.n)
        )

    def _bno055(self, status, read_offsets) -> Answer:
        if status is None or status[1] < 3 or status[2] < 3:
            return False, (
                f"calibration refused: the BNO055 has not calibrated itself yet "
                f"(sys, gyr, acc, mag = {status}); keep it still for a few seconds, "
                f"then turn it through a few positions"
            )
        try:
            offsets = read_offsets()
        except OSError as e:
            return False, f"reading offsets failed: {e}"
        return self._save(Calibration(self.chip, bno055_offsets=offsets))

    def _save(self, cal: Calibration) -> Answer:
        try:
            cal.save(self.path)
        except OSError as e:
            return False, f"cannot write {self.path}: {e}"
        self.cal.gyro_bias, self.cal.accel_offset = cal.gyro_bias, cal.accel_offset
        self.cal.bno055_offsets = cal.bno055_offsets
        self.chain.bias.set_bias(cal.gyro_bias)
        self.source = f"file {self.path}"
        message = (
            f"saved {self.path}: gyro_bias {[round(v, 5) for v in cal.gyro_bias]} rad/s, "
            f"accel_offset {[round(v, 4) for v in cal.accel_offset]} m/s^2"
            + (f", bno055 offsets {cal.bno055_offsets}" if cal.bno055_offsets else "")
        )
        self.info(message)
        return True, message
