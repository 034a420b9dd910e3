"""What a driver returns per read, and the driver errors (ROS-free)."""

from __future__ import annotations

from dataclasses import dataclass

Vec3 = tuple[float, float, float]
GRAVITY = 9.80665  # m/s² per g (the scale the chips' datasheets use)


@dataclass
class ImuSample:
    accel: Vec3  # specific force, m/s², sensor frame
    gyro: Vec3  # rad/s, sensor frame
    temperature: float | None = None  # °C
    orientation: tuple[float, float, float, float] | None = None  # (w, x, y, z) chip fusion
    calib_status: tuple[int, int, int, int] | None = None  # BNO055 (sys, gyr, acc, mag)


class DeviceIdError(RuntimeError):
    """The device at the address is not the chip we were told to drive."""

    def __init__(self, chip: str, bus: str, address: int, register: int, expected, read: int):
        exp = (
            "/".join(f"0x{e:02x}" for e in expected)
            if isinstance(expected, (tuple, list))
            else f"0x{expected:02x}"
        )
        super().__init__(
            f"{chip}: bus {bus} address 0x{address:02x}: identity register 0x{register:02x} "
            f"reads 0x{read:02x}, expected {exp} (wrong chip or address?)"
        )
        self.expected, self.read = expected, read


class DeviceConfigError(RuntimeError):
    """A configuration write did not read back (corrupt bus, or a different chip)."""


def to_int16(hi: int, lo: int) -> int:
    v = (hi << 8) | lo
    return v - 0x10000 if v & 0x8000 else v
