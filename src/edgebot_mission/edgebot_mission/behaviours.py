"""The mission's behaviours (py_trees), ROS-free. Each reads and writes one shared
:class:`edgebot_mission.mission.Context` (inputs, object map, the command of this tick).

Tree (a selector tries its children left to right each tick; the first that does not fail
runs):

    mission (selector)
    |-- finished: [done?] -> Stop
    |-- avoid:    [obstacle ahead while driving forward, or avoiding?] -> AvoidObstacle
    |-- wrap up:  [all found, time up or area searched?] -> ReturnHome
    |-- visit:    [a confirmed sighting to visit?] -> Approach -> MarkFound -> Report
    `-- Search    (turn on the spot, then the area's waypoints, a turn at each)
"""

from __future__ import annotations

import math

import py_trees
from py_trees.common import Status

from .geometry import CAMERA_X, footprint, wrap


def _clamp(x: float, lim: float) -> float:
    return max(-lim, min(lim, x))


class Condition(py_trees.behaviour.Behaviour):
    def __init__(self, name: str, fn):
        super().__init__(name)
        self.fn = fn

    def update(self) -> Status:
        return Status.SUCCESS if self.fn() else Status.FAILURE


class _Act(py_trees.behaviour.Behaviour):
    def __init__(self, name: str, ctx):
        super().__init__(name)
        self.ctx = ctx


def goto(ctx, gx: float, gy: float, tol: float) -> bool:
    """Set the command that drives toward (gx, gy) (turn first when far off heading);
    True when within ``tol``."""
    p, m = ctx.pose, ctx.cfg.motion
    ctx.goal = (gx, gy)
    d = math.hypot(gx - p.x, gy - p.y)
    if d <= tol:
        return True
    e = wrap(math.atan2(gy - p.y, gx - p.x) - p.yaw)
    w = _clamp(m.kp_angular * e, m.max_angular)
    v = 0.0 if abs(e) > 0.5 else min(m.max_linear, m.kp_linear * d + 0.05) * math.cos(e)
    ctx.command(v, w)
    return False


class Stop(_Act):
    def update(self) -> Status:
        self.ctx.phase = "done"
        self.ctx.command(0.0, 0.0)
        return Status.RUNNING


class AvoidObstacle(_Act):
    """Back off, turn away, drive past; then the interrupted behaviour steers back. The side
    is toward the goal (where one is known), kept for the same obstacle."""

    def initialise(self) -> None:
        c = self.ctx
        c.avoiding = True
        c.avoid_count += 1
        p = c.pose
        if c.now - c.avoid_last_t > 15.0:  # a new obstacle: choose a side
            side = 1.0
            if c.goal is not None:
                b = wrap(math.atan2(c.goal[1] - p.y, c.goal[0] - p.x) - p.yaw)
                side = 1.0 if b >= 0 else -1.0
            c.avoid_side = side
        self._phase, self._from, self._t0 = "back", p, c.now

    def update(self) -> Status:
        c, a, m = self.ctx, self.ctx.cfg.avoid, self.ctx.cfg.motion
        c.phase = "avoid"
        c.avoid_last_t = c.now
        p = c.pose
        moved = math.hypot(p.x - self._from.x, p.y - self._from.y)
        if self._phase == "back":
            if moved >= a.back_off or c.now - self._t0 > 4.0:
                self._phase, self._from, self._t0 = "turn", p, c.now
            else:
                c.command(-0.12, 0.0)
                return Status.RUNNING
        if self._phase == "turn":
            if abs(wrap(p.yaw - self._from.yaw)) >= a.turn or c.now - self._t0 > 8.0:
                self._phase, self._from, self._t0 = "pass", p, c.now
            else:
                c.command(0.0, c.avoid_side * 0.8 * m.max_angular)
                return Status.RUNNING
        if self._phase == "pass":
            if c.obstacle_close():  # still in the way: back off and turn further
                self._phase, self._from, self._t0 = "back", p, c.now
                c.command(0.0, 0.0)
                return Status.RUNNING
            if moved >= a.pass_ or c.now - self._t0 > 8.0:
                c.avoiding = False
                return Status.SUCCESS
            c.command(0.8 * m.max_linear, 0.0)
            return Status.RUNNING
        return Status.FAILURE

    def terminate(self, new_status: Status) -> None:
        if new_status != Status.RUNNING and new_status != Status.SUCCESS:
            self.ctx.avoiding = False


class ReturnHome(_Act):
    def update(self) -> Status:
        c = self.ctx
        c.phase = "return"
        if not c.cfg.at_end.return_home or goto(c, 0.0, 0.0, c.cfg.at_end.home_tolerance):
            c.finish()
            return Status.SUCCESS
        return Status.RUNNING


