"""The IMU device behind imu_node (ROS-free): the bus, the chip driver, their lock, and the
supervision of the connection (:class:`edgebot_common.supervisor.DeviceSupervisor`).

``ImuDevice.open()`` opens the bus (reused after a read failure: the next open reconfigures
the chip on the same handle), builds the driver and configures the chip (and its FIFO);
``close()`` drops both. A wrong chip (:class:`DeviceIdError`) is a configuration error at
start-up and a failed reopen later; bus errors and a chip that does not take its
configuration are retried with backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edgebot_common.backoff import Backoff
from edgebot_common.supervisor import DeviceSupervisor

from . import bno055, mpu6050
from .bus import open_bus
from .core import errno_name
from .sample import DeviceConfigError, DeviceIdError

CHIP_CLASSES = {"mpu6050": mpu6050.Mpu6050, "bno055": bno055.Bno055}


def describe_error(e: BaseException) -> str:
    """One line for diagnostics: ``EREMOTEIO: ...``, ``config: ...`` or the wrong-chip text."""
    if isinstance(e, DeviceIdError):
        return str(e)
    if isinstance(e, OSError):
        return f"{errno_name(e)}: {e}"
    return f"config: {e}"


class ImuDevice:
    """Bus + driver of one chip, configured from the node's parameter dict ``p``."""

    def __init__(
        self,
        chip: str,
        bus_spec: str,
        address: int,
        p: dict,
        use_fifo: bool,
        bno055_offsets: Callable[[], list | None] = lambda: None,
    ):
        self.chip, self.bus_spec, self.address, self.p = chip, bus_spec, address, p
        self.use_fifo = use_fifo
        self._bno055_offsets = bno055_offsets
        self.lock = threading.Lock()
        self.bus = None
        self.driver = None
        self.fifo_dirty = False

    def make_driver(self, bus):
        p = self.p
        if self.chip == "mpu6050":
            dlpf = p["mpu6050.dlpf_cfg"]
            if dlpf < 0:
                dlpf = mpu6050.dlpf_for_rate(p["publish_rate"])
            return mpu6050.Mpu6050(
                bus,
                self.address,
                self.bus_spec,
                p["mpu6050.gyro_range_dps"],
                p["mpu6050.accel_range_g"],
                dlpf,
                p["publish_rate"],
            )
        return bno055.Bno055(
            bus, self.address, self.bus_spec, p["bno055.mode"], offsets=self._bno055_offsets()
        )

    def open(self) -> None:
        with self.lock:
            if self.bus is None:
                self.bus = open_bus(self.bus_spec, timeout=self.p["i2c.timeout"])
            if self.driver is None:
                self.driver = self.make_driver(self.bus)
            self.driver.configure()
            if self.use_fifo:
                self.driver.enable_fifo()
                self.fifo_dirty = False

    def close(self) -> None:
        with self.lock:
            if self.bus is not None:
                try:
                    self.bus.close()
                except OSError:
                    pass
            self.bus = None
            self.driver = None

    def read_fifo(self):
        """Every sample in the FIFO (call with ``lock`` held); a failed read leaves the FIFO
        marked dirty (half a sample may remain), reset before the next read."""
        if self.fifo_dirty:
            self.driver.reset_fifo()
            self.fifo_dirty = False
        try:
            return self.driver.read_fifo(128)
        except OSError:
            self.fifo_dirty = True
            raise

    def holds_configuration(self) -> bool:
        with self.lock:
            return self.driver.holds_configuration()

    def supervisor(self, on_up, on_down, on_reset, clock=time.monotonic) -> DeviceSupervisor:
        """Reopened with backoff 0.2..5 s on the same bus handle; a wrong chip stops the
        start-up; probed once a second, a chip that reset itself is configured again."""
        return DeviceSupervisor(
            self.open,
            Backoff(0.2, 5.0, clock=clock),
            close=self.close,
            describe=describe_error,
            retry_on=(OSError, DeviceConfigError),
            fatal=(DeviceIdError,),
            clock=clock,
            on_up=on_up,
            on_down=on_down,
            close_on_lost=False,
            probe=self.holds_configuration,
            probe_period=1.0,
            on_reset=on_reset,
        )
