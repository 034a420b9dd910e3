"""One device's connection life, free of ROS: open, retry with backoff, lose, reopen.

The camera, the IMU and the Arduino (``edgebot_firmata.supervisor.LinkSupervisor``: port
detection and pin-map probes on top of this class) run a device in their own thread: open it,
use it until it fails, close it, and reopen it with exponential backoff while the node keeps
running and reports the state in diagnostics; while it runs, an optional ``probe`` asks once
per ``probe_period`` whether the device still holds its configuration, and one that reset
itself (a brown-out, a power glitch that the bus never saw) is configured again.
:class:`DeviceSupervisor` is that loop's state machine; the node supplies ``open``/``close``
(and ``probe``) and reacts to ``on_up``/``on_down``/``on_reset``::

    sup = DeviceSupervisor(open=dev.open, close=dev.close, backoff=Backoff(0.2, 5.0),
                           describe=lambda e: f"{type(e).__name__}: {e}", retry_on=(OSError,),
                           on_up=lambda reconnect: ..., on_down=lambda reason, delay: ...)
    sup.connect_at_start(timeout=10.0)        # raises DeviceUnavailable after the timeout
    while not stop.is_set():
        if not sup.step():                    # reopens when the backoff is due
            stop.wait(0.05); continue
        if not sup.check():                   # probe; re-apply the configuration after a reset
            continue
        try: dev.read()
        except OSError as e: sup.lost(sup.describe(e))

The clock is injected (``clock``, and ``wait`` for the start-up retries) so the whole life is
unit-tested without processes or sleeping (``tests/edgebot_common/test_supervisor.py``).

Counters: ``failures`` (failed opens and losses after start-up), ``reconnects`` (successful
opens that followed a failure), ``resets`` (the device lost its configuration and got it
again), ``last_error`` (the latest failure, described). ``state`` is
``"connecting"`` (never connected, no failure yet), ``"connected"`` or ``"down"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .backoff import Backoff

Errors = tuple[type[BaseException], ...]


class DeviceUnavailable(RuntimeError):
    """The device could not be opened within the start-up timeout (message: the last error)."""


def _nothing(*_a) -> None:
    return None


def _never() -> bool:
    return False


class DeviceSupervisor:
    """Open, retry with backoff, lose, reopen: the state machine of one device connection.

    ``open()`` raises on failure; an exception in ``retry_on`` (or ``fatal``, after start-up)
    is a failure to retry, ``describe(e)`` turns it into ``last_error``. ``fatal`` exceptions
    stop :meth:`connect_at_start` (a wrong chip is a configuration error, not a flaky bus).
    ``close()`` is called after every failed open and, unless ``close_on_lost`` is False (the
    next open reconfigures the same handle), on a loss.
    ``probe()`` returns False when the device no longer holds its configuration (``open()`` is
    called again to re-apply it, then ``on_reset()``); an error in ``retry_on`` is a loss.

    ``reapply()``, when given, restores the configuration after a reset instead of a new
    ``open()`` (a board that keeps its link gets its pin map again). ``retry_now()`` is asked
    while the backoff is not due: True opens at once (a USB port that reappeared).

    ``confirm_on_connect``: a successful open resets the backoff and re-arms ``on_down``. With
    False, the node calls :meth:`confirm` itself once the device really works (a camera that
    opens but never delivers a frame keeps backing off, and its failure is announced once).
    """

    def __init__(
        self,
        open: Callable[[], None],
        backoff: Backoff,
        *,
        close: Callable[[], None] = _nothing,
        describe: Callable[[BaseException], str] = str,
        retry_on: Errors = (Exception,),
        fatal: Errors = (),
        clock: Callable[[], float] = time.monotonic,
        on_up: Callable[[bool], None] = _nothing,
        on_down: Callable[[str, float], None] = _nothing,
        confirm_on_connect: bool = True,
        close_on_lost: bool = True,
        probe: Callable[[], bool] | None = None,
        probe_period: float = 1.0,
        on_reset: Callable[[], None] = _nothing,
        reapply: Callable[[], None] | None = None,
        retry_now: Callable[[], bool] = _never,
    ):
        self._open = open
        self._close = close
        self.backoff = backoff
        self.describe = describe
        self.retry_on = tuple(retry_on)
        self.fatal = tuple(fatal)
        self.clock = clock
        self.on_up = on_up  # on_up(reconnect): after every successful open
        self.on_down = on_down  # on_down(reason, delay): once per outage
        self.confirm_on_connect = confirm_on_connect
        self.close_on_lost = close_on_lost
        self.probe = probe
        self.probe_period = probe_period
        self.on_reset = on_reset
        self._reapply = reapply or open
        self.retry_now = retry_now
        self.resets = 0
        self._next_probe = 0.0
        self.state = "connecting"
        self.failures = 0
        self.reconnects = 0
        self.last_error = ""
        self._down_announced = False

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    # ------------------------------------------------------------------ start-up
    def connect_at_start(
        self,
        timeout: float,
        backoff: Backoff | None = None,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        """Open synchronously, retrying for ``timeout`` seconds (with ``backoff``'s delays, by
        default the supervisor's). ``fatal`` errors propagate at once; when the time is up,
        :class:`DeviceUnavailable` carries the last error. Start-up retries are not counted
        as failures."""
        backoff = backoff or self.backoff
        deadline = self.clock() + timeout
        while True:
            try:
                self._open()
            except self.fatal:
                self._safe_close()
                raise
            except self.retry_on as e:
                self._safe_close()
                self.last_error = self.describe(e)
                if self.clock() + 0.1 > deadline:
                    raise DeviceUnavailable(self.last_error) from None
                wait(min(backoff.next_delay(), max(0.0, deadline - self.clock())))
                continue
            self._up(reconnect=False)
            return

    # ------------------------------------------------------------------ the loop
    def step(self) -> bool:
        """True when connected. Otherwise try one open if the backoff is due or ``retry_now()``
        says so (a failure schedules the next attempt) and return whether it worked."""
        if self.state == "connected":
            return True
        if not (self.backoff.due() or self.retry_now()):
            return False
        try:
            self._open()
        except self.retry_on + self.fatal as e:
            self._failed(self.describe(e), close=True)
            return False
        self._up(reconnect=self.failures > 0)
        return True

    def lost(self, reason: str, close: bool | None = None) -> None:
        """The device failed while in use: close it (``close``, default ``close_on_lost``),
        count, and schedule the reopen."""
        self._failed(reason, close=self.close_on_lost if close is None else close)

    def check(self) -> bool:
        """While connected, once per ``probe_period``: does the device still hold its
        configuration? One that reset itself is configured again (counted in ``resets``,
        ``on_reset()``); a probe or re-apply that fails is a loss. Returns ``connected``."""
        if self.state != "connected":
            return False
        now = self.clock()
        if self.probe is None or now < self._next_probe:
            return True
        self._next_probe = now + self.probe_period
        try:
            holds = self.probe()
        except self.retry_on as e:
            self.lost(self.describe(e))
            return False
        if holds:
            return True
        self.resets += 1
        try:
            self._reapply()
        except self.retry_on + self.fatal as e:
            self._failed(
                f"re-applying the configuration after a reset: {self.describe(e)}", close=True
            )
            return False
        self.on_reset()
        return True

    def confirm(self) -> None:
        """The device works (a first frame arrived): reset the backoff, re-arm ``on_down``."""
        self.backoff.reset()
        self._down_announced = False

    def close(self) -> None:
        self._safe_close()

    # ------------------------------------------------------------------ internals
    def _up(self, reconnect: bool) -> None:
        self.state = "connected"
        self._next_probe = self.clock() + self.probe_period
        if reconnect:
            self.reconnects += 1
        if self.confirm_on_connect:
            self.confirm()
        self.on_up(reconnect)

    def _failed(self, reason: str, close: bool) -> None:
        if close:
            self._safe_close()
        self.state = "down"
        self.failures += 1
        self.last_error = reason
        delay = self.backoff.schedule()
        if not self._down_announced:
            self._down_announced = True
            self.on_down(reason, delay)

    def _safe_close(self) -> None:
        try:
            self._close()
        except OSError:
            pass


__all__ = ["DeviceSupervisor", "DeviceUnavailable"]
