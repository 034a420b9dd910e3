"""A virtual Arduino that speaks Firmata on a pseudo-terminal (ROS-free).

    board = VirtualArduino(board="uno", firmware="FirmataExpress")
    path = board.start(link="/tmp/ttyVIRT0")   # pymata4 / firmata_node open this like a USB port
    board.set_analog_input(0, 612); board.set_sonar_distance(12, 0.85)
    board.output(5)  -> 128                     # PWM duty the host wrote
    board.stop()

The board itself is :class:`edgebot_firmata.board_model.FirmataBoard` (bytes in, bytes out,
time passed in); this module is its transport: a pty served by a thread, the Uno's reset when
the host opens the port, unplug/replug, a hung sketch, and output paced to the baud rate (a
UART's 10 bits per byte), so link-rate figures mean what they would on the real board.

The board's own pin record: with ``EDGEBOT_BOARD_OUTPUT_LOG=<file>`` in the environment (or
``output_log=``) every output-pin change is appended to that file as a line
``<CLOCK_MONOTONIC s> <pin> <mode> <value>`` -- what the motor driver was told, independent of
any ROS topic (the fault campaign times "wheels at zero" from it).

``edgebot virtual-arduino [--board uno] [--firmware FirmataExpress] [--link PATH]`` runs one
and prints its device path.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import sys
import threading
import time
import tty

from . import boards
from .board_model import FirmataBoard, Listener
from .firmware import BAUD

TX_BUFFER = 64  # bytes the AVR's serial TX buffer holds before write blocks
# After the DTR reset that opening the port causes, the boot loader runs before the sketch
# (edgebot_avr's emulated board holds the CPU as long): bytes sent meanwhile are lost and
# the boot report comes after the host's open() has flushed its input (pyserial does).
# Without it the model answered within microseconds and a loaded host lost the boot report.
BOOT_DELAY_S = 0.25

__all__ = ["VirtualArduino", "BAUD", "main"]


class VirtualArduino:
    """A :class:`FirmataBoard` served on a pty by a background thread."""

    def __init__(
        self,
        board: str = "uno",
        firmware: str = "FirmataExpress",
        instance_id: int = 1,
        pace: bool = True,
        output_log: str | None = None,
        boot_delay_s: float = BOOT_DELAY_S,
    ):
        if firmware not in BAUD:
            raise ValueError(f"firmware {firmware!r}: allowed {sorted(BAUD)}")
        self.board = FirmataBoard(
            board=board,
            firmware=firmware,
            instance_id=instance_id,
            now=time.monotonic(),
            boot_delay_s=boot_delay_s,
        )
        self.model = self.board.model
        self.firmware = firmware
        self.baud = self.board.baud
        self.instance_id = instance_id
        self.pace = pace
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._master: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.path: str | None = None
        self.link: str | None = None
        self.host_connected = False
        self.frozen = False
        self._tx_free_at = 0.0
        self._output_log = None
        path = output_log or os.environ.get("EDGEBOT_BOARD_OUTPUT_LOG")
        if path:
            self._output_log = open(path, "a", buffering=1)  # line-buffered: readable live
            self.board.add_output_listener(self._log_output)

    def _log_output(self, pin, mode, value) -> None:
        try:
            self._output_log.write(f"{time.monotonic():.6f} {pin} {mode} {value}\n")
        except ValueError:  # closed by stop() under a late change
            pass

    @property
    def stats(self):
        return self.board.stats

    @property
    def keepalive_expired(self) -> bool:
        return self.board.keepalive_expired

    @property
    def _parser(self):
        return self.board.parser

    # ------------------------------------------------------------------ public API
    def start(self, link: str | None = None) -> str:
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
        if self._output_log is not None:
            self._output_log.close()

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
                self.board.keepalive_touch(time.monotonic())
        self._wake()

    def __enter__(self):
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def set_digital_input(self, pin: int, value: bool) -> None:
        with self._lock:
            self.board.set_digital_input(pin, value, time.monotonic())
        self._wake()

    def set_analog_input(self, analog_pin: int, raw: int) -> None:
        with self._lock:
            self.board.set_analog_input(analog_pin, raw)

    def set_sonar_distance(self, trigger_pin: int, metres: float | None) -> None:
        """What the HC-SR04 on ``trigger_pin`` measures; None/inf/out of range = no echo."""
        with self._lock:
            self.board.set_sonar_distance(trigger_pin, metres)

    def pin_mode(self, pin: int) -> str:
        with self._lock:
            return self.board.pin_mode(pin)

    def output(self, pin: int):
        """Digital 0/1 (OUTPUT), PWM 0..255, servo angle in degrees; 0 for other modes."""
        with self._lock:
            return self.board.output(pin)

    def add_output_listener(self, callback: Listener) -> None:
        """``callback(pin, mode_name, value)`` on every change of an output pin."""
        with self._lock:
            self.board.add_output_listener(callback)

    def inject(self, data: bytes) -> None:
        """Send raw bytes to the host (tests: garbage on the line)."""
        with self._lock:
            self._write(bytes(data))

    @property
    def keepalive_period(self) -> int:
        return self.board.keepalive_period

    @property
    def sampling_interval_ms(self) -> int:
        return self.board.sampling_interval_ms

    # ------------------------------------------------------------------ pty handling
    def _open_pty(self, link: str | None) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)  # the host opens it; until then the master sees a hang-up
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

    # ------------------------------------------------------------------ main loop
    def _run(self) -> None:
        board = self.board
        while not self._stop.is_set():
            with self._lock:
                master = self._master
            if self.frozen:
                self._idle(0.01)
                continue
            if master is None:
                self._idle(0.01)
                with self._lock:
                    self._write(board.tick(time.monotonic()))
                continue
            timeout = max(0.0, min(0.02, board.next_tick_at() - time.monotonic()))
            try:
                r, _, x = select.select([master, self._wake_r], [], [], timeout)
            except (OSError, ValueError):
                continue
            if self._wake_r in r:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            data, opened = None, False
            if master in r:
                try:
                    data = os.read(master, 4096)
                    opened = bool(data)
                except BlockingIOError:
                    # a read that would block (not EIO) means a host has the port open: the
                    # open is not missed when select() woke up for a hang-up the open cleared
                    opened = True
                except OSError as e:
                    if e.errno == errno.EIO:  # no host has the port open
                        self.host_connected = False
                        self._idle(0.01)
            elif not self.host_connected:
                opened = self._host_present(master)
            with self._lock:
                if opened and not self.host_connected:
                    self._host_opened()
                if data:
                    self._write(board.feed(data, time.monotonic()))
                self._write(board.tick(time.monotonic()))

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
        self.host_connected = True
        self._write(self.board.host_opened(time.monotonic()))

    # ------------------------------------------------------------------ the wire
    def _write(self, data: bytes) -> None:
        """Write to the host, paced like a UART at the firmware's baud rate."""
        if not data:
            return
        stats = self.board.stats
        master = self._master
        if master is None or not self.host_connected:
            stats["tx_dropped"] += len(data)
            return
        if self.pace:
            now = time.monotonic()
            free_at = max(now, self._tx_free_at)
            free_at += len(data) * 10.0 / self.baud
            self._tx_free_at = free_at
            backlog = free_at - now - TX_BUFFER * 10.0 / self.baud
            if backlog > 0:
                time.sleep(backlog)  # Serial.write() blocks while the TX buffer is full
        view = memoryview(data)
        deadline = time.monotonic() + 0.5
        while view:
            try:
                n = os.write(master, view)
                stats["bytes_out"] += n
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:  # host not reading: bytes are lost
                    stats["tx_dropped"] += len(view)
                    return
                time.sleep(0.001)
            except OSError:
                stats["tx_dropped"] += len(view)
                self.host_connected = False
                return


