"""Bosch BNO055 driver over an smbus2-shaped bus (ROS-free).

Registers of page 0 as in the BNO055 datasheet (BST-BNO055-DS000). Units are set with
UNIT_SEL to m/s², rad/s, radians and °C; data registers are little-endian int16. One 32-byte
burst from ACC_DATA_X_LSB covers accel, magnetometer, gyro, Euler angles and the fused
quaternion; temperature and the calibration status are read separately (slowly changing).
Offsets (22 bytes from ACC_OFFSET_X_LSB) can only be read and written in CONFIG mode.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .sample import DeviceConfigError, DeviceIdError, ImuSample

CHIP_ID = 0x00
PAGE_ID = 0x07
ACC_DATA = 0x08
MAG_DATA = 0x0E
GYR_DATA = 0x14
EUL_DATA = 0x1A
QUA_DATA = 0x20
LIA_DATA = 0x28
GRV_DATA = 0x2E
TEMP = 0x34
CALIB_STAT = 0x35
SYS_STATUS = 0x39
SYS_ERR = 0x3A
UNIT_SEL = 0x3B
OPR_MODE = 0x3D
PWR_MODE = 0x3E
SYS_TRIGGER = 0x3F
OFFSETS = 0x55
OFFSETS_LEN = 22

CHIP_ID_VALUE = 0xA0
DEFAULT_ADDRESS = 0x28  # COM3 low; 0x29 with COM3 high

MODES = {
    "config": 0x00,
    "acconly": 0x01,
    "magonly": 0x02,
    "gyroonly": 0x03,
    "accmag": 0x04,
    "accgyro": 0x05,
    "maggyro": 0x06,
    "amg": 0x07,
    "imu": 0x08,
    "compass": 0x09,
    "m4g": 0x0A,
    "ndof_fmc_off": 0x0B,
    "ndof": 0x0C,
}
FUSION_MODES = ("imu", "ndof", "ndof_fmc_off")
#: UNIT_SEL: accel m/s² (bit0=0), gyro rad/s (bit1), Euler radians (bit2), °C (bit4=0)
UNIT_SEL_VALUE = 0x06

ACC_LSB = 100.0  # LSB per m/s²
GYR_LSB_RAD = 900.0  # LSB per rad/s
MAG_LSB = 16.0  # LSB per µT
EUL_LSB_RAD = 900.0  # LSB per rad
QUA_LSB = 16384.0  # LSB per unit quaternion (2^14)

MAX_RATE_HZ = 100.0  # fusion output rate


def _le16(lo: int, hi: int) -> int:
    v = lo | (hi << 8)
    return v - 0x10000 if v & 0x8000 else v


def decode_calib_status(value: int) -> tuple[int, int, int, int]:
    """(sys, gyr, acc, mag), each 0 (uncalibrated) .. 3 (fully calibrated)."""
    return ((value >> 6) & 3, (value >> 4) & 3, (value >> 2) & 3, value & 3)


class Bno055:
    CHIP = "bno055"
    DEFAULT_ADDRESS = DEFAULT_ADDRESS
    MAX_RATE_HZ = MAX_RATE_HZ

    def __init__(
        self,
        bus,
        address: int = DEFAULT_ADDRESS,
        bus_name: str = "?",
        mode: str = "imu",
        offsets: Sequence[int] | None = None,
        sleep=time.sleep,
    ):
        if mode not in FUSION_MODES:
            raise ValueError(f"mode {mode!r} not in {list(FUSION_MODES)}")
        if offsets is not None and len(offsets) != OFFSETS_LEN:
            raise ValueError(f"offsets must be {OFFSETS_LEN} bytes")
        self.bus, self.address, self.bus_name = bus, address, bus_name
        self.mode = mode
        self.offsets = list(offsets) if offsets is not None else None
        self._sleep = sleep
        # full scale of the data registers (int16) in SI units, for the glitch limits
        self.gyro_limit = 2000.0 * 3.141592653589793 / 180.0
        self.accel_limit = 16 * 9.80665

    def probe(self) -> int:
        cid = self.bus.read_byte_data(self.address, CHIP_ID)
        if cid != CHIP_ID_VALUE:
            raise DeviceIdError(self.CHIP, self.bus_name, self.address, CHIP_ID, CHIP_ID_VALUE, cid)
        return cid

    def set_mode(self, mode: str) -> None:
        self.bus.write_byte_data(self.address, OPR_MODE, MODES[mode])
        # datasheet: 19 ms from any mode to CONFIG, 7 ms from CONFIG to any mode
        self._sleep(0.025 if mode == "config" else 0.01)

    def holds_configuration(self) -> bool:
        """False when the chip reset itself since :meth:`configure` (it boots in CONFIG mode)."""
        return self.bus.read_byte_data(self.address, OPR_MODE) == MODES[self.mode]

    def configure(self) -> None:
        self.probe()
        b, a = self.bus, self.address
        self.set_mode("config")
        b.write_byte_data(a, PAGE_ID, 0x00)
        b.write_byte_data(a, PWR_MODE, 0x00)  # normal power
        b.write_byte_data(a, SYS_TRIGGER, 0x00)  # internal oscillator, no self-test
        b.write_byte_data(a, UNIT_SEL, UNIT_SEL_VALUE)
        if self.offsets is not None:
            b.write_i2c_block_data(a, OFFSETS, self.offsets)
        for reg, value in ((UNIT_SEL, UNIT_SEL_VALUE), (OPR_MODE, MODES["config"])):
            got = b.read_byte_data(a, reg)
            if got != value:
                raise DeviceConfigError(
                    f"{self.CHIP}: bus {self.bus_name} address 0x{a:02x}: register 0x{reg:02x} "
                    f"reads 0x{got:02x} after writing 0x{value:02x}"
                )
        if self.offsets is not None:
            got = b.read_i2c_block_data(a, OFFSETS, OFFSETS_LEN)
            if list(got) != self.offsets:
                raise DeviceConfigError(f"{self.CHIP}: offsets did not read back")
        self.set_mode(self.mode)
        got = b.read_byte_data(a, OPR_MODE)
        if got != MODES[self.mode]:
            raise DeviceConfigError(
                f"{self.CHIP}: OPR_MODE reads 0x{got:02x}, wrote 0x{MODES[self.mode]:02x}"
            )

    def decode(self, raw) -> ImuSample:
        """32 bytes from ACC_DATA: acc, mag, gyr, eul, qua."""
        v = [_le16(raw[i], raw[i + 1]) for i in range(0, 32, 2)]
        acc = (v[0] / ACC_LSB, v[1] / ACC_LSB, v[2] / ACC_LSB)
        gyr = (v[6] / GYR_LSB_RAD, v[7] / GYR_LSB_RAD, v[8] / GYR_LSB_RAD)
        q = (v[12] / QUA_LSB, v[13] / QUA_LSB, v[14] / QUA_LSB, v[15] / QUA_LSB)
        return ImuSample(accel=acc, gyro=gyr, orientation=q)

    def read(self) -> ImuSample:
        raw = self.bus.read_i2c_block_data(self.address, ACC_DATA, 32)
        if len(raw) != 32:
            raise OSError(5, f"short read: {len(raw)} of 32 bytes")
        return self.decode(raw)

    def read_status(self) -> tuple[float, tuple[int, int, int, int]]:
        """(temperature °C, calibration status (sys, gyr, acc, mag))."""
        t, cal = self.bus.read_i2c_block_data(self.address, TEMP, 2)
        return float(t - 256 if t & 0x80 else t), decode_calib_status(cal)

    def read_temperature(self) -> float | None:
        return self.read_status()[0]

    def read_offsets(self) -> list:
        """The chip's current calibration offsets (22 bytes); switches to CONFIG and back."""
        self.set_mode("config")
        try:
            return list(self.bus.read_i2c_block_data(self.address, OFFSETS, OFFSETS_LEN))
        finally:
            self.set_mode(self.mode)

    def write_offsets(self, offsets: Sequence[int]) -> None:
        if len(offsets) != OFFSETS_LEN:
            raise ValueError(f"offsets must be {OFFSETS_LEN} bytes")
        self.offsets = list(offsets)
        self.set_mode("config")
        try:
            self.bus.write_i2c_block_data(self.address, OFFSETS, self.offsets)
        finally:
            self.set_mode(self.mode)

    def sleep_mode(self) -> None:
        self.set_mode("config")
        self.bus.write_byte_data(self.address, PWR_MODE, 0x02)  # suspend
