"""InvenSense MPU-6050 driver over an smbus2-shaped bus (ROS-free).

Registers follow the MPU-6000/6050 register map (RM-MPU-6000A rev 4.2). The driver wakes the
chip on the gyro-X PLL, sets the sample-rate divider, DLPF and full-scale ranges, reads them
back, and reads the 14 data bytes (accel, temperature, gyro; big-endian) in one burst.
"""

from __future__ import annotations

import math
import time

from .sample import GRAVITY, DeviceConfigError, DeviceIdError, ImuSample, to_int16

# register addresses
SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
FIFO_EN = 0x23
INT_PIN_CFG = 0x37
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
TEMP_OUT_H = 0x41
GYRO_XOUT_H = 0x43
USER_CTRL = 0x6A
FIFO_COUNT_H = 0x72
FIFO_R_W = 0x74
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
WHO_AM_I = 0x75

WHO_AM_I_VALUE = 0x68
DEFAULT_ADDRESS = 0x68  # AD0 low; 0x69 with AD0 high
PWR_RESET = 0x80
PWR_SLEEP = 0x40
CLKSEL_PLL_XGYRO = 0x01

#: full scale (±°/s) -> FS_SEL; sensitivity LSB per °/s
GYRO_RANGES = {250: 0, 500: 1, 1000: 2, 2000: 3}
GYRO_LSB_PER_DPS = {250: 131.0, 500: 65.5, 1000: 32.8, 2000: 16.4}
#: full scale (±g) -> AFS_SEL; sensitivity LSB per g
ACCEL_RANGES = {2: 0, 4: 1, 8: 2, 16: 3}
ACCEL_LSB_PER_G = {2: 16384.0, 4: 8192.0, 8: 4096.0, 16: 2048.0}
#: DLPF_CFG -> gyro bandwidth in Hz (accel bandwidth is within a few Hz); 0 = off (8 kHz gyro)
DLPF_GYRO_BANDWIDTH = {0: 256, 1: 188, 2: 98, 3: 42, 4: 20, 5: 10, 6: 5}

# FIFO: accel, temperature and gyro of each sample (14 bytes, the burst layout)
FIFO_EN_ALL = 0xF8  # TEMP | XG | YG | ZG | ACCEL
USER_CTRL_FIFO_EN = 0x40
USER_CTRL_FIFO_RESET = 0x04
INT_FIFO_OFLOW = 0x10
FIFO_SIZE = 1024
FIFO_SAMPLE_BYTES = 14

MAX_RATE_HZ = 1000.0  # accel output rate; the gyro runs at 1 kHz with DLPF on


def temperature_c(raw: int) -> float:
    return raw / 340.0 + 36.53


def sample_rate_hz(dlpf_cfg: int, divider: int) -> float:
    base = 8000.0 if dlpf_cfg in (0, 7) else 1000.0
    return base / (1 + divider)


def divider_for(rate_hz: float, dlpf_cfg: int) -> int:
    """The SMPLRT_DIV that gives at least ``rate_hz`` samples per second."""
    base = 8000.0 if dlpf_cfg in (0, 7) else 1000.0
    return max(0, min(255, int(math.floor(base / rate_hz)) - 1))


def dlpf_for_rate(rate_hz: float) -> int:
    """The widest DLPF whose bandwidth stays below the Nyquist frequency of ``rate_hz``
    (anti-aliasing); 188 Hz at most, 5 Hz at least."""
    for cfg in (1, 2, 3, 4, 5, 6):
        if DLPF_GYRO_BANDWIDTH[cfg] <= rate_hz / 2.0:
            return cfg
    return 6