# ---------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="edgebot virtual-arduino", description="A virtual Arduino speaking Firmata on a pty."
    )
    ap.add_argument("--board", default="uno", choices=sorted(boards.BOARDS))
    ap.add_argument("--firmware", default="FirmataExpress", choices=sorted(BAUD))
    ap.add_argument("--link", default=None, help="also make this symlink to the pty")
    ap.add_argument("--instance-id", type=int, default=1)
    ap.add_argument(
        "--boot-delay",
        type=float,
        default=BOOT_DELAY_S,
        metavar="S",
        help=f"boot loader time after the DTR reset of an open (default {BOOT_DELAY_S})",
    )
    ap.add_argument(
        "--analog",
        action="append",
        default=[],
        metavar="CH=RAW",
        help="initial analog input, e.g. --analog 0=612",
    )
    ap.add_argument(
        "--digital",
        action="append",
        default=[],
        metavar="PIN=0|1",
        help="initial digital input level",
    )
    ap.add_argument(
        "--sonar",
        action="append",
        default=[],
        metavar="TRIG=METRES",
        help="distance the sonar on trigger pin TRIG measures",
    )
    ap.add_argument("--verbose", action="store_true", help="print output pin changes")
    args = ap.parse_args(argv)
    board = VirtualArduino(
        board=args.board,
        firmware=args.firmware,
        instance_id=args.instance_id,
        boot_delay_s=args.boot_delay,
    )
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
    print(
        f"virtual {args.board} ({args.firmware}, {board.baud} baud) on {path}"
        + (f" -> {args.link}" if args.link else ""),
        flush=True,
    )
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
