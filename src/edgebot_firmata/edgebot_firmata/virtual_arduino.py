"""A virtual Arduino that speaks Firmata on a pseudo-terminal (ROS-free).

    board = VirtualArduino(board="uno", firmware="FirmataExpress")
    path = board.start(link="/tmp/ttyVIRT0")   # pymata4 / firmata_node open this like a USB port
    board.set_analog_input(0, 612); board.set_sonar_distance(12, 0.85)
    board.output(5)  -> 128                     # PWM duty the host wrote
    board.stop()

It behaves like FirmataExpress (115200 baud) or StandardFirmata (57600) on an ATmega board:
it answers the firmware/protocol version, capability, analog-mapping, pin-state and
board-identity (ARE_YOU_THERE) queries, keeps pin modes, reports digital ports on change and
analog pins at the sampling interval, drives PWM/servo outputs, pings HC-SR04 sonars (every
~40 ms, distance in cm) and resets itself when FirmataExpress keep-alives stop. Like an Uno it
resets when the host opens the port. Its output is paced to the baud rate (a UART's 10 bits
per byte), so link-rate figures mean what they would on the real board.

``edgebot virtual-arduino [--board uno] [--firmware FirmataExpress] [--link PATH]`` runs one
and prints its device path.
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import select
import signal
import sys
import threading
import time
import tty
from typing import Callable, Dict, List, Optional

from . import boards
from . import protocol as P

BAUD = {"FirmataExpress": 115200, "StandardFirmata": 57600}
FIRMWARE_VERSION = {"FirmataExpress": (1, 2), "StandardFirmata": (2, 5)}
FIRMWARE_FILE = {"FirmataExpress": "FirmataExpress.ino", "StandardFirmata": "StandardFirmata.ino"}
PROTOCOL_VERSION = (2, 5)
INTER_PING_MS = 40
SONAR_TIMEOUT_CM = 1372          # the Ultrasonic library's 80 ms timeout, as distance
MAX_SONARS = 6
TX_BUFFER = 64                   # bytes the AVR's serial TX buffer holds before write blocks

Listener = Callable[[int, str, object], None]


class VirtualArduino:
    """A Firmata board model served on a pty by a background thread."""

    def __init__(self, board: str = "uno", firmware: str = "FirmataExpress",
                 instance_id: int = 1, pace: bool = True):
        if firmware not in BAUD:
            raise ValueError(f"firmware {firmware!r}: allowed {sorted(BAUD)}")
        self.model = boards.get(board)
        self.firmware = firmware
        self.baud = BAUD[firmware]
        self.instance_id = instance_id
        self.pace = pace
        self._lock = threading.RLock()
        self._listeners: List[Listener] = []
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._master: Optional[int] = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.path: Optional[str] = None
        self.link: Optional[str] = None
        self.host_connected = False
        self.keepalive_expired = False
        self.frozen = False
        self.stats: Dict[str, int] = {"bytes_in": 0, "bytes_out": 0, "tx_dropped": 0,
                                      "resets": 0, "host_connects": 0, "analog_reports": 0,
                                      "digital_reports": 0, "sonar_reports": 0}
        self._parser = P.host_parser()
        # inputs the outside world sets
        n = self.model.total_pins
        self._din: Dict[int, bool] = {}
        self._ain = [0] * len(self.model.analog)
        self._sonar_m: Dict[int, float] = {}
        # firmware state
        self._mode = [P.IGNORE] * n
        self._value = [0] * n
        self._servo_pulses: Dict[int, tuple] = {}
        self._resetting = False
        self._tx_free_at = 0.0
        self._keepalive_s = 0
        self._reboot()

    # ------------------------------------------------------------------ public API
    def start(self, link: Optional[str] = None) -> str:
        """Open a pty, serve it in a thread; returns the device path (and makes ``link``)."""
        if self._thread is not None:
            raise RuntimeError("virtual Arduino already started")
        if self._wake_r < 0:
            raise RuntimeError("a stopped virtual Arduino cannot be restarted; make a new one")
        self._stop.clear()
        self._open_pty(link)
        self._thread = threading.Thread(target=self._run, name="virtual-arduino", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Stop serving, close the pty and remove the link."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def unplug(self) -> None:
        """Like pulling the USB cable of an externally powered board: the port vanishes (the
        host's reads fail), the board keeps running (keep-alive still counts)."""
        with self._lock:
            self._close_pty()

    def replug(self) -> str:
        """Plug the cable back in: a new pty at the same link; returns the new device path."""
        with self._lock:
            if self._master is None:
                self._open_pty(self.link)
        self._wake()
        return self.path

    def freeze(self, frozen: bool = True) -> None:
        """A hung sketch (tests, fault injection): while frozen the board reads nothing, sends
        nothing and its outputs stay as they are; unfreezing carries on where it stopped."""
        self.frozen = bool(frozen)
        if not frozen:
            with self._lock:
                self._keepalive_last = time.monotonic()
        self._wake()

    def __enter__(self):
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def set_digital_input(self, pin: int, value: bool) -> None:
        self._check_pin(pin)
        with self._lock:
            self._din[pin] = bool(value)
        self._wake()

    def set_analog_input(self, analog_pin: int, raw: int) -> None:
        if not 0 <= analog_pin < len(self._ain):
            raise ValueError(f"{self.model.name} has analog pins A0..A{len(self._ain) - 1}")
        with self._lock:
            self._ain[analog_pin] = max(0, min(1023, int(raw)))

    def set_sonar_distance(self, trigger_pin: int, metres: Optional[float]) -> None:
        """What the HC-SR04 on ``trigger_pin`` measures; None/inf/out of range = no echo."""
        self._check_pin(trigger_pin)
        with self._lock:
            self._sonar_m[trigger_pin] = float("inf") if metres is None else float(metres)

    def pin_mode(self, pin: int) -> str:
        self._check_pin(pin)
        with self._lock:
            return P.MODE_NAMES.get(self._mode[pin], f"MODE_{self._mode[pin]}")

    def output(self, pin: int):
        """Digital 0/1 (OUTPUT), PWM 0..255, servo angle in degrees; 0 for other modes."""
        self._check_pin(pin)
        with self._lock:
            if self._mode[pin] in (P.OUTPUT, P.PWM, P.SERVO):
                return self._value[pin]
            return 0

    def add_output_listener(self, callback: Listener) -> None:
        """``callback(pin, mode_name, value)`` on every change of an output pin."""
        with self._lock:
            self._listeners.append(callback)

    def inject(self, data: bytes) -> None:
        """Send raw bytes to the host (tests: garbage on the line)."""
        with self._lock:
            self._write(bytes(data))

    @property
    def keepalive_period(self) -> int:
        return self._keepalive_s

    @property
    def sampling_interval_ms(self) -> int:
        return self._sampling_ms

    # ------------------------------------------------------------------ pty handling
    def _open_pty(self, link: Optional[str]) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)            # the host opens it; until then the master sees a hang-up
        os.set_blocking(master, False)
        self._master = master
        self.host_connected = False
        self.link = link
        if link:
            try:
                os.unlink(link)
            except FileNotFoundError:
                pass
            os.symlink(self.path, link)

    def _close_pty(self) -> None:
        if self.link:
            try:
                if os.path.islink(self.link) and os.readlink(self.link) == self.path:
                    os.unlink(self.link)
            except OSError:
                pass
        if self._master is not None:
            try:
                os.close(self._master)
            except OSError:
                pass
            self._master = None
        self.host_connected = False

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _check_pin(self, pin: int) -> None:
        if not 0 <= pin < self.model.total_pins:
            raise ValueError(f"{self.model.name} has pins 0..{self.model.total_pins - 1}")

    # ------------------------------------------------------------------ main loop
    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                master = self._master
            if self.frozen:
                self._idle(0.01)
                continue
            if master is None:
                self._idle(0.01)
                with self._lock:
                    last = self._tick_if_due(last)
                continue
            due = last + self._sampling_ms / 1000.0
            timeout = max(0.0, min(0.02, due - time.monotonic()))
            try:
                r, _, x = select.select([master, self._wake_r], [], [], timeout)
            except (OSError, ValueError):
                continue
            if self._wake_r in r:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            if master in r:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = None
                except OSError as e:
                    data = None
                    if e.errno == errno.EIO:      # no host has the port open
                        if self.host_connected:
                            self.host_connected = False
                        self._idle(0.01)
                if data:
                    with self._lock:
                        if not self.host_connected:
                            self._host_opened()
                        self.stats["bytes_in"] += len(data)
                        for frame in self._parser.feed(data):
                            self._handle(frame)
            elif not self.host_connected and self._host_present(master):
                with self._lock:
                    self._host_opened()
            with self._lock:
                if self.host_connected or self._master is not None:
                    self._check_digital()
                last = self._tick_if_due(last)

    def _idle(self, s: float) -> None:
        self._stop.wait(s)

    @staticmethod
    def _host_present(master: int) -> bool:
        p = select.poll()
        p.register(master, select.POLLIN)
        for _, ev in p.poll(0):
            if ev & select.POLLHUP:
                return False
        return True

    def _host_opened(self) -> None:
        # Opening the port raises DTR, which resets an Uno: the host meets a fresh board.
        self.host_connected = True
        self.stats["host_connects"] += 1
        self._reboot()
        if self.firmware == "StandardFirmata":
            self._write(bytes([P.REPORT_VERSION, *PROTOCOL_VERSION]))
            self._send_firmware()

    def _tick_if_due(self, last: float) -> float:
        """Run the sampling branch when an interval has passed since ``last`` (the interval
        in force now, as loop() compares it); returns the new ``last``."""
        now = time.monotonic()
        step = self._sampling_ms / 1000.0
        if now - last < step:
            return last
        self._sample()
        last += step
        if last < now - 0.5:             # fell far behind (paced writes, a loaded machine)
            last = now
        return last

    # ------------------------------------------------------------------ firmware model
    def _reboot(self) -> None:
        """Power-on / watchdog / DTR reset: everything back to the sketch's setup()."""
        self._keepalive_s = 0
        self._keepalive_last = time.monotonic()
        self._sampling_ms = 19
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
        self._sonars: List[int] = []
        self._next_sonar = 0
        self._ping_counter = 0
        self._servo_pulses: Dict[int, tuple] = {}
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
            except Exception:      # a listener's bug must not stop the board
                pass

    def _set_mode(self, pin: int, mode: int) -> None:
        if pin >= self.model.total_pins or (
                pin not in self.model.digital and pin not in self.model.analog):
            return
        if mode not in self._caps[pin]:
            return                      # the firmware ignores modes a pin cannot do
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

    @property
    def _caps(self) -> List[dict]:
        c = getattr(self, "_caps_cache", None)
        if c is None:
            c = self._caps_cache = self.model.capabilities(self.firmware)
        return c

    def _set_output(self, pin: int, value: int) -> None:
        if self._value[pin] != value:
            self._value[pin] = value
            self._notify(pin)

    def _handle(self, f: P.Frame) -> None:
        if f.is_sysex:
            self._handle_sysex(f.command, f.data)
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
            if pin < self.model.total_pins and self._mode[pin] == P.OUTPUT:
                self._set_output(pin, 1 if value else 0)
        elif cmd == P.REPORT_VERSION:
            self._write(bytes([P.REPORT_VERSION, *PROTOCOL_VERSION]))
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

    def _handle_sysex(self, cmd: int, d: List[int]) -> None:
        express = self.firmware == "FirmataExpress"
        if cmd == P.ARE_YOU_THERE and express:
            self._write(P.sysex(P.I_AM_HERE, [self.instance_id & 0x7F]))
        elif cmd == P.KEEP_ALIVE and express and len(d) >= 2:
            self._keepalive_s = P.from7(d[:2])
            self._keepalive_last = time.monotonic()
            if self._keepalive_s:
                self.keepalive_expired = False
        elif cmd == P.REPORT_FIRMWARE:
            self._send_firmware()
        elif cmd == P.CAPABILITY_QUERY:
            self._write(P.sysex(P.CAPABILITY_RESPONSE, P.encode_capabilities(self._caps)))
        elif cmd == P.ANALOG_MAPPING_QUERY:
            self._write(P.sysex(P.ANALOG_MAPPING_RESPONSE, self.model.analog_mapping()))
        elif cmd == P.PIN_STATE_QUERY and d:
            pin = d[0]
            body = [pin]
            if pin < self.model.total_pins:
                v = self._value[pin]
                body += [self._mode[pin], v & 0x7F]
                if v > 0x7F:
                    body.append((v >> 7) & 0x7F)
            self._write(P.sysex(P.PIN_STATE_RESPONSE, body))
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
        elif cmd == P.SONAR_CONFIG and express and len(d) >= 4:
            trig, echo = d[0], d[1]
            if len(self._sonars) < MAX_SONARS and trig < self.model.total_pins \
                    and echo < self.model.total_pins:
                self._set_mode(trig, P.SONAR)
                self._set_mode(echo, P.SONAR)
                self._sonars.append(trig)
            else:
                self._send_string("PING_CONFIG Error: Exceeded number of supported ping devices")
        # anything else (I2C, stepper, tone, DHT on a board without them) is ignored, as
        # Firmata does for sysex commands it does not implement

    def _send_firmware(self) -> None:
        major, minor = FIRMWARE_VERSION[self.firmware]
        self._write(P.sysex(P.REPORT_FIRMWARE,
                            [major, minor, *P.encode_string(FIRMWARE_FILE[self.firmware])]))

    def _send_string(self, text: str) -> None:
        self._write(P.sysex(P.STRING_DATA, P.encode_string(text)))

    def _send_analog(self, ch: int) -> None:
        if ch > 15:
            return
        v = self._ain[ch]
        self.stats["analog_reports"] += 1
        self._write(bytes([P.ANALOG_MESSAGE | ch, v & 0x7F, (v >> 7) & 0x7F]))

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
            self._write(bytes([P.DIGITAL_MESSAGE | port, bits & 0x7F, (bits >> 7) & 0x7F]))

    def _check_digital(self) -> None:
        for port, on in enumerate(self._report_ports):
            if on:
                self._send_port(port)

    def _sample(self) -> None:
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
                self._write(P.sysex(P.SONAR_DATA, [trig, cm & 0x7F, (cm >> 7) & 0x7F]))
        for pin, ch in self.model.analog.items():
            if self._mode[pin] == P.ANALOG and self._report_analog & (1 << ch):
                self._send_analog(ch)
        if self._keepalive_s:
            if time.monotonic() - self._keepalive_last > self._keepalive_s:
                # the sketch resets itself through the watchdog: outputs off, a fresh board
                self.keepalive_expired = True
                self._reboot()

    # ------------------------------------------------------------------ the wire
    def _write(self, data: bytes) -> None:
        """Write to the host, paced like a UART at the firmware's baud rate."""
        master = self._master
        if master is None or not self.host_connected:
            self.stats["tx_dropped"] += len(data)
            return
        if self.pace:
            now = time.monotonic()
            free_at = max(now, self._tx_free_at)
            free_at += len(data) * 10.0 / self.baud
            self._tx_free_at = free_at
            backlog = free_at - now - TX_BUFFER * 10.0 / self.baud
            if backlog > 0:
                time.sleep(backlog)       # Serial.write() blocks while the TX buffer is full
        view = memoryview(data)
        deadline = time.monotonic() + 0.5
        while view:
            try:
                n = os.write(master, view)
                self.stats["bytes_out"] += n
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:      # host not reading: bytes are lost
                    self.stats["tx_dropped"] += len(view)
                    return
                time.sleep(0.001)
            except OSError:
                self.stats["tx_dropped"] += len(view)
                self.host_connected = False
                return


