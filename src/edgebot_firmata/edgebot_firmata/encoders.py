"""Quadrature wheel encoders decoded on the host (ROS-free).

Any Firmata reports a digital port when one of its input pins changes. Each report carries the
levels of both encoder channels; a change of one channel is one quadrature count (x4
decoding: every edge of A and of B), the direction from which channel leads. A report in which
both channels changed means at least one edge was missed between two reports (the board's
loop or the serial link fell behind): the count cannot know the direction, so it is not
counted and ``illegal`` goes up. Two missed edges that restore the previous state are
invisible to any decoder of this kind: the measured loss-free edge rate (README) is the limit.

    dec = QuadratureDecoder()
    dec.update(a, b, t)              # levels from each port report, t its arrival time
    dec.count, dec.illegal, dec.velocity_counts(now)
"""

from __future__ import annotations

import math
import threading
from collections import deque

#: velocity is counts over (at least) this long: a message that comes late or early under load
#: does not turn one count into a spike
VELOCITY_WINDOW_S = 0.05

# (previous AB, new AB) -> +1 / -1 for a single-channel change; A leads B = forward
_STEP = {
    (0b00, 0b10): +1,
    (0b10, 0b11): +1,
    (0b11, 0b01): +1,
    (0b01, 0b00): +1,
    (0b00, 0b01): -1,
    (0b01, 0b11): -1,
    (0b11, 0b10): -1,
    (0b10, 0b00): -1,
}


class QuadratureDecoder:
    """Counts of one encoder from successive (A, B) levels; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state: int | None = None
        self.count = 0
        self.illegal = 0
        self.reports = 0
        self.last_t: float | None = None
        self._hist: deque[tuple[float, int]] = deque()

    def reset(self, keep_count: bool = True) -> None:
        """A new connection: the first report sets the state again (no count from it)."""
        with self._lock:
            self._state = None
            if not keep_count:
                self.count = 0

    def update(self, a: bool, b: bool, t: float) -> int:
        """Levels of A and B now; returns the count change (0 for none or an illegal step)."""
        new = (int(bool(a)) << 1) | int(bool(b))
        with self._lock:
            self.reports += 1
            old, self._state = self._state, new
            self.last_t = t
            if old is None or old == new:
                return 0
            step = _STEP.get((old, new))
            if step is None:
                self.illegal += 1
                return 0
            self.count += step
            return step

    def velocity_counts(self, now: float, window: float = VELOCITY_WINDOW_S) -> float:
        """Counts per second over the last ``window`` seconds (measured from the samples this
        is called with, so a late or early call still divides by the time really spanned);
        0.0 on the first call."""
        with self._lock:
            count = self.count
        h = self._hist
        h.append((now, count))
        while len(h) > 2 and now - h[1][0] >= window:
            h.popleft()
        t0, c0 = h[0]
        return (count - c0) / (now - t0) if now > t0 else 0.0


class WheelEncoder:
    """A decoder with the pin map's scale: radians of the wheel joint."""

    def __init__(self, counts_per_rev: float, reversed_: bool = False):
        self.decoder = QuadratureDecoder()
        self.rad_per_count = 2.0 * math.pi / counts_per_rev * (-1.0 if reversed_ else 1.0)

    @property
    def position(self) -> float:
        return self.decoder.count * self.rad_per_count

    def velocity(self, now: float) -> float:
        return self.decoder.velocity_counts(now) * self.rad_per_count


def encoder_stats(encoders: dict[str, WheelEncoder]) -> tuple[dict, int]:
    """Diagnostics values per encoder and the total of illegal transitions."""
    values, illegal = {}, 0
    for name, w in encoders.items():
        d = w.decoder
        values.update(
            {
                f"{name}_counts": d.count,
                f"{name}_reports": d.reports,
                f"{name}_illegal_transitions": d.illegal,
            }
        )
        illegal += d.illegal
    return values, illegal
