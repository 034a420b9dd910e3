"""What the mission knows about the objects around it (ROS-free): sightings merged into
candidates, the objects found, and those given up for a while.

A sighting is the same object as a candidate or a found object when the detector's track ids
say so (``track_id >= 0`` on both), else when it is of the same class and its estimated
position is within ``dedupe_radius`` (widened to a quarter of the range for far sightings,
whose range estimate is coarser).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .geometry import Observation


@dataclass
class Candidate:
    cls: str
    x: float
    y: float
    range: float
    bearing: float
    first_t: float
    last_t: float
    track_id: int = -1
    sightings: int = 1
    close: list[tuple[float, float]] = field(default_factory=list)  # estimates from near by

    def add(self, o: Observation, now: float, close_range: float) -> None:
        self.x, self.y, self.range, self.bearing = o.x, o.y, o.range, o.bearing
        self.last_t = now
        self.sightings += 1
        if o.track_id >= 0:
            self.track_id = o.track_id
        if o.range <= close_range:
            self.close.append((o.x, o.y))
            del self.close[:-15]

    def estimate(self) -> tuple[float, float]:
        """The position to report: the median of the estimates from near by, else the last."""
        if self.close:
            return (
                statistics.median(p[0] for p in self.close),
                statistics.median(p[1] for p in self.close),
            )
        return self.x, self.y


@dataclass(frozen=True)
class Found:
    index: int  # 1, 2, ... in the order found
    cls: str
    x: float
    y: float
    t: float  # mission time it was marked [s]
    track_id: int = -1
    sightings: int = 0

    def as_dict(self, frame_id: str = "odom") -> dict:
        return {
            "index": self.index,
            "class": self.cls,
            "x": round(self.x, 3),
            "y": round(self.y, 3),
            "frame_id": frame_id,
            "t": round(self.t, 2),
            "track_id": self.track_id,
            "sightings": self.sightings,
        }


def same_object(a_cls, ax, ay, a_track, o: Observation, radius: float) -> bool:
    if a_track >= 0 and o.track_id >= 0:
        return a_track == o.track_id
    if a_cls != o.cls:
        return False
    return math.hypot(ax - o.x, ay - o.y) <= max(radius, 0.25 * o.range)


class ObjectMap:
    def __init__(self, wanted: dict[str, int], dedupe_radius: float, forget_after: float = 10.0):
        self.wanted = dict(wanted)
        self.radius = dedupe_radius
        self.forget_after = forget_after
        self.candidates: list[Candidate] = []
        self.found: list[Found] = []
        self.ignored: list[tuple[str, float, float, float]] = []  # cls, x, y, until
        self.duplicates = 0  # sightings of objects already found

    def still_wanted(self, cls: str) -> bool:
        return sum(1 for f in self.found if f.cls == cls) < self.wanted.get(cls, 0)

    def all_found(self) -> bool:
        return all(not self.still_wanted(c) for c in self.wanted)

    def is_found(self, o: Observation) -> bool:
        return any(same_object(f.cls, f.x, f.y, f.track_id, o, self.radius) for f in self.found)

    def is_ignored(self, o: Observation, now: float) -> bool:
        self.ignored = [i for i in self.ignored if i[3] > now]
        return any(
            c == o.cls and math.hypot(x - o.x, y - o.y) <= max(self.radius, 0.25 * o.range)
            for c, x, y, _ in self.ignored
        )

    def sight(self, o: Observation, now: float, close_range: float = 1.5) -> Candidate | None:
        """Feed one sighting of a wanted class; returns the candidate it became part of, or
        None when it is an object found already, given up, or a class no longer wanted."""
        if not self.still_wanted(o.cls):
            return None
        if self.is_found(o):
            self.duplicates += 1
            return None
        if self.is_ignored(o, now):
            return None
        for c in self.candidates:
            if same_object(c.cls, c.x, c.y, c.track_id, o, self.radius):
                c.add(o, now, close_range)
                return c
        c = Candidate(o.cls, o.x, o.y, o.range, o.bearing, now, now, o.track_id)
        if o.range <= close_range:
            c.close.append((o.x, o.y))
        self.candidates.append(c)
        return c

    def forget(self, now: float, keep: Candidate | None = None) -> None:
        self.candidates = [
            c for c in self.candidates if c is keep or now - c.last_t <= self.forget_after
        ]

    def best(self, x: float, y: float, now: float, confirm: int, fresh: float = 1.0):
        """The nearest candidate seen at least ``confirm`` times and within ``fresh`` s."""
        ok = [
            c
            for c in self.candidates
            if c.sightings >= confirm and now - c.last_t <= fresh and self.still_wanted(c.cls)
        ]
        return min(ok, key=lambda c: math.hypot(c.x - x, c.y - y), default=None)

    def mark(self, c: Candidate, t: float) -> Found:
        x, y = c.estimate()
        f = Found(len(self.found) + 1, c.cls, x, y, t, c.track_id, c.sightings)
        self.found.append(f)
        self.candidates = [k for k in self.candidates if k is not c]
        return f

    def give_up(self, c: Candidate, until: float) -> None:
        self.ignored.append((c.cls, c.x, c.y, until))
        self.candidates = [k for k in self.candidates if k is not c]
