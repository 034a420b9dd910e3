"""Exponential backoff with a cap and optional jitter (ROS-free)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """``next_delay()`` grows initial * factor**n up to ``maximum``; ``reset()`` after success."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 10.0,
        factor: float = 2.0,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("Backoff needs 0 < initial <= maximum and factor >= 1")
        self.initial, self.maximum, self.factor, self.jitter = initial, maximum, factor, jitter
        self._rng = rng or random.Random()
        self._clock = clock
        self.attempts = 0
        self._next_at = 0.0

    def next_delay(self) -> float:
        d = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        if self.jitter:
            d *= 1.0 + self._rng.uniform(-self.jitter, self.jitter)
        return d

    def schedule(self) -> float:
        """Plan the next attempt; returns the delay chosen."""
        d = self.next_delay()
        self._next_at = self._clock() + d
        return d

    @property
    def next_at(self) -> float:
        """Clock time of the next planned attempt (0.0: none planned)."""
        return self._next_at

    def due(self) -> bool:
        return self._clock() >= self._next_at

    def reset(self) -> None:
        self.attempts = 0
        self._next_at = 0.0
