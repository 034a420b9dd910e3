"""A scripted world for the mission engine's unit tests (no physics, no ROS): a unicycle robot,
objects seen through a pinhole camera (the simulator's 320x240, 60 deg), round obstacles and
the objects themselves seen by a +-10 deg sonar. The engine is ticked at 10 Hz."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from edgebot_mission.geometry import CAMERA_X, SONAR_X, Camera, footprint, real_height
from edgebot_mission.mission import MissionEngine, Sighting

CAM = Camera.from_hfov(320, 60.0)


@dataclass
class Obj:
    cls: str
    x: float
    y: float


@dataclass
class Post:  # a round obstacle the detector does not know; tall: hides what is behind
    x: float
    y: float
    r: float


@dataclass
class World:
    x: float = 0.0  # odometry frame: the robot starts at the origin
    y: float = 0.0
    yaw: float = 0.0
    objects: list[Obj] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    t: float = 0.0
    track_ids: bool = False
    detector_alive: bool = True
    lag: float = 0.0  # s between a frame and its detections (the detector's latency)
    _frames: list = field(default_factory=list)
    log: list[tuple] = field(default_factory=list)  # (t, phase, v, w)

    def _ray_hits(self, ox, oy, a, cx, cy, r):
        dx, dy = cx - ox, cy - oy
        along = dx * math.cos(a) + dy * math.sin(a)
        perp = -dx * math.sin(a) + dy * math.cos(a)
        if along <= 0 or abs(perp) > r:
            return math.inf
        return along - math.sqrt(r * r - perp * perp)

    def sonar(self) -> float:
        ox, oy = self.x + SONAR_X * math.cos(self.yaw), self.y + SONAR_X * math.sin(self.yaw)
        best = math.inf
        for k in range(5):
            a = self.yaw + math.radians(-10 + 5 * k)
            for o in self.objects:
                best = min(best, self._ray_hits(ox, oy, a, o.x, o.y, footprint(o.cls)))
            for p in self.posts:
                best = min(best, self._ray_hits(ox, oy, a, p.x, p.y, p.r))
        return min(best, 4.0)

    def sightings(self) -> list[Sighting]:
        cx, cy = self.x + CAMERA_X * math.cos(self.yaw), self.y + CAMERA_X * math.sin(self.yaw)
        out = []
        for i, o in enumerate(self.objects):
            dx, dy = o.x - cx, o.y - cy
            b = math.atan2(dy, dx) - self.yaw
            b = math.atan2(math.sin(b), math.cos(b))
            # the box height measures a sphere or a cone at about its centre's depth, a box at
            # its front face's (as the shipped detector does in the simulated camera)
            near = footprint(o.cls) if o.cls == "box" else 0.0
            depth = math.hypot(dx, dy) * math.cos(b) - near
            if abs(b) > math.radians(29) or depth <= 0.15 or depth > 6.0:
                continue
            if any(self._ray_hits(cx, cy, self.yaw + b, p.x, p.y, p.r) < depth for p in self.posts):
                continue  # hidden behind a post
            h = CAM.fx * real_height(o.cls) / depth
            u = CAM.cx - CAM.fx * math.tan(b)
            out.append(Sighting(o.cls, 0.9, u, 120.0, h * 0.8, h, i + 1 if self.track_ids else -1))
        return out

    def step(self, v: float, w: float, dt: float = 0.1) -> None:
        self.yaw += w * dt
        self.x += v * dt * math.cos(self.yaw)
        self.y += v * dt * math.sin(self.yaw)
        for p in self.posts:  # no driving through a post
            d = math.hypot(self.x - p.x, self.y - p.y)
            if d < p.r + 0.12:
                k = (p.r + 0.12) / d
                self.x, self.y = p.x + (self.x - p.x) * k, p.y + (self.y - p.y) * k
        self.t += dt


def run(engine: MissionEngine, world: World, seconds: float, until_done: bool = True):
    """Tick the engine against the world; returns the reports in order."""
    reports = []
    while world.t < seconds:
        now = world.t
        engine.on_pose(now, world.x, world.y, world.yaw)
        engine.on_range(now, world.sonar())
        if world.detector_alive:
            world._frames.append((now, world.sightings()))
            while world._frames and world._frames[0][0] < now - world.lag - 1e-9:
                world._frames.pop(0)
            stamp, boxes = world._frames[0]
            engine.on_detections(now, 320, 240, boxes, stamp)
        v, w = engine.tick(now)
        world.log.append((now, engine.phase, v, w))
        reports += engine.take_reports()
        world.step(v, w)
        if until_done and engine.done:
            break
    return reports
