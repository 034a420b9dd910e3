"""The host side of the link (ROS-free): pymata4 with its failure modes contained, and a
:class:`BoardLink` that applies a pin map and turns commands into pin writes.

pymata4 1.15 is used unchanged as the protocol client. Its weak spots, and what this module
does about them (in a subclass, overriding private thread bodies only):

- its reader thread spins at 100 % CPU on a closed port (it swallows ``OSError`` and
  retries without sleeping): our reader reads in blocks, and a read error marks the link
  lost and ends the thread;
- an unknown command byte or sysex kills its reporter thread, a truncated sysex makes it
  busy-wait: every frame the board sends first goes through :func:`protocol.board_parser`,
  only complete, well-formed frames reach pymata4; the rest is counted as serial errors;
- a handler that chokes on a malformed but well-framed message (e.g. sonar data for a pin
  it does not know) is caught and counted;
- the keep-alive thread dies with a traceback on a lost port: ours ends quietly;
- ``get_capability_report`` waits forever: :meth:`FirmataClient.capability_report` times out;
- write failures raise :class:`LinkLost` and mark the link lost.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import serial
from pymata4.private_constants import PrivateConstants as PC
from pymata4.pymata4 import Pymata4

from . import protocol as P
from .encoders import WheelEncoder
from .pinmap import DigitalOutput, Motor, PinMap, PinMapError, PwmOutput, Servo, ToneOutput
from .supervisor import LinkLost


class FirmataClient(Pymata4):
    """Pymata4 whose threads never spin, never die loudly and never take the process down."""

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        arduino_wait: float = 0.1,
        instance_id: int = 1,
        sleep_tune: float = 0.005,
    ):
        self.parser = P.board_parser()
        self.lost = threading.Event()
        self.lost_reason = ""
        self.rx_bytes = 0
        self.handler_errors = 0
        self._closing = False
        #: on_report(P.DIGITAL_MESSAGE | P.ANALOG_MESSAGE, port or channel, value, t): every
        #: port and analog report as it arrives (pymata4 calls back only on a change from its
        #: initial 0, so an input already low at start would never be seen)
        self.on_report = None
        try:
            super().__init__(
                com_port=port,
                baud_rate=baud,
                arduino_instance_id=instance_id,
                arduino_wait=arduino_wait,
                sleep_tune=sleep_tune,
                shutdown_on_exception=False,
            )
        except BaseException:
            self._teardown()
            raise

    # -- containment -------------------------------------------------------------------
    def _mark_lost(self, reason: str) -> None:
        if self._closing or self.lost.is_set():
            return
        self.lost_reason = reason
        self.lost.set()

    def _serial_receiver(self):
        self.run_event.wait()
        while self._is_running() and not self.shutdown_flag:
            try:
                n = self.serial_port.in_waiting
                data = self.serial_port.read(n if n else 1)
            except (OSError, serial.SerialException, TypeError, AttributeError) as e:
                self._mark_lost(f"serial read failed: {e}")
                return
            if not data:
                continue
            self.rx_bytes += len(data)
            now = time.monotonic()
            for frame in self.parser.feed(data):
                self.the_deque.extend(frame.raw)
                if not frame.is_sysex and self.on_report is not None:
                    hi = frame.command & 0xF0
                    if hi == P.DIGITAL_MESSAGE or hi == P.ANALOG_MESSAGE:
                        try:
                            self.on_report(
                                hi, frame.command & 0x0F, frame.data[0] | (frame.data[1] << 7), now
                            )
                        except Exception:
                            self.handler_errors += 1

    def _send_command(self, command):
        if self.lost.is_set():
            raise LinkLost(self.lost_reason)
        try:
            return self.serial_port.write(bytes(command))
        except (OSError, serial.SerialException, AttributeError, TypeError) as e:
            self._mark_lost(f"serial write failed: {e}")
            raise LinkLost(self.lost_reason) from None

    def _send_keep_alive(self):
        while self.period and not self.shutdown_flag and not self.lost.is_set():
            try:
                self._send_sysex(PC.KEEP_ALIVE, self.keep_alive_interval)
            except Exception:
                return
            self.lost.wait(max(0.05, self.period - self.margin))

    def _teardown(self) -> None:
        self._closing = True
        self.period = 0
        self.shutdown_flag = True
        try:
            self._stop_threads()
        except Exception:
            pass
        sp = getattr(self, "serial_port", None)
        if sp is not None:
            try:
                sp.cancel_read()
            except Exception:
                pass
            try:
                sp.close()
            except Exception:
                pass

    # -- queries with timeouts ---------------------------------------------------------
    def _query(self, key: int, command: int, timeout: float):
        self.query_reply_data[key] = None
        self._send_sysex(command)
        deadline = time.monotonic() + timeout
        while self.query_reply_data.get(key) is None:
            if self.lost.is_set():
                raise LinkLost(self.lost_reason)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to sysex 0x{command:02x} within {timeout} s")
            time.sleep(0.005)
        return self.query_reply_data[key]

    def capability_report(self, timeout: float = 4.0) -> list[dict]:
        return P.parse_capabilities(
            self._query(PC.CAPABILITY_RESPONSE, PC.CAPABILITY_QUERY, timeout)
        )

    def analog_mapping(self) -> list[int]:
        return list(self.query_reply_data.get(PC.ANALOG_MAPPING_RESPONSE) or [])

    def close(self, reset: bool = True) -> None:
        """Reset the board (all pins to their power-on state) unless lost, then close."""
        if reset and not self.lost.is_set():
            try:
                if self.period:  # a clean goodbye: the board need not time out
                    self.period = 0
                    self._send_sysex(PC.KEEP_ALIVE, [0, 0])
                self.send_reset()
                self.serial_port.flush()
            except Exception:
                pass
        self._teardown()


def _guard(name: str):
    base = getattr(Pymata4, name)

    def handler(self, data):
        try:
            base(self, data)
        except Exception:
            self.handler_errors += 1

    handler.__name__ = name
    return handler


for _name in (
    "_analog_message",
    "_digital_message",
    "_sonar_data",
    "_report_firmware",
    "_report_version",
    "_capability_response",
    "_analog_mapping_response",
    "_pin_state_response",
    "_string_data",
    "_i2c_reply",
    "_dht_read_response",
):
    setattr(FirmataClient, _name, _guard(_name))


def firmware_kind(firmware_id: str) -> str:
    return "FirmataExpress" if "Express" in (firmware_id or "") else "StandardFirmata"


class BoardLink:
    """One connection to a board, with the pin map applied.

    Commands write only values that changed (``_last`` per pin); :meth:`apply` resets that
    cache, so after a reconnect everything is written again. Callbacks deliver inputs:
    ``on_digital(name, bool)``, ``on_analog(name, raw)`` from pymata4's reporter thread.
    """

    def __init__(
        self,
        pm: PinMap,
        port: str,
        baud: int,
        arduino_wait: float = 0.1,
        keep_alive_s: int = 1,
        instance_id: int = 1,
        on_digital: Callable[[str, bool], None] | None = None,
        on_analog: Callable[[str, int], None] | None = None,
        encoders: dict[str, WheelEncoder] | None = None,
    ):
        self.pm = pm
        self.port = port
        self.baud = baud
        self.arduino_wait = arduino_wait
        self.keep_alive_s = keep_alive_s
        self.instance_id = instance_id
        self.on_digital = on_digital
        self.on_analog = on_analog
        #: encoder name -> WheelEncoder, fed from the port reports of its two pins
        self.encoders = encoders if encoders is not None else {}
        self.client: FirmataClient | None = None
        self.firmware_id = ""
        self.protocol_version = ""
        self._io = threading.RLock()
        self._last: dict[tuple[int, str], int] = {}
        self._probe: tuple[int, int] | None = None
        self._ports_out: dict[int, int] = {}  # port -> bits last written to its outputs
        self._analog_names: dict[int, list[str]] = {}
        self._port_inputs: dict[int, list[tuple[int, str, bool]]] = {}
        self._port_levels: dict[int, int] = {}
        self._port_encoders: dict[int, list] = {}
        self.writes = 0
        self._totals = {"rx_bytes": 0, "rx_frames": 0, "serial_errors": 0}

    # -- connection --------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        c = self.client
        return c is not None and not c.lost.is_set()

    def connect(self) -> None:
        """Open the port, check the pin map against the board, apply it.

        Raises PinMapError when the board cannot do what the map asks (wrong board or
        firmware), anything else (OSError, RuntimeError, TimeoutError, LinkLost) when the
        board is not reachable.
        """
        with self._io:
            self.close(reset=False)
            client = FirmataClient(self.port, self.baud, self.arduino_wait, self.instance_id)
            client.on_report = self._on_report
            try:
                self.firmware_id = client.query_reply_data.get(PC.REPORT_FIRMWARE) or ""
                caps = client.capability_report()
                amap = client.analog_mapping()
                self.pm.check(
                    caps,
                    amap,
                    firmware=firmware_kind(self.firmware_id),
                    source=f"board on {self.port} ({self.firmware_id.strip()})",
                )
                self.client = client
                self.apply()
            except BaseException:
                self.client = None
                client.close(reset=False)
                raise

    def lost_reason(self) -> str | None:
        c = self.client
        if c is None:
            return "not connected"
        if c.lost.is_set():
            return c.lost_reason
        if not os.path.exists(self.port):
            return f"port {self.port} vanished"
        return None

    def close(self, reset: bool = True) -> None:
        with self._io:
            c, self.client = self.client, None
            if c is not None:
                for k, v in self._client_stats(c).items():
                    self._totals[k] += v
                if reset and not c.lost.is_set():
                    try:
                        self._safe_all_with(c)
                    except Exception:
                        pass
                c.close(reset=reset)

    # -- pin map -----------------------------------------------------------------------
    def apply(self) -> None:
        c = self.client
        pm = self.pm
        self._last.clear()
        self._ports_out.clear()  # a fresh board: every output pin low
        for m in pm.motors:
            for p in m.digital_pins():
                c.set_pin_mode_digital_output(p)
            for p in m.pwm_pins():
                c.set_pin_mode_pwm_output(p)
            self.write_motor(m, 0.0)
        for o in pm.pwm_outputs:
            c.set_pin_mode_pwm_output(o.pin)
            self.write_pwm(o, o.safe)
        for o in pm.digital_outputs:
            c.set_pin_mode_digital_output(o.pin)
            self.write_digital(o, o.safe)
        for t in pm.tones:
            c.set_pin_mode_tone(t.pin)
            self.write_tone(t, 0.0)
        for s in pm.servos:
            c.set_pin_mode_servo(s.pin, s.min_pulse_us, s.max_pulse_us)
            if s.safe is not None:
                self.write_servo(s, s.safe)
        analog: dict[int, list[str]] = {}
        for a in pm.analog_inputs + pm.ir_ranges:
            analog.setdefault(a.channel, []).append(a.name)
        ports: dict[int, list[tuple[int, str, bool]]] = {}
        for d in pm.digital_inputs:
            ports.setdefault(d.pin // 8, []).append((d.pin % 8, d.name, d.inverted))
        self._analog_names, self._port_inputs = analog, ports
        self._port_levels = {}
        enc_ports: dict[int, list] = {}
        for e in pm.encoders:
            wheel = self.encoders.get(e.name)
            if wheel is None:
                continue
            wheel.decoder.reset()  # the first report sets the state: no count
            for pin in (e.pin_a, e.pin_b):
                if e.pullup:
                    c.set_pin_mode_digital_input_pullup(pin)
                else:
                    c.set_pin_mode_digital_input(pin)
            for port in {e.pin_a // 8, e.pin_b // 8}:
                enc_ports.setdefault(port, []).append((e, wheel))
        self._port_encoders = enc_ports
        for d in pm.digital_inputs:
            if d.pullup:
                c.set_pin_mode_digital_input_pullup(d.pin)
            else:
                c.set_pin_mode_digital_input(d.pin)
        for a in pm.analog_inputs + pm.ir_ranges:
            c.set_pin_mode_analog_input(a.channel)
        for s in pm.sonars:
            with c.the_sonar_map_lock:
                c.active_sonar_map.pop(s.trigger, None)  # pymata4 skips known triggers
            c.set_pin_mode_sonar(s.trigger, s.echo)
        if self.keep_alive_s and firmware_kind(self.firmware_id) == "FirmataExpress":
            if c.the_keep_alive_thread.ident is None:
                # pymata4's keep_alive() also sends the period as the sampling interval (a
                # bug of 1.15): the sampling interval is set after it
                c.keep_alive(period=self.keep_alive_s, margin=0.3)
            else:  # re-applying: the keep-alive thread already runs
                c._send_sysex(PC.KEEP_ALIVE, c.keep_alive_interval)
        c.set_sampling_interval(pm.sampling_interval_ms)
        for port in set(ports) | set(enc_ports):  # every input's port once more: its state now
            c._send_command([PC.REPORT_DIGITAL + port, PC.REPORTING_ENABLE])
        self._probe = self._probe_target()

    def _probe_target(self) -> tuple[int, int] | None:
        """A configured pin and the mode the pin map gave it, to check the board still has
        the map (a board that reset itself reports its power-on mode instead)."""
        pm = self.pm
        for m in pm.motors:
            return m.pwm, P.PWM
        for o in pm.pwm_outputs:
            return o.pin, P.PWM
        for s in pm.servos:
            return s.pin, P.SERVO
        for s in pm.sonars:
            return s.trigger, P.SONAR
        for d in pm.digital_inputs:
            return d.pin, P.PULLUP if d.pullup else P.INPUT
        return None

    def probe(self, timeout: float = 0.5) -> str:
        """Ask the board for the mode of the probe pin: ``ok``, ``reset`` (the board lost the
        pin map: keep-alive expiry, brown-out, watchdog), ``silent`` (no answer in time) or
        ``none`` (nothing to probe). Raises LinkLost when the link is gone."""
        target = self._probe
        if target is None:
            return "none"
        pin, mode = target
        with self._io:
            c = self._client()
            c.query_reply_data[PC.PIN_STATE_RESPONSE] = None
            c._send_sysex(PC.PIN_STATE_QUERY, [pin])
        deadline = time.monotonic() + timeout
        while True:
            reply = c.query_reply_data.get(PC.PIN_STATE_RESPONSE)
            if reply is not None and len(reply) >= 2 and reply[0] == pin:
                return "ok" if reply[1] == mode else "reset"
            if c.lost.is_set():
                raise LinkLost(c.lost_reason)
            if time.monotonic() > deadline:
                return "silent"
            time.sleep(0.005)

    def reapply(self) -> None:
        with self._io:
            self._client()
            self.apply()

    def mark_lost(self, reason: str) -> None:
        c = self.client
        if c is not None:
            c._mark_lost(reason)

    def _on_report(self, kind: int, index: int, value: int, t: float) -> None:
        """Every port/analog report from the reader thread: inputs by name."""
        if kind == P.ANALOG_MESSAGE:
            if self.on_analog is not None:
                for name in self._analog_names.get(index, ()):
                    self.on_analog(name, value)
            return
        levels = self._port_levels
        levels[index] = value
        for e, wheel in self._port_encoders.get(index, ()):
            pa, pb = e.pin_a // 8, e.pin_b // 8
            if pa in levels and pb in levels:
                wheel.decoder.update(
                    levels[pa] >> (e.pin_a % 8) & 1, levels[pb] >> (e.pin_b % 8) & 1, t
                )
        if self.on_digital is not None:
            for bit, name, inverted in self._port_inputs.get(index, ()):
                self.on_digital(name, bool(value >> bit & 1) != inverted)

    # -- outputs -------------------------------------------------------------------------
    def _write(self, c: FirmataClient, pin: int, kind: str, value: int) -> None:
        key = (pin, kind)
        if self._last.get(key) == value:
            return
        if kind == "digital":
            # a port write (DIGITAL_MESSAGE), which every Firmata version understands;
            # SET_DIGITAL_PIN_VALUE (pymata4's digital_pin_write) exists only from 2.5 and
            # StandardFirmata 2.4 ignores it. The port's other output bits are kept.
            port, bit = pin // 8, 1 << (pin % 8)
            bits = self._ports_out.get(port, 0)
            bits = bits | bit if value else bits & ~bit
            c._send_command([P.DIGITAL_MESSAGE | port, bits & 0x7F, (bits >> 7) & 0x7F])
            self._ports_out[port] = bits
        elif kind == "pwm":
            c.pwm_write(pin, value)
        elif kind == "servo":
            c.servo_write(pin, value)
        elif kind == "tone":
            if value:
                c.play_tone_continuously(pin, value)
            else:
                c.play_tone_off(pin)
        self._last[key] = value
        self.writes += 1

    def _client(self) -> FirmataClient:
        c = self.client
        if c is None or c.lost.is_set():
            raise LinkLost(c.lost_reason if c is not None else "not connected")
        return c

    def _fast_check(self) -> None:
        """Raise LinkLost at once (without waiting for the lock a connect in progress holds,
        which can take seconds on real hardware) when there is no usable connection."""
        self._client()

    def write_motor(self, m: Motor, duty: float) -> None:
        self._fast_check()
        with self._io:
            c = self._client()
            outs = m.outputs(duty)
            # PWMs going to 0 first, then direction pins, then the new PWM: a direction flip
            # never drives the bridge at the old duty
            order = sorted(
                outs,
                key=lambda o: 0 if o[1] == "pwm" and o[2] == 0 else 1 if o[1] == "digital" else 2,
            )
            for pin, kind, v in order:
                self._write(c, pin, kind, v)

    def write_pwm(self, o: PwmOutput, duty: float) -> None:
        self._fast_check()
        with self._io:
            self._write(self._client(), o.pin, "pwm", o.value(duty))

    def write_digital(self, o: DigitalOutput, value: bool) -> None:
        self._fast_check()
        with self._io:
            self._write(self._client(), o.pin, "digital", 1 if value else 0)

    def write_tone(self, t: ToneOutput, frequency: float) -> None:
        self._fast_check()
        with self._io:
            self._write(self._client(), t.pin, "tone", t.hz(frequency))

    def write_servo(self, s: Servo, angle: float) -> None:
        self._fast_check()
        with self._io:
            self._write(self._client(), s.pin, "servo", s.degrees(angle))

    def _safe_all_with(self, c: FirmataClient) -> None:
        for m in self.pm.motors:
            for pin, kind, v in m.outputs(0.0):
                self._write(c, pin, kind, v)
        for o in self.pm.pwm_outputs:
            self._write(c, o.pin, "pwm", o.value(o.safe))
        for o in self.pm.digital_outputs:
            self._write(c, o.pin, "digital", 1 if o.safe else 0)
        for s in self.pm.servos:
            if s.safe is not None:
                self._write(c, s.pin, "servo", s.degrees(s.safe))
        for t in self.pm.tones:
            self._write(c, t.pin, "tone", 0)

    # -- inputs polled -------------------------------------------------------------------
    def sonar_cm(self, trigger: int) -> int | None:
        c = self.client
        if c is None:
            return None
        return int(c.sonar_read(trigger)[0])

    @staticmethod
    def _client_stats(c: FirmataClient) -> dict:
        return {
            "rx_bytes": c.rx_bytes,
            "rx_frames": c.parser.frames,
            "serial_errors": c.parser.error_total + c.handler_errors,
        }

    def stats(self) -> dict:
        """Totals over all connections: bytes and frames received, serial errors."""
        out = dict(self._totals)
        c = self.client
        if c is not None:
            for k, v in self._client_stats(c).items():
                out[k] += v
            for k, v in c.parser.errors.items():
                out[f"serial_error_{k}"] = v
        return out


__all__ = ["FirmataClient", "BoardLink", "LinkLost", "PinMapError", "firmware_kind"]