# ---------------------------------------------------------------------- command line
def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="edgebot virtual-arduino",
                                 description="A virtual Arduino speaking Firmata on a pty.")
    ap.add_argument("--board", default="uno", choices=sorted(boards.BOARDS))
    ap.add_argument("--firmware", default="FirmataExpress", choices=sorted(BAUD))
    ap.add_argument("--link", default=None, help="also make this symlink to the pty")
    ap.add_argument("--instance-id", type=int, default=1)
    ap.add_argument("--analog", action="append", default=[], metavar="CH=RAW",
                    help="initial analog input, e.g. --analog 0=612")
    ap.add_argument("--digital", action="append", default=[], metavar="PIN=0|1",
                    help="initial digital input level")
    ap.add_argument("--sonar", action="append", default=[], metavar="TRIG=METRES",
                    help="distance the sonar on trigger pin TRIG measures")
    ap.add_argument("--verbose", action="store_true", help="print output pin changes")
    args = ap.parse_args(argv)
    board = VirtualArduino(board=args.board, firmware=args.firmware,
                           instance_id=args.instance_id)
    try:
        for spec in args.analog:
            ch, raw = spec.split("=")
            board.set_analog_input(int(ch), int(raw))
        for spec in args.digital:
            pin, lv = spec.split("=")
            board.set_digital_input(int(pin), lv not in ("0", "false", "False"))
        for spec in args.sonar:
            trig, m = spec.split("=")
            board.set_sonar_distance(int(trig), float(m))
    except ValueError as e:
        print(f"edgebot virtual-arduino: {e}", file=sys.stderr)
        return 2
    if args.verbose:
        board.add_output_listener(lambda pin, mode, v: print(f"pin {pin} {mode} {v}", flush=True))
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    path = board.start(link=args.link)
    print(f"virtual {args.board} ({args.firmware}, {board.baud} baud) on {path}"
          + (f" -> {args.link}" if args.link else ""), flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        board.stop()
    return 0


def cli() -> None:
    sys.exit(main())


if __name__ == "__main__":
    cli()
