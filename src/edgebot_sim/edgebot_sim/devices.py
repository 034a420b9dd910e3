"""The virtual devices of the other packages, wired to the simulated physics.

- :class:`ArduinoDevice`: ``edgebot_firmata``'s virtual Arduino on a pseudo-terminal. The motor
  driver pins that ``firmata_node`` writes (per the same pin map file) become wheel target
  velocities; the HC-SR04 sonar answers with the ray-cast distance from ``sonar_link``.
- :class:`ImuDevice`: ``edgebot_imu``'s virtual I2C IMU served over TCP, fed with the specific
  force and angular velocity of ``imu_link`` (the chip model adds its noise and bias).

Both packages are imported only when the device is used.
"""
from __future__ import annotations

import math
import threading
from typing import Optional, Tuple


class ImuDevice:
    def __init__(self, chip: str = "mpu6050", seed: int = 0, noise: bool = True):
        from edgebot_imu.virtual_imu import VirtualImuServer
        self.server = VirtualImuServer(chip=chip, seed=seed, noise=noise)
        self.updates = 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        return self.server.start(host, port)

    def update(self, accel, gyro, orientation=None) -> None:
        self.server.set_motion(accel=tuple(accel), gyro=tuple(gyro), orientation=orientation)
        self.updates += 1

    def stop(self) -> None:
        self.server.stop()