class Approach(_Act):
    """Drive to the locked object until ``approach_distance`` from its surface, centred. Unseen
    for ``lost_timeout``: drive to where it was; for ``give_up_timeout``: give it up."""

    def update(self) -> Status:
        c = self.ctx
        t, d = c.target, c.cfg.detect
        if t is None:
            return Status.FAILURE
        c.phase = "approach"
        p, m = c.pose, c.cfg.motion
        unseen = c.now - t.last_t
        if unseen > d.give_up_timeout:
            c.give_up_target()
            return Status.FAILURE
        stop = c.cfg.on_find.approach_distance
        # steer on the estimated position (placed with the pose at its frame's time) from the
        # pose now: a frame's own bearing is as old as the detector's latency
        dx, dy = t.x - p.x, t.y - p.y
        b = wrap(math.atan2(dy, dx) - p.yaw)
        if unseen <= 0.5:
            rng = t.range  # measured in the last frame
            if rng <= stop + 0.08 and abs(b) <= 0.12:
                c.command(0.0, 0.0)
                return Status.SUCCESS
        else:
            rng = math.hypot(dx, dy) - footprint(t.cls) - CAMERA_X
            if unseen > d.lost_timeout and rng <= stop + 0.1:
                # where it should be and not seen: turn towards it, then give up
                if abs(b) > 0.15:
                    c.command(0.0, _clamp(m.kp_angular * b, m.max_angular))
                    return Status.RUNNING
                if unseen > 3.0:
                    c.give_up_target()
                    return Status.FAILURE
        c.goal = (t.x, t.y)
        w = _clamp(m.kp_angular * b, m.max_angular)
        v = _clamp(m.kp_linear * (rng - stop), m.max_linear) * max(0.0, 1.0 - abs(b) / 0.5)
        if unseen > 0.5 and v < 0:
            v = 0.0
        c.command(v, w)
        return Status.RUNNING


class MarkFound(_Act):
    def update(self) -> Status:
        c = self.ctx
        if c.target is None:
            return Status.FAILURE
        c.last_found = c.objects.mark(c.target, c.elapsed())
        c.target = None
        return Status.SUCCESS


class Report(_Act):
    def update(self) -> Status:
        c = self.ctx
        if c.last_found is not None and c.cfg.on_find.report:
            c.reports.append(c.last_found)
        c.last_found = None
        return Status.SUCCESS


class Search(_Act):
    """A full turn on the spot, then the waypoints of the area (a turn at each when
    ``scan_at_waypoints``); FAILURE once all are done (the area is searched)."""

    def update(self) -> Status:
        c, s = self.ctx, self.ctx.cfg.search
        sp = c.search
        if sp["scan_left"] > 0:
            c.phase = "search"
            c.command(0.0, s.angular)
            return Status.RUNNING
        if sp["wp"] >= len(c.waypoints):
            c.searched = True
            return Status.FAILURE
        c.phase = "explore"
        gx, gy = c.waypoints[sp["wp"]]
        if goto(c, gx, gy, 0.25):
            sp["wp"] += 1
            p, (lx, ly) = c.pose, sp["scanned_at"]
            # a full turn here unless one was made near by (the first waypoint may be the start)
            if s.scan_at_waypoints and math.hypot(p.x - lx, p.y - ly) > 0.6 * c.cfg.area.spacing:
                sp["scan_left"] = 2 * math.pi
                sp["scanned_at"] = (p.x, p.y)
            c.command(0.0, 0.0)
        return Status.RUNNING


def build_tree(ctx) -> py_trees.behaviour.Behaviour:
    Seq, Sel = py_trees.composites.Sequence, py_trees.composites.Selector
    return Sel(
        "mission",
        memory=False,
        children=[
            Seq("finished", False, [Condition("done?", lambda: ctx.done), Stop("stop", ctx)]),
            Seq(
                "avoid",
                False,
                [
                    Condition("obstacle ahead?", ctx.must_avoid),
                    AvoidObstacle("avoid obstacle", ctx),
                ],
            ),
            Seq(
                "wrap up",
                False,
                [
                    Condition("all found, time up or searched?", ctx.wrap_up),
                    ReturnHome("home", ctx),
                ],
            ),
            Seq(
                "visit",
                True,
                [
                    Condition("something to visit?", ctx.select_target),
                    Approach("approach", ctx),
                    MarkFound("mark found", ctx),
                    Report("report", ctx),
                ],
            ),
            Search("search", ctx),
        ],
    )
