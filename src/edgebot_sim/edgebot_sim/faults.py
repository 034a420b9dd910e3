"""Fault hooks of the simulator (ROS-free), for fault campaigns (benchmarks/faults): each
switches one failure of the simulated robot's hardware on and off at run time, through
sim_node's ``fault.*`` parameters (``ros2 param set /sim_node fault.camera_down true``):

- ``fault.camera_down``       the camera's MJPEG server goes away (port closed); back on false
- ``fault.arduino_unplugged`` the virtual Arduino's USB cable is pulled (the pty vanishes; the
                              board keeps running, its keep-alive counting); replugged on false
- ``fault.imu_errors``        every I2C transaction of the virtual IMU fails (EIO) until false
- ``fault.imu_gone``          the virtual IMU's bus server stops (connection refused); back on
                              false, same port
- ``fault.clock_stall``       the simulator's clock stops: physics, /clock and every device
                              freeze until false (then it carries on without a burst)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from edgebot_common.params import ParamSpec

NAMES = ("camera_down", "arduino_unplugged", "imu_errors", "imu_gone", "clock_stall")
SPECS = [
    ParamSpec(
        f"fault.{n}",
        False,
        "fault injection (edgebot_sim.faults); false in normal operation",
        read_only=False,
    )
    for n in NAMES
]


class FaultHooks:
    def __init__(self, devices):
        self.devices = devices
        self.active = {n: False for n in NAMES}
        self._running = threading.Event()
        self._running.set()

    def apply(self, params, log: Callable[[str], None]) -> str | None:
        """``fault.<name>`` parameters (objects with ``name``/``value``) switch the hooks; the
        reason when one cannot be switched, else None."""
        try:
            for prm in params:
                if prm.name.startswith("fault."):
                    self.set(prm.name[len("fault.") :], bool(prm.value))
                    log(f"{prm.name} = {prm.value}")
        except (ValueError, OSError) as e:
            return str(e)
        return None

    def set(self, name: str, on: bool) -> None:
        """Switch a fault; ValueError naming what is missing when the device is not there."""
        if name not in NAMES:
            raise ValueError(f"unknown fault {name!r}: allowed {list(NAMES)}")
        on = bool(on)
        if self.active[name] == on:
            return
        d = self.devices
        if name == "camera_down":
            if d.mjpeg is None:
                raise ValueError("no simulated camera (camera.enabled is false)")
            if on:
                d.mjpeg.stop()
            else:
                d.mjpeg.closed = False
                d.mjpeg.start()  # the same port again
        elif name == "arduino_unplugged":
            board = getattr(d.arduino, "board", None)
            if board is None or not hasattr(board, "unplug"):
                raise ValueError("no virtual Arduino that can be unplugged")
            board.unplug() if on else board.replug()
        elif name in ("imu_errors", "imu_gone"):
            if d.imu is None:
                raise ValueError("no virtual IMU (imu.enabled is false)")
            server = d.imu.server
            if name == "imu_errors":
                with server.model.lock:
                    server.model.fault.fail_next = 10**9 if on else 0
            elif on:
                server.stop()
            else:
                host, port = server.bus_spec[len("tcp://") :].rsplit(":", 1)
                server.start(host, int(port))  # the same address again
        elif name == "clock_stall":
            self._running.clear() if on else self._running.set()
        self.active[name] = on

    def hold_clock(self, stopped: Callable[[], bool]) -> None:
        """Called by the physics thread at every clock tick: blocks while the clock stalls."""
        while not self._running.wait(0.05):
            if stopped():
                return
