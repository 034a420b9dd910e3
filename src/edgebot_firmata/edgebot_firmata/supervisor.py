"""The connection supervisor of firmata_node (ROS-free, clock injected).

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
    """Connect, watch, probe, back off, reconnect and re-apply: one board link's life."""

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
        self.backoff = backoff
        self.clock = clock
        self.exists = exists
        self.candidates = candidates
        self.log = log  # log(level, text): "info" | "warning" | "error"
        self.on_connected = on_connected
        self.on_outputs_reset = on_outputs_reset
        self.link = None
        self.connects = 0
        self.reconnects = 0
        self.board_resets = 0
        self.last_error = ""
        self._port_was_missing = False
        self._next_probe = 0.0
        self._silent = 0
        self._err_throttle = Throttle(10.0, clock)

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

    def _connected_ok(self) -> None:
        self.connects += 1
        self._silent = 0
        self._next_probe = self.clock() + PROBE_PERIOD_S
        self.backoff.reset()
        self.last_error = ""
        self.on_outputs_reset()
        self.on_connected(self.link)

    def _failed(self, e: Exception) -> None:
        self._port_was_missing = bool(self.port) and not self.exists(self.port)
        self.last_error = f"{type(e).__name__}: {e}"

    def connect_first(self) -> bool:
        """The first, synchronous attempt. PinMapError propagates (the map does not fit the
        board: a configuration error); any other failure is retried with backoff."""
        try:
            self._try_connect()
        except PinMapError:
            raise
        except Exception as e:
            self._failed(e)
            self.log(
                "warning",
                f"board not reachable on {self.port or 'any port'} "
                f"({self.last_error}); retrying with backoff",
            )
            self.backoff.schedule()
            return False
        self._connected_ok()
        return True

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    # ------------------------------------------------------------------ the loop body
    def step(self) -> float:
        """One pass of the supervision loop; returns how long to wait before the next."""
        link = self.link
        if link is not None and link.client is not None:
            reason = link.lost_reason()
            if reason is None:
                self._check_board(link)
                return 0.1
            self._on_lost(reason)
            return 0.0
        if self.backoff.due() or self._port_came_back():
            try:
                self._try_connect()
            except Exception as e:
                self._failed(e)
                if isinstance(e, PinMapError) or self._err_throttle.ready():
                    self.log("error", f"connecting failed: {self.last_error}")
                self.backoff.schedule()
            else:
                self.reconnects += 1 if self.connects else 0
                self._connected_ok()
        return 0.05

    def _check_board(self, link) -> None:
        """Once a second: does the board still hold the pin map? A board that reset itself
        (keep-alive expiry after a stall of this process, a brown-out) gets it again; a
        board that stops answering is treated as lost."""
        now = self.clock()
        if now < self._next_probe:
            return
        self._next_probe = now + PROBE_PERIOD_S
        try:
            state = link.probe()
        except LinkLost:
            return
        if state == "silent":
            self._silent += 1
            if self._silent >= SILENT_PROBES:
                link.mark_lost(f"board does not answer ({SILENT_PROBES} pin state queries)")
            return
        self._silent = 0
        if state == "reset":
            self.board_resets += 1
            self.log(
                "warning",
                "the board reset itself (lost its pin modes); "
                "re-applying the pin map, outputs safe",
            )
            self.on_outputs_reset()
            try:
                link.reapply()
            except (LinkLost, OSError, RuntimeError) as e:
                link.mark_lost(f"re-applying the pin map failed: {e}")

    def _port_came_back(self) -> bool:
        """The device node was missing at the last attempt and exists now (USB plugged back
        in): try at once instead of waiting out the backoff. Checking a path at 20 Hz is
        cheap; a port that exists but does not answer still goes through the backoff."""
        if self._port_was_missing and self.exists(self.port):
            self._port_was_missing = False
            return True
        return False

    def _on_lost(self, reason: str) -> None:
        self.last_error = reason
        self.log("error", f"link lost: {reason}; outputs safe, reconnecting")
        # if the port merely vanished and the old file still works, stop the motors through
        # it; otherwise the board's own keep-alive stops them
        self.link.close(reset=True)
        self.on_outputs_reset()
        self._port_was_missing = bool(self.port) and not self.exists(self.port)
        self.backoff.reset()
        self.backoff.schedule()

    def close(self) -> None:
        if self.link is not None:
            self.link.close(reset=True)


__all__ = ["LinkSupervisor", "LinkLost", "candidate_ports"]
