"""Target follower logic (ROS-free): pick the target in a detection list, estimate its distance,
and run the search -> track -> approach -> hold state machine that turns it into (v, w).

    f = Follower(FollowerConfig(target_class="ball"))
    f.on_detections(now, image_w, image_h, [Box("ball", 0.9, cx, cy, w, h), ...])
    f.on_range(now, 0.8)                       # optional sonar, metres
    v, w = f.step(now); f.state     # "blind" | "search" | "track" | "approach" | "hold"

A follower acts only on a live detector: when no detection message (even an empty one) has
come for ``input_timeout`` seconds -- the detector or the camera died, hung or lost its stream --
it stops and reports "blind" instead of driving on its last detection or searching; it follows
again as soon as messages flow. A message about a frame older than ``max_age`` (its image stamp
against the node's clock: a detector working off a backlog) is stale: rejected, and not a sign
of a live detector.

Image convention: x to the right. A target right of the centre needs a clockwise turn, i.e.
negative angular velocity (REP 103: z up, positive w turns left).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from edgebot_common import objects

BLIND = "blind"  # no detection messages: stopped
SEARCH = "search"
TRACK = "track"
APPROACH = "approach"
HOLD = "hold"


Box = objects.Detection


@dataclass
class FollowerConfig:
    target_class: str = "ball"
    min_score: float = 0.4
    stop_distance: float = 0.5  # m, where the robot holds in front of the target
    distance_tolerance: float = 0.08  # m, hold band half-width (hysteresis: 2x to leave)
    center_tolerance: float = 0.10  # normalised offset (-1..1) considered "centred"
    kp_angular: float = 1.2  # rad/s per unit normalised offset
    kp_linear: float = 0.6  # m/s per metre of distance error
    max_linear: float = 0.25  # m/s
    max_angular: float = 1.0  # rad/s
    search_angular: float = 0.4  # rad/s while searching (positive: turn left)
    lost_timeout: float = 1.0  # s without the target -> search
    input_timeout: float = 0.3  # s without any detection message -> blind (stop)
    max_age: float = 0.5  # s: detections of older frames are stale (0: no check)
    hfov_deg: float = objects.CAMERA_HFOV_DEG
    use_sonar: bool = True
    sonar_max_age: float = 0.5  # s
    sonar_center_tolerance: float = 0.25  # sonar used for distance only when this centred
    sonar_min_range: float = 0.02  # m, readings outside [min, max] are not distances
    sonar_max_range: float = 4.0


#: the real-world height of a demo-world class (what the box height measures)
target_height_m = objects.height


def focal_length_px(image_width: float, hfov_deg: float) -> float:
    return (image_width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)


def distance_from_box(
    box_height_px: float, image_width: float, hfov_deg: float, real_height_m: float
) -> float:
    """Pinhole estimate: distance = f * H / h (square pixels assumed)."""
    return focal_length_px(image_width, hfov_deg) * real_height_m / box_height_px


def box_problem(b: Box, image_w: float, image_h: float) -> str | None:
    """Why a detection box is impossible, or None if it is plausible."""
    vals = (b.score, b.center_x, b.center_y, b.size_x, b.size_y)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
        return "non-finite box"
    if not 0.0 <= b.score <= 1.0:
        return f"score {b.score} outside [0, 1]"
    if b.size_x <= 0 or b.size_y <= 0:
        return f"box size {b.size_x}x{b.size_y} not positive"
    if b.size_x > 2 * image_w or b.size_y > 2 * image_h:
        return f"box {b.size_x}x{b.size_y} larger than twice the {image_w}x{image_h} image"
    if not (0.0 <= b.center_x <= image_w and 0.0 <= b.center_y <= image_h):
        return f"centre ({b.center_x}, {b.center_y}) outside the {image_w}x{image_h} image"
    return None


class StaleDetections(ValueError):
    """The detections describe a frame older than ``max_age``."""


def _clamp(x: float, lim: float) -> float:
    return max(-lim, min(lim, x))


class Follower:
    def __init__(self, cfg: FollowerConfig):
        self.cfg = cfg
        self.real_height = target_height_m(cfg.target_class)
        self.state = BLIND  # until the first detection message
        self.offset: float | None = None  # normalised -1 (left edge) .. 1 (right edge)
        self.distance: float | None = None  # m, best estimate
        self.distance_source = ""
        self.camera_distance: float | None = None
        self._seen_at: float | None = None
        self._input_at: float | None = None  # last usable detection message
        self.in_last_frame = False
        self._range: float | None = None
        self._range_at: float | None = None
        self.transitions = 0

    # -- inputs ---------------------------------------------------------------------------
    def on_detections(
        self,
        now: float,
        image_w: float,
        image_h: float,
        boxes: Iterable[Box],
        age: float | None = None,
    ) -> tuple[Box | None, list[str]]:
        """Feed one detection array (``age``: seconds since its frame was taken, None when
        unknown); returns (chosen target or None, problems of rejected boxes).

        Raises ValueError for an unusable image size, StaleDetections for a frame older than
        ``max_age`` (the whole message is rejected)."""
        if not (image_w > 0 and image_h > 0):
            raise ValueError(f"image size {image_w}x{image_h} not positive")
        if age is not None and self.cfg.max_age > 0 and age > self.cfg.max_age:
            raise StaleDetections(
                f"detections of a frame {age:.2f} s old (max_age {self.cfg.max_age} s)"
            )
        self._input_at = now
        problems: list[str] = []
        best: Box | None = None
        for b in boxes:
            why = box_problem(b, image_w, image_h)
            if why:
                problems.append(why)
                continue
            if b.label != self.cfg.target_class or b.score < self.cfg.min_score:
                continue
            if best is None or b.score > best.score:
                best = b
        self.in_last_frame = best is not None
        if best is not None:
            self._seen_at = now
            self.offset = max(-1.0, min(1.0, (best.center_x - image_w / 2.0) / (image_w / 2.0)))
            self.camera_distance = distance_from_box(
                best.size_y, image_w, self.cfg.hfov_deg, self.real_height
            )
        return best, problems

    def on_range(self, now: float, r: float) -> bool:
        """Feed a sonar reading; False when it is not a usable distance (not stored)."""
        if not (isinstance(r, (int, float)) and math.isfinite(r)):
            return False
        if not self.cfg.sonar_min_range <= r <= self.cfg.sonar_max_range:
            return False
        self._range, self._range_at = float(r), now
        return True

    # -- output ---------------------------------------------------------------------------
    def input_live(self, now: float) -> bool:
        """A usable detection message came within ``input_timeout``."""
        return self._input_at is not None and now - self._input_at <= self.cfg.input_timeout

    def target_visible(self, now: float) -> bool:
        return self._seen_at is not None and now - self._seen_at <= self.cfg.lost_timeout

    def _estimate_distance(self, now: float) -> None:
        c = self.cfg
        sonar_ok = (
            c.use_sonar
            and self._range_at is not None
            and now - self._range_at <= c.sonar_max_age
            and self.offset is not None
            and abs(self.offset) <= c.sonar_center_tolerance
        )
        if sonar_ok:
            self.distance, self.distance_source = self._range, "sonar"
        else:
            self.distance, self.distance_source = self.camera_distance, "camera"

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.transitions += 1

    def step(self, now: float) -> tuple[float, float]:
        c = self.cfg
        if not self.input_live(now):
            self._set(BLIND)  # acting on a frozen detection is driving blind
            self.offset = self.distance = None
            self.distance_source = ""
            self.in_last_frame = False
            return 0.0, 0.0
        if not self.target_visible(now):
            self._set(SEARCH)
            self.offset = self.distance = None
            self.distance_source = ""
            return 0.0, c.search_angular
        if not self.in_last_frame:
            return 0.0, 0.0  # briefly lost: wait in place until lost_timeout
        self._estimate_distance(now)
        off, d = self.offset, self.distance
        w = _clamp(-c.kp_angular * off, c.max_angular)
        centred_in = abs(off) <= c.center_tolerance
        centred_out = abs(off) > 2.0 * c.center_tolerance
        err = d - c.stop_distance
        if self.state in (SEARCH, BLIND):
            self._set(TRACK)
        if self.state == TRACK:
            if centred_in:
                self._set(HOLD if abs(err) <= c.distance_tolerance else APPROACH)
        elif self.state == APPROACH:
            if centred_out:
                self._set(TRACK)
            elif abs(err) <= c.distance_tolerance:
                self._set(HOLD)
        elif self.state == HOLD:
            if centred_out:
                self._set(TRACK)
            elif abs(err) > 2.0 * c.distance_tolerance:
                self._set(APPROACH)
        if self.state == TRACK:
            return 0.0, w
        if self.state == HOLD:
            return 0.0, (w if not centred_in else 0.0)
        # approach: forward (or back off when too close), slowing while off-centre
        v = _clamp(c.kp_linear * err, c.max_linear) * max(0.0, 1.0 - abs(off))
        return v, w