class Mpu6050:
    CHIP = "mpu6050"
    DEFAULT_ADDRESS = DEFAULT_ADDRESS
    MAX_RATE_HZ = MAX_RATE_HZ

    def __init__(
        self,
        bus,
        address: int = DEFAULT_ADDRESS,
        bus_name: str = "?",
        gyro_range_dps: int = 500,
        accel_range_g: int = 4,
        dlpf_cfg: int = 3,
        rate_hz: float = 200.0,
        sleep=time.sleep,
    ):
        if gyro_range_dps not in GYRO_RANGES:
            raise ValueError(f"gyro range {gyro_range_dps} not in {sorted(GYRO_RANGES)}")
        if accel_range_g not in ACCEL_RANGES:
            raise ValueError(f"accel range {accel_range_g} not in {sorted(ACCEL_RANGES)}")
        if dlpf_cfg not in DLPF_GYRO_BANDWIDTH:
            raise ValueError(f"dlpf_cfg {dlpf_cfg} not in 0..6")
        self.bus, self.address, self.bus_name = bus, address, bus_name
        self.gyro_range_dps, self.accel_range_g = gyro_range_dps, accel_range_g
        self.dlpf_cfg = dlpf_cfg
        self.divider = divider_for(rate_hz, dlpf_cfg)
        self._sleep = sleep
        self._gyro_scale = math.radians(1.0) / GYRO_LSB_PER_DPS[gyro_range_dps]
        self._accel_scale = GRAVITY / ACCEL_LSB_PER_G[accel_range_g]

    @property
    def gyro_limit(self) -> float:
        """Full scale in rad/s."""
        return math.radians(self.gyro_range_dps)

    @property
    def accel_limit(self) -> float:
        """Full scale in m/s²."""
        return self.accel_range_g * GRAVITY

    @property
    def output_rate_hz(self) -> float:
        return sample_rate_hz(self.dlpf_cfg, self.divider)

    def probe(self) -> int:
        who = self.bus.read_byte_data(self.address, WHO_AM_I)
        if who != WHO_AM_I_VALUE:
            raise DeviceIdError(
                self.CHIP, self.bus_name, self.address, WHO_AM_I, WHO_AM_I_VALUE, who
            )
        return who

    def holds_configuration(self) -> bool:
        """False when the chip reset itself since :meth:`configure` (it wakes up asleep)."""
        return self.bus.read_byte_data(self.address, PWR_MGMT_1) == CLKSEL_PLL_XGYRO

    def configure(self) -> None:
        """Reset, wake, set rate/DLPF/ranges and verify by reading the registers back."""
        self.probe()
        b, a = self.bus, self.address
        b.write_byte_data(a, PWR_MGMT_1, PWR_RESET)
        self._sleep(0.1)
        b.write_byte_data(a, PWR_MGMT_1, CLKSEL_PLL_XGYRO)  # awake, PLL on gyro X
        self._sleep(0.01)
        wanted = {
            SMPLRT_DIV: self.divider,
            CONFIG: self.dlpf_cfg,
            GYRO_CONFIG: GYRO_RANGES[self.gyro_range_dps] << 3,
            ACCEL_CONFIG: ACCEL_RANGES[self.accel_range_g] << 3,
            FIFO_EN: 0x00,
            INT_ENABLE: 0x00,
        }
        for reg, value in wanted.items():
            b.write_byte_data(a, reg, value)
        for reg, value in list(wanted.items()) + [(PWR_MGMT_1, CLKSEL_PLL_XGYRO)]:
            got = b.read_byte_data(a, reg)
            if got != value:
                raise DeviceConfigError(
                    f"{self.CHIP}: bus {self.bus_name} address 0x{a:02x}: register 0x{reg:02x} "
                    f"reads 0x{got:02x} after writing 0x{value:02x}"
                )

    def decode(self, raw) -> ImuSample:
        """14 bytes from ACCEL_XOUT_H -> SI units."""
        v = [to_int16(raw[i], raw[i + 1]) for i in range(0, 14, 2)]
        sa, sg = self._accel_scale, self._gyro_scale
        return ImuSample(
            accel=(v[0] * sa, v[1] * sa, v[2] * sa),
            gyro=(v[4] * sg, v[5] * sg, v[6] * sg),
            temperature=temperature_c(v[3]),
        )

    def read(self) -> ImuSample:
        raw = self.bus.read_i2c_block_data(self.address, ACCEL_XOUT_H, 14)
        if len(raw) != 14:
            raise OSError(5, f"short read: {len(raw)} of 14 bytes")
        return self.decode(raw)

    def read_temperature(self) -> float | None:
        return None  # every burst read carries it

    # -- FIFO ----------------------------------------------------------------------------------
    def enable_fifo(self) -> None:
        """Every sample (accel, temperature, gyro: 14 bytes) goes into the 1024-byte FIFO."""
        b, a = self.bus, self.address
        b.write_byte_data(a, USER_CTRL, 0x00)
        b.write_byte_data(a, FIFO_EN, FIFO_EN_ALL)
        b.write_byte_data(a, USER_CTRL, USER_CTRL_FIFO_RESET)
        b.write_byte_data(a, USER_CTRL, USER_CTRL_FIFO_EN)
        b.read_byte_data(a, INT_STATUS)  # clears a stale overflow flag
        got = b.read_byte_data(a, FIFO_EN)
        if got != FIFO_EN_ALL:
            raise DeviceConfigError(f"{self.CHIP}: FIFO_EN reads 0x{got:02x}")

    def reset_fifo(self) -> None:
        self.bus.write_byte_data(self.address, USER_CTRL, USER_CTRL_FIFO_RESET)
        self.bus.write_byte_data(self.address, USER_CTRL, USER_CTRL_FIFO_EN)

    def read_fifo(self, max_samples: int = 64):
        """(samples oldest first, overflowed). On overflow the FIFO is reset (its contents are
        misaligned then) and no samples are returned."""
        b, a = self.bus, self.address
        if b.read_byte_data(a, INT_STATUS) & INT_FIFO_OFLOW:
            self.reset_fifo()
            return [], True
        hi, lo = b.read_i2c_block_data(a, FIFO_COUNT_H, 2)
        count = (hi << 8) | lo
        if count % FIFO_SAMPLE_BYTES or count > FIFO_SIZE - FIFO_SAMPLE_BYTES:
            # misaligned, or full: it may overflow (and lose its oldest, partial sample)
            # while we read. Start again from an empty FIFO.
            self.reset_fifo()
            return [], True
        n = min(count // FIFO_SAMPLE_BYTES, max_samples)
        out = []
        while len(out) < n:
            k = min(2, n - len(out))  # 28 bytes: within SMBus's 32
            raw = b.read_i2c_block_data(a, FIFO_R_W, k * FIFO_SAMPLE_BYTES)
            if len(raw) != k * FIFO_SAMPLE_BYTES:
                raise OSError(5, f"short FIFO read: {len(raw)} bytes")
            for i in range(k):
                out.append(self.decode(raw[i * 14 : (i + 1) * 14]))
        if out and b.read_byte_data(a, INT_STATUS) & INT_FIFO_OFLOW:
            # it overflowed while we read (a starved host): what we read may be misaligned
            self.reset_fifo()
            return [], True
        return out, False

    def sleep_mode(self) -> None:
        self.bus.write_byte_data(self.address, PWR_MGMT_1, PWR_SLEEP)
