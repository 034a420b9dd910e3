"""The mission engine, ROS-free: inputs in, a behaviour tree ticked, a velocity out.

    m = MissionEngine(config.load("config/missions/find_three.yaml"))
    m.on_pose(now, x, y, yaw)                          # odometry (odom frame)
    m.on_range(now, 0.9)                               # sonar, m
    m.on_camera_info(320, 277.1, 160.0)                # width, fx, cx
    m.on_detections(now, 320, 240, [Sighting("ball", 0.9, u, v, w, h, track_id), ...])
    v, w = m.tick(now)
    m.phase       # waiting | blind | search | explore | approach | avoid | return | done
    m.take_reports()                                   # objects found since the last call

The engine stops (0, 0) until both odometry and detections have come, and again whenever
either goes silent (``detect.input_timeout``, 0.5 s for odometry): it never drives on frozen
inputs. Mission time starts with the first live inputs.
"""

from __future__ import annotations

import bisect
import collections
import math

from edgebot_common import objects

from . import behaviours
from .config import Mission
from .geometry import Camera, Pose, observe, wrap
from .world import Found, ObjectMap

POSE_TIMEOUT = 0.5  # s
POSE_HISTORY = 3.0  # s of odometry kept to place detections at their frame's time
RANGE_TIMEOUT = 0.5  # s


Sighting = objects.Detection


def waypoints(area, start=(0.0, 0.0)) -> list[tuple[float, float]]:
    """A lawnmower over the area: lanes along x, ``spacing`` apart, alternating direction,
    starting with the lane nearest ``start``."""
    (x0, x1), (y0, y1), s = area.x, area.y, area.spacing
    n = max(1, int(math.floor((y1 - y0) / s)))
    lanes = [y0 + (y1 - y0) * (i + 0.5) / n for i in range(n)]
    lanes.sort(key=lambda y: abs(y - start[1]))
    mx = min(s / 2, (x1 - x0) / 2)
    out: list[tuple[float, float]] = []
    forward = True
    for y in lanes:
        a, b = (x0 + mx, x1 - mx) if forward else (x1 - mx, x0 + mx)
        out += [(a, y), (b, y)]
        forward = not forward
    return out


class Context:
    """What the behaviours share."""

    def __init__(self, cfg: Mission):
        self.cfg = cfg
        self.objects = ObjectMap(cfg.wanted(), cfg.detect.dedupe_radius)
        self.waypoints = waypoints(cfg.area)
        self.now = 0.0
        self.start_t: float | None = None
        self.pose: Pose | None = None
        self.pose_t = -math.inf
        self.det_t = -math.inf
        self.sonar: float | None = None
        self.sonar_t = -math.inf
        self.camera = Camera.from_hfov(objects.CAMERA_WIDTH, objects.CAMERA_HFOV_DEG)
        self.cmd = (0.0, 0.0)
        self.last_cmd = (0.0, 0.0)
        self.phase = "waiting"
        self.goal: tuple[float, float] | None = None
        self.target = None  # the Candidate being visited
        self.last_found: Found | None = None
        self.reports: list[Found] = []
        self.search = {"scan_left": 2 * math.pi, "wp": 0, "scanned_at": (0.0, 0.0)}
        self.searched = False
        self.done = False
        self.outcome = ""
        self.avoiding = False
        self.avoid_side = 1.0
        self.avoid_last_t = -math.inf
        self.avoid_count = 0
        self.given_up = 0

    # -- helpers for the behaviours ----------------------------------------------------------
    def command(self, v: float, w: float) -> None:
        self.cmd = (float(v), float(w))

    def elapsed(self) -> float:
        return 0.0 if self.start_t is None else self.now - self.start_t

    def sonar_fresh(self) -> float | None:
        return self.sonar if self.now - self.sonar_t <= RANGE_TIMEOUT else None

    def obstacle_close(self) -> bool:
        """The sonar sees something nearer than ``avoid.distance`` that is not the object
        being approached (that one is centred and about as far as the camera says)."""
        r = self.sonar_fresh()
        if r is None or r >= self.cfg.avoid.distance:
            return False
        t = self.target
        if t is not None and self.now - t.last_t <= 0.5 and abs(t.bearing) < 0.3:
            return t.range > r + 0.3  # the target is the nearest thing: no obstacle
        return True

    def must_avoid(self) -> bool:
        return self.avoiding or (self.last_cmd[0] > 0.02 and self.obstacle_close())

    def wrap_up(self) -> bool:
        return (
            self.objects.all_found()
            or self.elapsed() >= self.cfg.time_limit
            or (self.searched and self.target is None)
        )

    def select_target(self) -> bool:
        if self.target is None:
            p = self.pose
            self.target = self.objects.best(p.x, p.y, self.now, self.cfg.detect.confirm_frames)
        return self.target is not None

    def give_up_target(self) -> None:
        if self.target is not None:
            self.objects.give_up(self.target, self.now + 30.0)
            self.target = None
            self.given_up += 1

    def finish(self) -> None:
        self.done = True
        self.phase = "done"
        missing = {
            c: n - sum(1 for f in self.objects.found if f.cls == c)
            for c, n in self.objects.wanted.items()
        }
        missing = {c: n for c, n in missing.items() if n > 0}
        if not missing:
            self.outcome = "complete"
        else:
            why = "time limit" if self.elapsed() >= self.cfg.time_limit else "area searched"
            self.outcome = f"incomplete ({why}; not found: {missing})"


