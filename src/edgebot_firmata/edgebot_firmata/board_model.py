"""The Firmata board model (ROS-free, no I/O, no threads, no wall clock).

    board = FirmataBoard(board="uno", firmware="FirmataExpress")
    out = board.host_opened(now)            # DTR reset when the host opens the port
    out += board.feed(b"\\xf0\\x79\\xf7", now)  # host bytes in, the board's replies out
    out += board.tick(now)                   # loop(): digital changes, sampling branch
    board.next_tick_at()                     # when the sampling branch runs next

Time is whatever the caller passes as ``now`` (seconds): the pty transport
(:mod:`edgebot_firmata.virtual_arduino`) passes ``time.monotonic()``, unit tests pass a
counter. It behaves like FirmataExpress 1.2 (115200 baud) or StandardFirmata 2.4 (57600) on
an ATmega board; :mod:`edgebot_firmata.firmware` holds what each firmware can do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import boards
from . import firmware as FW
from . import protocol as P

INTER_PING_MS = 40
SONAR_TIMEOUT_CM = 1372  # the Ultrasonic library's 80 ms timeout, as distance
MAX_SONARS = 6
TX_BUFFER = 64  # bytes the AVR's serial TX buffer holds before write blocks

Listener = Callable[[int, str, object], None]


class FirmataBoard:
    """State machine of the sketch: bytes in, bytes out, inputs set from outside."""

    def __init__(
        self,
        board: str = "uno",
        firmware: str = "FirmataExpress",
        instance_id: int = 1,
        now: float = 0.0,
        boot_delay_s: float = 0.0,
    ):
        if not (math.isfinite(boot_delay_s) and boot_delay_s >= 0):
            raise ValueError(f"boot_delay_s {boot_delay_s!r}: allowed a finite value >= 0")
        self.boot_delay_s = float(boot_delay_s)
        self._boot_until: float | None = None  # set while the boot loader holds the sketch
        self.fw = FW.get(firmware)
        self.model = boards.get(board)
        self.firmware = firmware
        self.baud = self.fw.baud
        self.instance_id = instance_id
        self._listeners: list[Listener] = []
        self.keepalive_expired = False
        self.stats: dict[str, int] = {
            "bytes_in": 0,
            "bytes_out": 0,
            "tx_dropped": 0,
            "resets": 0,
            "host_connects": 0,
            "analog_reports": 0,
            "digital_reports": 0,
            "sonar_reports": 0,
            "bytes_lost_in_boot": 0,
        }
        self.parser = P.host_parser()
        n = self.model.total_pins
        self._din: dict[int, bool] = {}
        self._din_pending: list[tuple] = []
        self._now = now
        self._tx_end = now
        self._accounted = 0
        self._ain = [0] * len(self.model.analog)
        self._sonar_m: dict[int, float] = {}
        self._mode = [P.IGNORE] * n
        self._value = [0] * n
        self._servo_pulses: dict[int, tuple] = {}
        self._resetting = False
        self._out = bytearray()
        self._caps = self.model.capabilities(firmware, legacy=self.fw.legacy_caps)
        self._reboot(now)

    # ------------------------------------------------------------------ the wire
    def feed(self, data: bytes, now: float) -> bytes:
        """Bytes from the host; returns what the board sends in reply."""
        self._now = max(self._now, now)
        self.stats["bytes_in"] += len(data)
        if self._boot_until is not None:
            if now < self._boot_until:  # the boot loader reads the line, the sketch never sees it
                self.stats["bytes_lost_in_boot"] += len(data)
                return b""
            self._start_sketch(now)
        if self._din_pending:  # loop(): checkDigitalInputs() before processInput()
            self._check_digital(now)
        for frame in self.parser.feed(data):
            self._handle(frame, now)
        return self._take()

    def tick(self, now: float) -> bytes:
        """One pass of loop(): digital ports on change; the sampling branch when due."""
        self._now = max(self._now, now)
        if self._boot_until is not None:
            if now < self._boot_until:
                return b""
            self._start_sketch(now)
        self._check_digital(now)
        step = self._sampling_ms / 1000.0
        if now - self._last_sample >= step:
            self._sample(now)
            self._last_sample += step
            if self._last_sample < now - 0.5:  # fell far behind (a loaded machine)
                self._last_sample = now
        return self._take()

    def next_tick_at(self) -> float:
        if self._boot_until is not None:
            return self._boot_until
        return self._last_sample + self._sampling_ms / 1000.0

    @property
    def booting(self) -> bool:
        """True while the boot loader runs after a DTR reset (the sketch is not running yet)."""
        return self._boot_until is not None

    def host_opened(self, now: float) -> bytes:
        """Opening the port raises DTR, which resets an Uno: the host meets a fresh board."""
        self._now = max(self._now, now)
        self._tx_end = self._now
        self.stats["host_connects"] += 1
        self._reboot(now)
        if self.boot_delay_s > 0:
            # an Uno's boot loader runs first after a DTR reset: the sketch's setup() (and
            # StandardFirmata's boot report) comes boot_delay_s later, like edgebot_avr's
            # emulated board; a host that flushes its input after opening loses nothing
            self._boot_until = now + self.boot_delay_s
        else:
            self._start_sketch(now)
        return self._take()

    def _start_sketch(self, now: float) -> None:
        """setup(): the boot loader has handed over; StandardFirmata announces itself."""
        self._boot_until = None
        self._last_sample = now
        self._keepalive_last = now
        if self.fw.version_at_boot:
            self._out += bytes([P.REPORT_VERSION, *self.fw.protocol_version])
            self._send_firmware()

    def _take(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        # the UART: 10 bits per byte at the baud rate, behind what is still in flight (the
        # input reports were already placed at the time the loop sent them)
        fresh = len(out) - self._accounted
        self._accounted = 0
        if fresh > 0:
            self._tx_end = max(self._tx_end, self._now) + fresh * 10.0 / self.baud
        return out

    def emit(self, data: bytes) -> None:
        """Queue raw bytes for the host (tests: garbage on the line)."""
        self._out += data

    # ------------------------------------------------------------------ the outside world
    def check_pin(self, pin: int) -> None:
        if not 0 <= pin < self.model.total_pins:
            raise ValueError(f"{self.model.name} has pins 0..{self.model.total_pins - 1}")

    def set_digital_input(self, pin: int, value: bool, now: float | None = None) -> None:
        """A level change at the pin at time ``now`` (default: the board's last time). The
        chip's loop looks at its inputs far more often than a caller can toggle pins, so each
        change is a port report of its own -- unless the loop was blocked in Serial.write()
        (TX buffer full), when the changes made meanwhile are seen together (an encoder then
        loses edges, as on the chip)."""
        self.check_pin(pin)
        self._din_pending.append((pin, bool(value), self._now if now is None else now))

    def set_analog_input(self, analog_pin: int, raw: int) -> None:
        if not 0 <= analog_pin < len(self._ain):
            raise ValueError(f"{self.model.name} has analog pins A0..A{len(self._ain) - 1}")
        self._ain[analog_pin] = max(0, min(1023, int(raw)))

    def set_sonar_distance(self, trigger_pin: int, metres: float | None) -> None:
        self.check_pin(trigger_pin)
        self._sonar_m[trigger_pin] = float("inf") if metres is None else float(metres)

    def pin_mode(self, pin: int) -> str:
        self.check_pin(pin)
        return P.MODE_NAMES.get(self._mode[pin], f"MODE_{self._mode[pin]}")

    def output(self, pin: int):
        """Digital 0/1 (OUTPUT), PWM 0..255, servo angle in degrees, tone Hz (0 = silent);
        0 for other modes."""
        self.check_pin(pin)
        if self._mode[pin] in (P.OUTPUT, P.PWM, P.SERVO, P.TONE):
            return self._value[pin]
        return 0

    def pwm_duty(self, pin: int) -> float | None:
        """Duty 0..1 a logic analyser would see on a PWM pin; None when the pin is not in
        PWM mode or its timer is taken by the Servo library (an attached servo takes Timer1
        on an Uno: analogWrite on 9 and 10 stops, as on the chip)."""
        self.check_pin(pin)
        if self._mode[pin] != P.PWM:
            return None
        if any(m == P.SERVO for m in self._mode):
            n = sum(1 for m in self._mode if m == P.SERVO)
            if self.model.timer_of(pin) in self.model.servo_timers_for(n):
                return None
        return self._value[pin] / 255.0

    def add_output_listener(self, callback: Listener) -> None:
        self._listeners.append(callback)

    @property
    def keepalive_period(self) -> int:
        return self._keepalive_s

    @property
    def sampling_interval_ms(self) -> int:
        return self._sampling_ms

    def keepalive_touch(self, now: float) -> None:
        """Restart the keep-alive count (a hung sketch resuming)."""
        self._keepalive_last = now

    # ------------------------------------------------------------------ firmware model
    def _reboot(self, now: float) -> None:
        """Power-on / watchdog / DTR reset: everything back to the sketch's setup()."""
        self._keepalive_s = 0
        self._keepalive_last = now
        self._sampling_ms = 19
        self._last_sample = now
        self._ping_loops = INTER_PING_MS // self._sampling_ms
        self._system_reset()
        self.stats["resets"] += 1

    def _system_reset(self) -> None:
        """systemResetCallback(): pins to defaults, reporting off, sonars and servos gone."""
        n = self.model.total_pins
        self._resetting = True
        self._report_ports = [False] * ((n + 7) // 8)
        self._prev_ports = [0] * len(self._report_ports)
        self._report_analog = 0
        self._sonars: list[int] = []
        self._next_sonar = 0
        self._ping_counter = 0
        self._servo_pulses = {}
        for pin in range(n):
            if pin in self.model.analog:
                self._set_mode(pin, P.ANALOG)
            elif pin in self.model.digital:
                self._set_mode(pin, P.OUTPUT)
            else:
                self._mode[pin] = P.IGNORE
                self._value[pin] = 0
        self._report_analog = 0
        self._resetting = False

    def _notify(self, pin: int) -> None:
        mode = P.MODE_NAMES.get(self._mode[pin], str(self._mode[pin]))
        value = self._value[pin]
        for cb in list(self._listeners):
            try:
                cb(pin, mode, value)
            except Exception:  # a listener's bug must not stop the board
                pass

    def _set_mode(self, pin: int, mode: int) -> None:
        if pin >= self.model.total_pins or (
            pin not in self.model.digital and pin not in self.model.analog
        ):
            return
        if mode not in self.fw.pin_modes:
            self._send_string("Unknown pin mode")  # what StandardFirmata 2.4 answers
            return
        if mode not in self._caps[pin]:
            return  # the firmware ignores modes a pin cannot do
        was_output = self._mode[pin] in (P.OUTPUT, P.PWM, P.SERVO)
        old_value = self._value[pin]
        if pin in self.model.analog:
            ch = self.model.analog[pin]
            if mode == P.ANALOG:
                self._report_analog |= 1 << ch
                if not self._resetting:
                    self._send_analog(ch)
            else:
                self._report_analog &= ~(1 << ch)
        self._mode[pin] = mode
        self._value[pin] = 1 if mode == P.PULLUP else 0
        if mode != P.SERVO:
            self._servo_pulses.pop(pin, None)
        is_output = mode in (P.OUTPUT, P.PWM, P.SERVO)
        if is_output or (was_output and old_value != 0):
            self._notify(pin)

    def _set_output(self, pin: int, value: int) -> None:
        if self._value[pin] != value:
            self._value[pin] = value
            self._notify(pin)

    def _handle(self, f: P.Frame, now: float) -> None:
        if f.is_sysex:
            self._handle_sysex(f.command, f.data, now)
            return
        cmd, d = f.command, f.data
        hi = cmd & 0xF0
        if hi == P.DIGITAL_MESSAGE:
            self._digital_write_port(cmd & 0x0F, d[0] | (d[1] << 7))
        elif hi == P.ANALOG_MESSAGE:
            self._analog_write(cmd & 0x0F, d[0] | (d[1] << 7))
        elif hi == P.REPORT_ANALOG:
            ch = cmd & 0x0F
            if ch < len(self._ain):
                if d[0]:
                    self._report_analog |= 1 << ch
                    self._send_analog(ch)
                else:
                    self._report_analog &= ~(1 << ch)
        elif hi == P.REPORT_DIGITAL:
            port = cmd & 0x0F
            if port < len(self._report_ports):
                self._report_ports[port] = bool(d[0])
                if d[0]:
                    self._send_port(port, force=True)
        elif cmd == P.SET_PIN_MODE:
            pin, mode = d
            if pin < self.model.total_pins:
                self._set_mode(pin, mode)
        elif cmd == P.SET_DIGITAL_PIN_VALUE:
            pin, value = d
            if (
                self.fw.set_pin_value
                and pin < self.model.total_pins
                and self._mode[pin] == P.OUTPUT
            ):
                self._set_output(pin, 1 if value else 0)
        elif cmd == P.REPORT_VERSION:
            self._out += bytes([P.REPORT_VERSION, *self.fw.protocol_version])
        elif cmd == P.SYSTEM_RESET:
            self._system_reset()

    def _digital_write_port(self, port: int, bits: int) -> None:
        for i in range(8):
            pin = port * 8 + i
            if pin >= self.model.total_pins:
                break
            if self._mode[pin] == P.OUTPUT:
                self._set_output(pin, (bits >> i) & 1)

    def _analog_write(self, pin: int, value: int) -> None:
        if pin >= self.model.total_pins:
            return
        mode = self._mode[pin]
        if mode == P.PWM:
            self._set_output(pin, min(value, 255))
        elif mode == P.SERVO:
            self._set_output(pin, min(value, 180))

    def _handle_sysex(self, cmd: int, d: list[int], now: float) -> None:
        fw = self.fw
        if cmd == P.ARE_YOU_THERE and fw.are_you_there:
            self._out += P.sysex(P.I_AM_HERE, [self.instance_id & 0x7F])
        elif cmd == P.KEEP_ALIVE and fw.keep_alive and len(d) >= 2:
            self._keepalive_s = P.from7(d[:2])
            self._keepalive_last = now
            if self._keepalive_s:
                self.keepalive_expired = False
        elif cmd == P.REPORT_FIRMWARE:
            self._send_firmware()
        elif cmd == P.CAPABILITY_QUERY:
            self._out += P.sysex(P.CAPABILITY_RESPONSE, P.encode_capabilities(self._caps))
        elif cmd == P.ANALOG_MAPPING_QUERY:
            self._out += P.sysex(P.ANALOG_MAPPING_RESPONSE, self.model.analog_mapping())
        elif cmd == P.PIN_STATE_QUERY and d:
            pin = d[0]
            body = [pin]
            if pin < self.model.total_pins:
                v = self._value[pin]
                body += [self._mode[pin], v & 0x7F]
                if v > 0x7F:
                    body.append((v >> 7) & 0x7F)
            self._out += P.sysex(P.PIN_STATE_RESPONSE, body)
        elif cmd == P.SAMPLING_INTERVAL and len(d) >= 2:
            self._sampling_ms = max(1, P.from7(d[:2]))
            self._ping_loops = INTER_PING_MS // self._sampling_ms
        elif cmd == P.SERVO_CONFIG and len(d) >= 5:
            pin = d[0]
            if pin in self.model.digital:
                self._set_mode(pin, P.SERVO)
                self._servo_pulses[pin] = (P.from7(d[1:3]), P.from7(d[3:5]))
        elif cmd == P.EXTENDED_ANALOG and len(d) >= 2:
            self._analog_write(d[0], P.from7(d[1:]))
        elif cmd == P.TONE_DATA and fw.tone and len(d) >= 2:
            pin = d[1]
            if pin < self.model.total_pins and self._mode[pin] == P.TONE:
                self._set_output(pin, P.from7(d[2:4]) if d[0] == 0 and len(d) >= 4 else 0)
        elif cmd == P.SONAR_CONFIG and fw.sonar and len(d) >= 4:
            trig, echo = d[0], d[1]
            if (
                len(self._sonars) < MAX_SONARS
                and trig < self.model.total_pins
                and echo < self.model.total_pins
            ):
                self._set_mode(trig, P.SONAR)
                self._set_mode(echo, P.SONAR)
                self._sonars.append(trig)
            else:
                self._send_string("PING_CONFIG Error: Exceeded number of supported ping devices")
        # anything else (I2C, stepper, tone, DHT on a board without them) is ignored, as
        # Firmata does for sysex commands it does not implement

    def _send_firmware(self) -> None:
        major, minor = self.fw.version
        self._out += P.sysex(P.REPORT_FIRMWARE, [major, minor, *P.encode_string(self.fw.file)])

    def _send_string(self, text: str) -> None:
        self._out += P.sysex(P.STRING_DATA, P.encode_string(text))

    def _send_analog(self, ch: int) -> None:
        if ch > 15:
            return
        v = self._ain[ch]
        self.stats["analog_reports"] += 1
        self._out += bytes([P.ANALOG_MESSAGE | ch, v & 0x7F, (v >> 7) & 0x7F])

    def _read_port(self, port: int) -> int:
        bits = 0
        for i in range(8):
            pin = port * 8 + i
            if pin >= self.model.total_pins:
                break
            mode = self._mode[pin]
            if mode in (P.INPUT, P.PULLUP):
                level = self._din.get(pin, mode == P.PULLUP)
                if level:
                    bits |= 1 << i
        return bits

    def _send_port(self, port: int, force: bool = False) -> None:
        bits = self._read_port(port)
        if force or bits != self._prev_ports[port]:
            self._prev_ports[port] = bits
            self.stats["digital_reports"] += 1
            self._out += bytes([P.DIGITAL_MESSAGE | port, bits & 0x7F, (bits >> 7) & 0x7F])

    def _check_digital(self, now: float | None = None) -> None:
        """checkDigitalInputs() at each queued input change, or, while the TX buffer was
        full, when the loop got out of Serial.write() again."""
        pending, self._din_pending = self._din_pending, []
        if not pending:
            self._report_changed_ports()
            return
        i = 0
        while i < len(pending):
            unblocked = self._tx_end - (TX_BUFFER - 3) * 10.0 / self.baud
            t_read = max(pending[i][2], unblocked)
            while i < len(pending) and pending[i][2] <= t_read:
                self._din[pending[i][0]] = pending[i][1]
                i += 1
            n = len(self._out)
            self._report_changed_ports()
            sent = len(self._out) - n
            if sent:
                self._tx_end = max(self._tx_end, t_read) + sent * 10.0 / self.baud
                self._accounted += sent

    def _report_changed_ports(self) -> None:
        for port, on in enumerate(self._report_ports):
            if on:
                self._send_port(port)

    def _sample(self, now: float) -> None:
        """One pass of loop()'s sampling branch: sonar ping, analog reports, keep-alive."""
        self._ping_counter += 1
        if self._ping_counter > self._ping_loops:
            self._ping_counter = 0
            if self._sonars:
                if self._next_sonar >= len(self._sonars):
                    self._next_sonar = 0
                trig = self._sonars[self._next_sonar]
                self._next_sonar = (self._next_sonar + 1) % len(self._sonars)
                m = self._sonar_m.get(trig, float("inf"))
                cm = int(round(m * 100.0)) if math.isfinite(m) and m > 0 else 0
                if cm > SONAR_TIMEOUT_CM:
                    cm = 0
                self.stats["sonar_reports"] += 1
                self._out += P.sysex(P.SONAR_DATA, [trig, cm & 0x7F, (cm >> 7) & 0x7F])
        for pin, ch in self.model.analog.items():
            if self._mode[pin] == P.ANALOG and self._report_analog & (1 << ch):
                self._send_analog(ch)
        if self._keepalive_s:
            if now - self._keepalive_last > self._keepalive_s:
                # the sketch resets itself through the watchdog: outputs off, a fresh board
                self.keepalive_expired = True
                self._reboot(now)
