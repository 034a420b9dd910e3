"""Error reports for rejected commands (ROS-free): rate-limited and aggregated.

One report per rejection would let a flood of bad commands turn the bridge into a flood of
error publishes (2,000 commands at 500/s on a route limited to 20/s made ~475 error replies per
second -- over AWS IoT Core's 100 publishes/s per connection). Instead, rejections are counted
per reason and per topic, and a report goes out at most once per ``period`` seconds: the first
rejection after a quiet period at once, later ones summed into the next report::

    {"stamp": 1700000000.2, "count": 480, "period_s": 1.0,
     "by_reason": {"rate_limited": 478, "out_of_range": 2},
     "by_topic": {"edgebot/r1/cmd/cmd_vel": 480},
     "topic": "edgebot/r1/cmd/cmd_vel", "reason": "rate_limited", "detail": "..."}

``topic``/``reason``/``detail`` are the first rejection the report covers; the counts in all
reports add up to every rejection (none is left out). The node charges each report to the same
publish budget as telemetry (``limits.max_publish_rate``).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class ErrorReports:
    def __init__(
        self,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.period = period
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._reset()
        self.reports = 0  # reports taken (published)
        self.folded = 0  # rejections that went out inside a report with others

    def _reset(self) -> None:
        self._count = 0
        self._by_reason: collections.Counter = collections.Counter()
        self._by_topic: collections.Counter = collections.Counter()
        self._first = None

    def add(self, topic: str, reason: str, detail: str) -> None:
        with self._lock:
            self._count += 1
            self._by_reason[reason] += 1
            self._by_topic[topic] += 1
            if self._first is None:
                self._first = (topic, reason, detail)

    def pending(self) -> int:
        return self._count

    def take(self) -> dict | None:
        """The report due now (None if nothing is pending or the period has not passed)."""
        with self._lock:
            now = self._clock()
            if not self._count or now - self._last < self.period:
                return None
            topic, reason, detail = self._first
            report = {
                "stamp": round(self._wall(), 6),
                "count": self._count,
                "period_s": self.period,
                "by_reason": dict(self._by_reason),
                "by_topic": dict(self._by_topic),
                "topic": topic,
                "reason": reason,
                "detail": detail,
            }
            self.reports += 1
            self.folded += self._count - 1
            self._last = now
            self._reset()
            return report
