"""The connection supervisor of firmata_node (ROS-free, clock injected), on the shared
:class:`edgebot_common.supervisor.DeviceSupervisor` (the camera's and the IMU's too).

It owns the board link's life: the first connection (auto-detecting the port), watching the
link, treating a silent board as lost, re-applying the pin map to a board that reset itself,
reconnecting with backoff (at once when a vanished port reappears). The node runs
:meth:`LinkSupervisor.step` in a thread and reacts to the callbacks:

    sup = LinkSupervisor(make_link, port, Backoff(0.5, 3.0), log=print,
                         on_connected=..., on_outputs_reset=...)
    sup.connect_first()                 # raises PinMapError: the map does not fit the board
    while not stop.wait(sup.step()): pass

``make_link(port)`` returns an object with the :class:`edgebot_firmata.client.BoardLink`
interface: ``connect()``, ``client``, ``connected``, ``lost_reason()``, ``probe()``,
``reapply()``, ``mark_lost(reason)``, ``close(reset)``, ``port``.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable

from edgebot_common.backoff import Backoff
from edgebot_common.supervisor import DeviceSupervisor, DeviceUnavailable
from edgebot_common.throttle import Throttle

from .pinmap import PinMapError

PROBE_PERIOD_S = 1.0
SILENT_PROBES = 3


class LinkLost(RuntimeError):
    """The serial link to the board is gone."""


# pymata4 1.15's words when nothing that speaks Firmata answers on the port (a sketch that is
# not Firmata, a board still in its bootloader, or the wrong baud rate)
_NO_FIRMATA = (
    "Invalid Arduino ID reply length",
    "Retrieving ID From Arduino Failed",
    "Firmata Sketch Firmware Version Not Found",
    "No Arduino Found",
)


def explain_connect_error(e: BaseException, port: str, baud) -> BaseException:
    """A connect failure in words a user can act on: a board that does not answer the Firmata
    queries gets a ConnectionError naming the port, the baud rate and what was expected."""
    text = str(e)
    if isinstance(e, RuntimeError) and any(s in text for s in _NO_FIRMATA):
        return ConnectionError(
            f"no Firmata answer on {port} at {baud} baud ({text}): expected a board running "
            "FirmataExpress (115200 baud) or StandardFirmata 2.4+ (57600 baud: set baud:=57600); "
            "check the sketch flashed on the board and the baud parameter"
        )
    return e


def candidate_ports() -> list[str]:
    """Serial ports an Arduino may be on (USB CDC/FTDI), for auto-detection."""
    ports = sorted(glob.glob("/dev/ttyACM*")) + sorted(glob.glob("/dev/ttyUSB*"))
    try:
        from serial.tools import list_ports

        for p in list_ports.comports():
            if p.pid is not None and p.device not in ports:
                ports.append(p.device)
    except Exception:
        pass
    return ports


def _nothing(*_a) -> None:
    return None


class LinkSupervisor:
    """Connect, watch, probe, back off, reconnect and re-apply: one board link's life, on
    :class:`edgebot_common.supervisor.DeviceSupervisor` (``dev``) with what a serial Firmata
    board adds: the port auto-detected, a vanished port retried as soon as it reappears, a
    board silent for ``SILENT_PROBES`` probes treated as lost, the pin map re-applied on the
    same link after a reset, errors in words a user can act on."""

    def __init__(
        self,
        make_link: Callable[[str], object],
        port: str,
        backoff: Backoff,
        clock: Callable[[], float] = time.monotonic,
        exists: Callable[[str], bool] = os.path.exists,
        candidates: Callable[[], list[str]] = candidate_ports,
        log: Callable[[str, str], None] = _nothing,
        on_connected: Callable[[object], None] = _nothing,
        on_outputs_reset: Callable[[], None] = _nothing,
    ):
        self.make_link = make_link
        self.port = port
        self.exists = exists
        self.candidates = candidates
        self.log = log  # log(level, text): "info" | "warning" | "error"
        self.on_connected = on_connected
        self.on_outputs_reset = on_outputs_reset
        self.link = None
        self.connects = 0
        self.reconnects = 0
        self._port_was_missing = False
        self._silent = 0
        self._pin_map_failed = False
        self._err_throttle = Throttle(10.0, clock)
        self.dev = DeviceSupervisor(
            self._try_connect,
            backoff,
            close=self._close,
            describe=self._describe,
            retry_on=(Exception,),
            fatal=(PinMapError,),  # at start: the map does not fit the board
            clock=clock,
            on_up=self._up,
            on_down=self._down,
            probe=self._probe,
            probe_period=PROBE_PERIOD_S,
            reapply=self._reapply,
            retry_now=self._port_came_back,
        )

    @property
    def backoff(self) -> Backoff:
        return self.dev.backoff

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    @property
    def board_resets(self) -> int:
        return self.dev.resets

    @property
    def last_error(self) -> str:
        """The failure that keeps the board away ('' while connected)."""
        return "" if self.dev.connected else self.dev.last_error

    # ------------------------------------------------------------------ connecting
    def _try_connect(self) -> None:
        """Connect (auto-detecting the port when none is given); raises on failure."""
        if self.link is not None:
            try:
                self.link.connect()
            except PinMapError:
                raise
            except Exception as e:
                clear = explain_connect_error(e, self.link.port, getattr(self.link, "baud", "?"))
                if clear is e:
                    raise
                raise clear from e
            return
        ports = [self.port] if self.port else self.candidates()
        if not ports:
            raise OSError("no serial port found (auto-detect: /dev/ttyACM*, /dev/ttyUSB*)")
        last: Exception = OSError("no port")
        for port in ports:
            link = self.make_link(port)
            try:
                link.connect()
            except PinMapError:
                raise
            except Exception as e:
                last = explain_connect_error(e, port, getattr(link, "baud", "?"))
                continue
            self.link = link
            self.port = port
            return
        raise last

    def _describe(self, e: BaseException) -> str:
        self._pin_map_failed = isinstance(e, PinMapError)
        return f"{type(e).__name__}: {e}"

    def _close(self) -> None:
        # if the port merely vanished and the old file still works, stop the motors through
        # it; otherwise the board's own keep-alive stops them
        if self.link is not None:
            self.link.close(reset=True)

    def _up(self, _reconnect: bool) -> None:
        self.reconnects += 1 if self.connects else 0
        self.connects += 1
        self._silent = 0
        self.on_outputs_reset()
        self.on_connected(self.link)

    def _down(self, reason: str, _delay: float) -> None:
        """Once per outage. A board never connected yet: the attempts are logged by step."""
        if not self.connects:
            return
        self.log("error", f"link lost: {reason}; outputs safe, reconnecting")
        self.on_outputs_reset()
        self._port_was_missing = bool(self.port) and not self.exists(self.port)

    def connect_first(self) -> bool:
        """The first, synchronous attempt. PinMapError propagates (the map does not fit the
        board: a configuration error); any other failure is retried with backoff."""
        try:
            self.dev.connect_at_start(timeout=0.0, wait=_nothing)
        except DeviceUnavailable:
            self._port_was_missing = bool(self.port) and not self.exists(self.port)
            self.log(
                "warning",
                f"board not reachable on {self.port or 'any port'} "
                f"({self.last_error}); retrying with backoff",
            )
            self.backoff.schedule()
            return False
        return True

    # ------------------------------------------------------------------ the loop body
    def step(self) -> float:
        """One pass of the supervision loop; returns how long to wait before the next."""
        dev = self.dev
        if dev.connected:
            reason = self.link.lost_reason() if self.link is not None else "not connected"
            if reason is None:
                dev.check()  # once a second: still answering, still holding the pin map?
                return 0.1 if dev.connected else 0.0
            dev.lost(reason)  # closed with a reset, outputs safe, the reconnect scheduled
            return 0.0
        failures = dev.failures
        if not dev.step() and dev.failures > failures:
            self._port_was_missing = bool(self.port) and not self.exists(self.port)
            if self._pin_map_failed or self._err_throttle.ready():
                self.log("error", f"connecting failed: {self.last_error}")
        return 0.05

    def _probe(self) -> bool:
        """Does the board still hold the pin map? A board that stops answering is marked lost
        (after SILENT_PROBES probes); one that reset itself (keep-alive expiry after a stall
        of this process, a brown-out) is re-applied by ``dev``."""
        try:
            state = self.link.probe()
        except LinkLost:
            return True  # the loss shows in lost_reason at the next step
        if state == "silent":
            self._silent += 1
            if self._silent >= SILENT_PROBES:
                self.link.mark_lost(f"board does not answer ({SILENT_PROBES} pin state queries)")
            return True
        self._silent = 0
        return state != "reset"

    def _reapply(self) -> None:
        self.log(
            "warning",
            "the board reset itself (lost its pin modes); re-applying the pin map, outputs safe",
        )
        self.on_outputs_reset()
        self.link.reapply()

    def _port_came_back(self) -> bool:
        """The device node was missing at the last attempt and exists now (USB plugged back
        in): try at once instead of waiting out the backoff. Checking a path at 20 Hz is
        cheap; a port that exists but does not answer still goes through the backoff."""
        if self._port_was_missing and self.exists(self.port):
            self._port_was_missing = False
            return True
        return False

    def close(self) -> None:
        if self.link is not None:
            self.link.close(reset=True)


__all__ = ["LinkSupervisor", "LinkLost", "candidate_ports"]
