"""The simulator's Arduino running real firmware (``arduino.firmware``): an
``edgebot_avr.EmulatedArduino`` wired to the physics with the robot's pin map (ROS-free).

Same interface as :class:`edgebot_sim.devices.ArduinoDevice` (the Python board model):

- motor pins -> wheel speeds: what a logic analyser sees on the emulated pins -- PWM duty from
  the timer registers, direction levels -- through the pin map's ``Motor.duty_from``;
- range: StandardFirmata cannot time an HC-SR04, so the pin map's ``ir_ranges`` (analog IR
  distance sensors, GP2Y0A21-like curve) get the ray-cast distance as a voltage on their
  analog pin; the firmware's ADC reads it and firmata_node turns it back into metres;
- wheel encoders (the pin map's ``encoders``): the wheel joints' velocities become quadrature
  edges generated in emulated time on the encoder pins (``EmulatedArduino.quadrature``), which
  the firmware reports and firmata_node decodes into ``wheel_states``;
- bumper inputs and the battery divider as pin levels and a voltage.
"""

from __future__ import annotations

import math
import os
import threading
import time


def resolve_firmware(board: str, firmware: str) -> str:
    """``firmware`` is a HEX file path, or the name of an installed image (StandardFirmata)."""
    from edgebot_avr import firmware_path

    if firmware.endswith(".hex") or os.sep in firmware:
        return firmware
    return firmware_path(board, firmware)


class FirmwareArduinoDevice:
    #: wheel speeds are re-read from the pins at most this often (wall seconds)
    READ_PERIOD = 0.01

    def __init__(
        self,
        firmware: str,
        pin_map: str | None = None,
        link: str | None = None,
        speed: float = 1.0,
        joints: tuple[str, str] = ("left_wheel_joint", "right_wheel_joint"),
        battery_volts: float = 7.8,
    ):
        from edgebot_avr import EmulatedArduino, FirmwareError
        from edgebot_common.node_main import ConfigError
        from edgebot_firmata import pinmap

        from . import paths

        try:
            path = str(paths.resource("config", pin_map or "firmata.yaml", ".yaml"))
            self.pin_map = pinmap.load(path)
        except (FileNotFoundError, pinmap.PinMapError) as e:
            raise ConfigError(f"parameter 'arduino.pin_map' = {pin_map or ''!r}: {e}") from None
        self.pin_map_path = path
        pm = self.pin_map
        if pm.sonars:
            raise ConfigError(
                f"parameter 'arduino.firmware' = {firmware!r}: the pin map {path} has HC-SR04 "
                f"sonars ({', '.join(s.name for s in pm.sonars)}), which StandardFirmata cannot "
                f"time; use ir_ranges in a pin map for real firmware (config/firmata_standard.yaml)"
            )
        try:
            self.board = EmulatedArduino(
                board=pm.board,
                firmware=resolve_firmware(pm.board, firmware),
                link=link,
                speed=speed,
            )
        except (FirmwareError, ValueError) as e:
            raise ConfigError(f"parameter 'arduino.firmware' = {firmware!r}: {e}") from None
        self.link = link
        self.motors = [pm.motor_for_joint(j) for j in joints]
        self.bumper_pins = [(d.pin, d.inverted) for d in pm.digital_inputs if "bump" in d.name]
        self.ir_ranges = list(pm.ir_ranges)
        self.encoders = [
            (e, self.board.quadrature(e.pin_a, e.pin_b)) for e in getattr(pm, "encoders", [])
        ]
        for a in pm.analog_inputs:
            if a.type == "battery":
                self.board.set_analog(a.channel, min(5.0, battery_volts / a.divider))
        self._lock = threading.Lock()
        self._speeds: tuple[float, float] = (0.0, 0.0)
        self._read_at = -math.inf
        self.sonar_updates = 0
        self.set_bumper(False)
        self.set_sonar(math.inf)

    def start(self) -> str:
        return self.board.start()

    def _reader(self, motor):
        """A motor's pins as ``Motor.duty_from`` reads them: PWM pins 0..pwm_max (the timer's
        duty, or full/none for a plain level), direction pins 0/1."""
        pwm = set(motor.pwm_pins())

        def read(pin: int) -> float:
            st = self.board.pin(pin)
            out = st.mode == "output"
            if pin in pwm:
                if not out:
                    return 0.0
                if st.pwm_duty is not None:
                    return st.pwm_duty * motor.pwm_max
                return float(motor.pwm_max) if st.level else 0.0
            return 1.0 if out and st.level else 0.0

        return read

    def wheel_velocities(self) -> tuple[float, float]:
        """Target wheel joint speeds (rad/s) the emulated motor pins ask for now."""
        now = time.monotonic()
        with self._lock:
            if now - self._read_at >= self.READ_PERIOD:
                self._read_at = now
                self._speeds = tuple(
                    0.0 if m is None else m.wheel_speed(self._reader(m)) for m in self.motors
                )
            return self._speeds

    def set_sonar(self, metres: float) -> None:
        """The ray-cast distance, as each IR sensor's output voltage on its analog pin."""
        for ir in self.ir_ranges:
            self.board.set_analog(ir.channel, min(5.0, max(0.0, ir.volts(metres))))
        self.sonar_updates += 1

    def set_wheel_speeds(self, speeds: dict) -> None:
        """Wheel joint velocities {joint: rad/s} -> quadrature edges per emulated second on each
        encoder (counts_per_rev counts per revolution, A leading B forward, ``reversed``
        mirrored). Re-armed only on a change of more than 1 %."""
        for enc, quad in self.encoders:
            v = speeds.get(enc.joint)
            if v is None or not math.isfinite(v):
                continue
            rate = v / (2.0 * math.pi) * enc.counts_per_rev * (-1.0 if enc.reversed else 1.0)
            if abs(rate) < 0.5:
                rate = 0.0
            if abs(rate - quad.rate) > 0.01 * abs(rate) or (rate == 0.0) != (quad.rate == 0.0):
                quad.set_rate(rate)

    def set_bumper(self, pressed: bool) -> None:
        for pin, inverted in self.bumper_pins:
            self.board.set_digital(pin, (not pressed) if inverted else pressed)

    def stats(self) -> dict:
        s = self.board.stats()
        out = {f"arduino_{k}": v for k, v in s.items() if isinstance(v, (int, float))}
        out["arduino_host_connected"] = bool(s["connected"])
        out["arduino_realtime_factor"] = round(self.board.realtime_factor, 3)
        for enc, quad in self.encoders:
            out[f"arduino_encoder_{enc.name}_edges"] = quad.edges
        return out

    def stop(self) -> None:
        self.board.stop()
