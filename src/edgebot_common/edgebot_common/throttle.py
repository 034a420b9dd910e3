"""Counters and throttles for bad runtime input (ROS-free).

rejects = RejectCounter(log=node.get_logger().warning, period_s=5.0)
rejects.reject("nan_command", "cmd_vel.linear.x is NaN")   # counted; logged at most every 5 s
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable


class Throttle:
    """True at most once per ``period_s`` (monotonic clock)."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic):
        self.period_s = period_s
        self._clock = clock
        self._last = -float("inf")

    def ready(self) -> bool:
        now = self._clock()
        if now - self._last >= self.period_s:
            self._last = now
            return True
        return False


class RejectCounter:
    """Counts rejected inputs by reason and logs them throttled per reason."""

    def __init__(
        self,
        log: Callable[[str], None] | None = None,
        period_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._log = log
        self._period = period_s
        self._clock = clock
        self._throttles: dict = {}
        self._suppressed: Counter = Counter()
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def reject(self, reason: str, detail: str = "") -> None:
        with self._lock:
            self.counts[reason] += 1
            th = self._throttles.get(reason)
            if th is None:
                th = self._throttles[reason] = Throttle(self._period, self._clock)
            if not th.ready():
                self._suppressed[reason] += 1
                return
            suppressed = self._suppressed.pop(reason, 0)
        if self._log is not None:
            more = f" (+{suppressed} more since last report)" if suppressed else ""
            self._log(f"rejected [{reason}] {detail}{more}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return dict(self.counts)
