"""Rate limiting (ROS-free): decimation of telemetry and token buckets for commands/publishes."""

from __future__ import annotations

import time
from collections.abc import Callable


class Decimator:
    """Pass at most ``max_rate`` messages per second (0 = all): a message passes when at least
    1/max_rate seconds went by since the last one that passed; the others are decimated."""

    def __init__(self, max_rate: float, clock: Callable[[], float] = time.monotonic):
        self.period = 1.0 / max_rate if max_rate > 0 else 0.0
        self._clock = clock
        self._last = -float("inf")
        self.passed = 0
        self.decimated = 0

    def allow(self) -> bool:
        if self.period <= 0:
            self.passed += 1
            return True
        now = self._clock()
        # small tolerance so a source at exactly max_rate is not halved by timer jitter
        if now - self._last >= self.period * 0.95:
            self._last = now
            self.passed += 1
            return True
        self.decimated += 1
        return False


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; ``rate`` 0 = unlimited."""

    def __init__(
        self, rate: float, burst: float = 0.0, clock: Callable[[], float] = time.monotonic
    ):
        self.rate = float(rate)
        self.burst = float(burst) if burst > 0 else max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.burst
        self._t = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._t) * self.rate)
        self._t = now

    def available(self) -> int:
        if self.rate <= 0:
            return 1 << 30
        self._refill()
        return int(self._tokens)

    def charge(self, n: int = 1) -> None:
        """Spend ``n`` tokens that were used anyway (the balance may go negative: later
        :meth:`take` calls wait until it is paid back)."""
        if self.rate <= 0:
            return
        self._refill()
        self._tokens -= n

    def take(self, n: int = 1) -> bool:
        if self.rate <= 0:
            return True
        self._refill()
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False