class MissionEngine:
    def __init__(self, cfg: Mission):
        self.cfg = cfg
        self.ctx = Context(cfg)
        self.tree = behaviours.build_tree(self.ctx)
        self.ticks = 0
        self._last_yaw: float | None = None
        self._history: collections.deque = collections.deque()

    # -- inputs -------------------------------------------------------------------------------
    def on_pose(self, now: float, x: float, y: float, yaw: float) -> bool:
        if not all(math.isfinite(v) for v in (x, y, yaw)):
            return False
        self.ctx.pose, self.ctx.pose_t = Pose(x, y, yaw), now
        h = self._history
        if h and now < h[-1][0]:
            h.clear()  # time went back (a simulator reset)
        h.append((now, self.ctx.pose))
        while len(h) > 2 and now - h[0][0] > POSE_HISTORY:
            h.popleft()
        return True

    def pose_at(self, t: float | None) -> Pose | None:
        """The pose at time ``t`` (interpolated in the last few seconds of odometry): where the
        robot was when the camera took the frame a detection describes."""
        h = self._history
        if t is None or not h:
            return self.ctx.pose
        if t <= h[0][0]:
            return h[0][1]
        if t >= h[-1][0]:
            return h[-1][1]
        i = bisect.bisect_left(h, t, key=lambda e: e[0])
        (t0, a), (t1, b) = h[i - 1], h[i]
        k = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return Pose(
            a.x + k * (b.x - a.x), a.y + k * (b.y - a.y), wrap(a.yaw + k * wrap(b.yaw - a.yaw))
        )

    def on_range(self, now: float, r: float) -> bool:
        if not (isinstance(r, (int, float)) and not math.isnan(r) and r >= 0):
            return False
        self.ctx.sonar, self.ctx.sonar_t = float(r), now
        return True

    def on_camera_info(self, width: float, fx: float, cx: float) -> None:
        """Raises ValueError for a CameraInfo that describes no camera."""
        self.ctx.camera = Camera.from_info(width, fx, cx)

    def on_detections(
        self, now: float, image_w: float, image_h: float, boxes, stamp: float | None = None
    ) -> list[str]:
        """One detection array (``stamp``: when its frame was taken, same clock as ``now``;
        the robot's pose then places the objects); returns the problems of boxes it rejected.
        Raises ValueError for an unusable image size."""
        c = self.ctx
        if not (image_w > 0 and image_h > 0):
            raise ValueError(f"image size {image_w}x{image_h} not positive")
        c.det_t = now
        problems: list[str] = []
        if c.pose is None:
            return problems
        cam = c.camera.scaled(image_w)
        pose = self.pose_at(stamp)
        d = self.cfg.detect
        for b in boxes:
            vals = (b.score, b.center_x, b.center_y, b.size_x, b.size_y)
            if not all(math.isfinite(v) for v in vals) or b.size_x <= 0 or b.size_y <= 0:
                problems.append(f"impossible box {vals}")
                continue
            if b.label not in c.objects.wanted or b.score < d.min_score:
                continue
            # a box cut by the image's bottom or top edge does not measure the object's height
            if b.center_y + b.size_y / 2 >= image_h - 1 or b.center_y - b.size_y / 2 <= 1:
                continue
            o = observe(
                cam, pose, b.label, b.center_x, b.size_y, c.sonar_fresh(), track_id=b.track_id
            )
            if o.range > d.max_range or not self._in_area(o.x, o.y):
                continue
            c.objects.sight(o, now)
        c.objects.forget(now, keep=c.target)
        return problems

    def _in_area(self, x: float, y: float, margin: float = 0.6) -> bool:
        a = self.cfg.area
        return a.x[0] - margin <= x <= a.x[1] + margin and a.y[0] - margin <= y <= a.y[1] + margin

    # -- output -------------------------------------------------------------------------------
    def inputs_live(self, now: float) -> bool:
        c = self.ctx
        return now - c.pose_t <= POSE_TIMEOUT and now - c.det_t <= self.cfg.detect.input_timeout

    def tick(self, now: float) -> tuple[float, float]:
        c = self.ctx
        c.now = now
        if not self.inputs_live(now):
            c.phase = "waiting" if c.start_t is None else "blind"
            c.last_cmd = (0.0, 0.0)
            return 0.0, 0.0
        if c.start_t is None:
            c.start_t = now
        yaw = c.pose.yaw
        if self._last_yaw is not None and c.phase == "search":  # turned while scanning
            c.search["scan_left"] -= abs(wrap(yaw - self._last_yaw))
        self._last_yaw = yaw
        c.cmd = (0.0, 0.0)
        self.tree.tick_once()
        self.ticks += 1
        m = self.cfg.motion
        v = max(-m.max_linear, min(m.max_linear, c.cmd[0]))
        w = max(-m.max_angular, min(m.max_angular, c.cmd[1]))
        c.last_cmd = (v, w)
        return v, w

    @property
    def phase(self) -> str:
        return self.ctx.phase

    @property
    def done(self) -> bool:
        return self.ctx.done

    @property
    def found(self) -> list[Found]:
        return list(self.ctx.objects.found)

    def take_reports(self) -> list[Found]:
        out, self.ctx.reports = self.ctx.reports, []
        return out

    def state(self) -> dict:
        c = self.ctx
        return {
            "state": c.phase,
            "mission": self.cfg.name,
            "elapsed": round(c.elapsed(), 2),
            "time_limit": self.cfg.time_limit,
            "found": [f.as_dict() for f in c.objects.found],
            "wanted": c.objects.wanted,
            "done": c.done,
            "outcome": c.outcome,
            "avoided": c.avoid_count,
            "given_up": c.given_up,
            "waypoint": c.search["wp"],
            "waypoints": len(c.waypoints),
        }
