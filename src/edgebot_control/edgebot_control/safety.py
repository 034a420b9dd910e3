"""Safety monitor logic (ROS-free): velocity source priority with timeouts (like twist_mux),
e-stop, obstacle stop from a forward range sensor, heartbeat supervision.

    m = SafetyLogic(SafetyConfig(...), sources=[Source("teleop", 100, 0.5), ...],
                    heartbeats=[Heartbeat("firmata", 1.0), ...])
    m.on_command(now, "teleop", v, w)     # -> None when accepted, else the reject reason
    m.on_range(now, r)                     # sonar (REP 117: +inf clear, -inf too close)
    m.on_heartbeat(now, "firmata")
    m.set_estop(now, True)
    out = m.step(now)                      # Output(v, w, source, state, reasons)

The output is zero while any stop condition holds; the obstacle stop only removes forward
motion (turning and reversing stay allowed). After an e-stop release or after a heartbeat comes
back, commands received *before* that moment are ignored, so the robot never resumes on a
stale command.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# states published on safety/state
IDLE = "idle"  # no fresh source, output zero
ACTIVE = "active"  # a source drives the robot
LIMITED = "limited"  # a source drives, forward motion removed (obstacle)
STOPPED = "stopped"  # e-stop or lost heartbeat: zero


@dataclass
class Source:
    name: str
    priority: int
    timeout: float  # s, a source older than this is ignored
    v: float = 0.0
    w: float = 0.0
    stamp: float | None = None


@dataclass
class Heartbeat:
    name: str
    timeout: float
    blocks: tuple[str, ...] = ()  # source names it gates; empty: every source
    stamp: float | None = None


@dataclass
class SafetyConfig:
    max_linear: float = 1.0  # |v| above this is rejected, not clamped
    max_angular: float = 4.0
    obstacle_distance: float = 0.25  # m: forward motion stops below this range
    obstacle_hysteresis: float = 0.05  # m: released above distance + hysteresis
    range_timeout: float = 0.5  # s: an obstacle reading older than this expires


@dataclass
class Output:
    v: float
    w: float
    source: str  # the source that drives, "" for none
    state: str
    reasons: list[str] = field(default_factory=list)  # every stop / limit in force

    @property
    def authority(self) -> bool:
        """A source drives (``safety/authority``): false when idle (every source lost) or
        stopped (e-stop, lost heartbeat), and the base brakes at its emergency deceleration."""
        return self.state in (ACTIVE, LIMITED)


class SafetyLogic:
    def __init__(
        self, cfg: SafetyConfig, sources: Sequence[Source], heartbeats: Sequence[Heartbeat] = ()
    ):
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate source names in {names}")
        for hb in heartbeats:
            unknown = [b for b in hb.blocks if b not in names]
            if unknown:
                raise ValueError(f"heartbeat {hb.name!r} blocks unknown sources {unknown}")
        self.cfg = cfg
        self.sources: dict[str, Source] = {s.name: s for s in sources}
        self._by_priority = sorted(sources, key=lambda s: -s.priority)
        self.heartbeats: dict[str, Heartbeat] = {h.name: h for h in heartbeats}
        self.estop = False
        self._resume_after: dict[str, float] = {s.name: -math.inf for s in sources}
        self._hb_lost: dict[str, bool] = {h.name: True for h in heartbeats}
        self.obstacle = False
        self.range: float | None = None
        self._range_at: float | None = None
        self.stop_counts: dict[str, int] = {}
        self._active_reasons: set = set()
        self.last_stop_reason = ""

    # -- inputs -------------------------------------------------------------------------
    def on_command(self, now: float, name: str, v: float, w: float) -> str | None:
        src = self.sources[name]
        if not (math.isfinite(v) and math.isfinite(w)):
            return "non_finite"
        if abs(v) > self.cfg.max_linear or abs(w) > self.cfg.max_angular:
            return "over_limit"
        src.v, src.w, src.stamp = float(v), float(w), now
        return None

    def on_range(
        self, now: float, r: float, min_range: float = 0.0, max_range: float = math.inf
    ) -> str | None:
        """A forward range reading (REP 117). Returns a reject reason for garbage."""
        if isinstance(r, bool) or not isinstance(r, (int, float)) or math.isnan(r):
            return "nan_range"
        if r == -math.inf:
            r = 0.0  # too close to measure: an obstacle
        elif r == math.inf or r > max_range:
            r = math.inf  # nothing detected
        elif r < 0.0:
            return "negative_range"
        elif r < min_range:
            r = 0.0  # under the sensor's minimum: treat as very close
        self.range, self._range_at = float(r), now
        if r < self.cfg.obstacle_distance:
            self.obstacle = True
        elif r > self.cfg.obstacle_distance + self.cfg.obstacle_hysteresis:
            self.obstacle = False
        return None

    def on_heartbeat(self, now: float, name: str) -> None:
        self.heartbeats[name].stamp = now

    def set_estop(self, now: float, engaged: bool) -> None:
        if self.estop and not engaged:
            for n in self._resume_after:
                self._resume_after[n] = max(self._resume_after[n], now)
        self.estop = bool(engaged)

    # -- evaluation ---------------------------------------------------------------------
    def _count(self, reason: str) -> None:
        """Count a stop reason when it becomes active (not once per step)."""
        if reason not in self._active_reasons:
            self.stop_counts[reason] = self.stop_counts.get(reason, 0) + 1
            self.last_stop_reason = reason

    def step(self, now: float) -> Output:
        reasons: list[str] = []
        blocked: set = set()
        all_blocked = False
        if self.estop:
            reasons.append("estop")
            all_blocked = True
        for hb in self.heartbeats.values():
            lost = hb.stamp is None or now - hb.stamp > hb.timeout
            if self._hb_lost[hb.name] and not lost:
                # back: ignore whatever the gated sources sent while it was gone
                for n in hb.blocks or tuple(self.sources):
                    self._resume_after[n] = max(self._resume_after[n], now)
            self._hb_lost[hb.name] = lost
            if lost:
                what = "never seen" if hb.stamp is None else f"silent {now - hb.stamp:.2f}s"
                reasons.append(f"heartbeat_lost:{hb.name} ({what})")
                if hb.blocks:
                    blocked.update(hb.blocks)
                else:
                    all_blocked = True
        if self._range_at is not None and now - self._range_at > self.cfg.range_timeout:
            self.obstacle = False  # stale reading: liveness is the heartbeat's job
        chosen: Source | None = None
        for s in self._by_priority:
            if s.stamp is None or now - s.stamp > s.timeout or s.stamp < self._resume_after[s.name]:
                continue
            chosen = s  # highest-priority fresh source wins, even if 0
            break
        if chosen is not None and chosen.name in blocked:
            all_blocked = True
        v = w = 0.0
        state = IDLE
        if all_blocked:
            state = STOPPED
        elif chosen is not None:
            v, w = chosen.v, chosen.w
            state = ACTIVE
            if self.obstacle:
                reasons.append(f"obstacle ({self.range:.2f} m < {self.cfg.obstacle_distance} m)")
                if v > 0.0:
                    v = 0.0
                    state = LIMITED
        elif self.obstacle:
            reasons.append(f"obstacle ({self.range:.2f} m < {self.cfg.obstacle_distance} m)")
        keys = {r.split(" ")[0] for r in reasons}
        for k in keys:
            self._count(k)
        self._active_reasons = keys
        return Output(v, w, chosen.name if chosen and state != STOPPED else "", state, reasons)
