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


class ImuDevice:
    def __init__(self, chip: str = "mpu6050", seed: int = 0, noise: bool = True):
        from edgebot_imu.virtual_imu import VirtualImuServer

        self.server = VirtualImuServer(chip=chip, seed=seed, noise=noise)
        self.updates = 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        return self.server.start(host, port)

    def update(self, accel, gyro, orientation=None) -> None:
        """accel: specific force, gyro: rad/s, both in imu_link; orientation (x, y, z, w) as
        PyBullet gives it (the virtual chip wants (w, x, y, z))."""
        q = None
        if orientation is not None:
            x, y, z, w = orientation
            q = (w, x, y, z)
        self.server.set_motion(accel=tuple(accel), gyro=tuple(gyro), orientation=q)
        self.updates += 1

    def stop(self) -> None:
        self.server.stop()


class ArduinoDevice:
    """The virtual Arduino with the robot's pin map: motor pins -> wheel speeds, sonar <- physics.

    The pin map is the very file ``firmata_node`` is given, so the simulated wiring is the
    robot's wiring. Wheel speed = signed duty * ``max_wheel_speed`` of each motor (the map's
    ``reversed`` polarity included); a joint the map does not drive stays at 0.
    """

    def __init__(
        self,
        pin_map: str | None = None,
        link: str | None = None,
        joints: tuple[str, str] = ("left_wheel_joint", "right_wheel_joint"),
        battery_volts: float = 7.8,
    ):
        from edgebot_common.node_main import ConfigError
        from edgebot_firmata import pinmap
        from edgebot_firmata.virtual_arduino import VirtualArduino

        from . import paths

        try:
            path = str(paths.resource("config", pin_map or "firmata.yaml", ".yaml"))
            self.pin_map = pinmap.load(path)
        except (FileNotFoundError, pinmap.PinMapError) as e:
            raise ConfigError(f"parameter 'arduino.pin_map' = {pin_map or ''!r}: {e}") from None
        self.pin_map_path = path
        self.link = link
        self.board = VirtualArduino(board=self.pin_map.board, firmware=self.pin_map.firmware)
        self.motors = [self.pin_map.motor_for_joint(j) for j in joints]
        self._motor_pins = {p for m in self.motors if m is not None for p in m.pins()}
        self._speeds: tuple[float, float] = (0.0, 0.0)
        self._lock = threading.Lock()
        self.board.add_output_listener(self._on_output)
        self.sonar_pins = [s.trigger for s in self.pin_map.sonars]
        self.bumper_pins = [
            (d.pin, d.inverted) for d in self.pin_map.digital_inputs if "bump" in d.name
        ]
        for a in self.pin_map.analog_inputs:
            if a.type == "battery":
                raw = battery_volts / (a.vref * a.divider) * 1023.0
                self.board.set_analog_input(a.channel, int(round(raw)))
        self.set_bumper(False)
        self.sonar_updates = 0

    def start(self) -> str:
        return self.board.start(link=self.link)

    def _on_output(self, pin, mode, value) -> None:
        if pin in self._motor_pins:
            speeds = tuple(
                0.0 if m is None else m.wheel_speed(self.board.output) for m in self.motors
            )
            with self._lock:
                self._speeds = speeds

    def wheel_velocities(self) -> tuple[float, float]:
        """Target wheel joint speeds (rad/s) the motor pins ask for right now."""
        with self._lock:
            return self._speeds

    def set_sonar(self, metres: float) -> None:
        for pin in self.sonar_pins:
            self.board.set_sonar_distance(pin, None if math.isinf(metres) else metres)
        self.sonar_updates += 1

    def set_bumper(self, pressed: bool) -> None:
        for pin, inverted in self.bumper_pins:
            self.board.set_digital_input(pin, (not pressed) if inverted else pressed)

    def stats(self) -> dict:
        out = {f"arduino_{k}": v for k, v in self.board.stats.items()}
        out["arduino_host_connected"] = self.board.host_connected
        return out

    def stop(self) -> None:
        self.board.stop()


class DeviceSet:
    """The virtual devices sim_node serves, started from its parameter values (plain dict):
    the MJPEG camera, the Firmata Arduino on a pty and the I2C IMU over TCP."""

    def __init__(self):
        self.endpoints: dict = {}
        self.arduino: ArduinoDevice | None = None
        self.imu: ImuDevice | None = None
        self.mjpeg = None

    @classmethod
    def start(cls, p: dict, seed: int) -> DeviceSet:
        """Starts what ``p`` enables; ``ConfigError`` naming the parameter when one cannot start
        (whatever started already is stopped again)."""
        from edgebot_common.node_main import ConfigError

        self = cls()
        try:
            if p["camera.enabled"]:
                from .mjpeg import MjpegServer

                self.mjpeg = MjpegServer(p["camera.host"], p["camera.port"])
                try:
                    self.endpoints["camera_url"] = self.mjpeg.start()
                except OSError as e:
                    raise ConfigError(
                        f"parameter 'camera.port' = {p['camera.port']}: cannot "
                        f"serve MJPEG on {p['camera.host']}: {e}"
                    ) from None
            if (p["arduino.enabled"] or p["drive"] == "firmata") and p.get("arduino.firmware"):
                from .firmware_board import FirmwareArduinoDevice  # real firmware, emulated AVR

                self.arduino = FirmwareArduinoDevice(
                    p["arduino.firmware"],
                    p["arduino.pin_map"] or None,
                    link=p["arduino.link"] or None,
                    speed=p.get("speed", 1.0),
                )
                self.endpoints["arduino_port"] = self.arduino.start()
                if p["arduino.link"]:
                    self.endpoints["arduino_link"] = p["arduino.link"]
            elif p["arduino.enabled"] or p["drive"] == "firmata":
                self.arduino = ArduinoDevice(
                    p["arduino.pin_map"] or None, link=p["arduino.link"] or None
                )
                self.endpoints["arduino_port"] = self.arduino.start()
                if p["arduino.link"]:
                    self.endpoints["arduino_link"] = p["arduino.link"]
            if p["imu.enabled"]:
                self.imu = ImuDevice(p["imu.chip"], seed=seed, noise=p["imu.noise"])
                self.endpoints["imu_bus"] = self.imu.start(p["imu.host"], p["imu.port"])
        except Exception:
            self.stop(lambda text: None)
            raise
        return self

    def missing(self) -> list:
        """Devices whose client has not connected yet (the start gate waits for them)."""
        out = []
        if self.arduino is not None and not self.arduino.board.host_connected:
            out.append("firmata host on the virtual Arduino")
        if self.mjpeg is not None and self.mjpeg.clients < 1:
            out.append("camera stream client")
        return out

    def stop(self, warn) -> None:
        """Stops every device; a failing one is reported through ``warn(text)``, the rest go on."""
        for dev in (self.arduino, self.imu, self.mjpeg):
            if dev is not None:
                try:
                    dev.stop()
                except Exception as e:
                    warn(f"stopping {type(dev).__name__}: {e}")
