"""Scenario files (``config/scenarios/*.yaml``): the world a simulated run happens in. ROS-free.

    name: open_field                  # defaults to the file name
    description: "..."
    seed: 1                           # default seed (the sim's ``seed`` parameter overrides it)
    time_limit: 60.0                  # s of simulated time to reach the target
    robot: edgebot_rover.urdf         # urdf/ name or a path
    floor: {size: [8.0, 8.0], friction: 0.9, rgba: [0.55, 0.55, 0.55, 1], wall_height: 0.3}
    start: {x: 0.0, y: 0.0, yaw: 0.0}
    target: {class: ball, x: 2.5, y: 0.3, reach_distance: 0.35}
    obstacles:                        # static shapes the detector does not know
      - {shape: box, x: 1.2, y: 0.8, yaw: 0.0, size: [0.3, 0.3, 0.3], rgba: [0.3, 0.6, 0.3, 1]}
      - {shape: cylinder, x: 1.5, y: -0.9, size: [0.1, 0.4]}
    distractors:                      # other objects of the detector's classes
      - {class: cone, x: 3.0, y: 2.0}
    randomize: {start_xy: 0.1, start_yaw: 0.2, target_xy: 0.3}   # seeded jitter (uniform ±)

Every key is checked: an unknown key, a wrong type, an impossible value (a negative size, an
object off the floor, a target inside an obstacle) or a missing model (an unknown object class,
a robot file that does not exist) raises :class:`ScenarioError` with one line naming the file
and the key, e.g. ``scenarios/x.yaml: key 'target.class' = 'duck': unknown object class ...``.

``reach_distance``: the target counts as reached when the distance from the rover's base_link
origin to the nearest point of the target's footprint is at most this (metres). The follower
holds ``stop_distance`` (0.5 m) from its front sonar, 0.125 m ahead of base_link: 0.75 leaves
room for its tolerance.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass, replace
from typing import Any

import yaml

from edgebot_common import objects

SHAPES = ("box", "cylinder", "sphere")


class ScenarioError(ValueError):
    """A scenario file is not valid. The message names the file and the key."""


@dataclass(frozen=True)
class Floor:
    size: tuple[float, float] = (8.0, 8.0)
    friction: float = 0.9
    rgba: tuple[float, float, float, float] = (0.55, 0.55, 0.55, 1.0)
    wall_height: float = 0.3


@dataclass(frozen=True)
class Pose2D:
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0


@dataclass(frozen=True)
class Target:
    cls: str
    x: float
    y: float
    yaw: float = 0.0
    reach_distance: float = 0.35


@dataclass(frozen=True)
class Obstacle:
    shape: str
    x: float
    y: float
    size: tuple[float, ...]
    yaw: float = 0.0
    rgba: tuple[float, float, float, float] = (0.25, 0.55, 0.25, 1.0)


@dataclass(frozen=True)
class Distractor:
    cls: str
    x: float
    y: float
    yaw: float = 0.0


@dataclass(frozen=True)
class Randomize:
    start_xy: float = 0.0
    start_yaw: float = 0.0
    target_xy: float = 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    target: Target
    description: str = ""
    seed: int = 0
    time_limit: float = 60.0
    robot: str = "edgebot_rover.urdf"
    floor: Floor = Floor()
    start: Pose2D = Pose2D()
    obstacles: tuple[Obstacle, ...] = ()
    distractors: tuple[Distractor, ...] = ()
    randomize: Randomize = Randomize()

    def resolved(self, seed: int | None = None) -> Scenario:
        """The scenario with its seeded jitter applied (randomize zeroed): what a run uses."""
        import numpy as np

        s = self.seed if seed is None or seed < 0 else int(seed)
        rng = np.random.default_rng(s)
        r = self.randomize
        u = lambda a: float(rng.uniform(-a, a)) if a > 0 else 0.0  # noqa: E731
        start = Pose2D(
            self.start.x + u(r.start_xy),
            self.start.y + u(r.start_xy),
            self.start.yaw + u(r.start_yaw),
        )
        target = replace(
            self.target, x=self.target.x + u(r.target_xy), y=self.target.y + u(r.target_xy)
        )
        return replace(self, seed=s, start=start, target=target, randomize=Randomize())


def footprint_radius(cls_or_shape: str, size: tuple[float, ...] = ()) -> float:
    """Radius of the circle enclosing an object's footprint (for reach and clearance checks)."""
    if cls_or_shape in objects.CLASS_NAMES:
        oc = objects.by_name(cls_or_shape)
        shape, size = oc.shape, oc.size
    else:
        shape = cls_or_shape
    if shape in ("sphere", "cone", "cylinder"):
        return float(size[0])
    return 0.5 * math.hypot(size[0], size[1])


def target_distance(x: float, y: float, target: Target) -> float:
    """Distance from (x, y) to the target's footprint (0 inside)."""
    return max(0.0, math.hypot(x - target.x, y - target.y) - footprint_radius(target.cls))


# --------------------------------------------------------------------------------------------
# validation
class _Ctx:
    def __init__(self, path: str):
        self.path = path

    def fail(self, key: str, value: Any, why: str):
        v = "" if value is _MISSING else f" = {value!r}"
        raise ScenarioError(f"{self.path}: key '{key}'{v}: {why}")

    def mapping(self, key: str, value: Any, allowed: dict, required=()) -> dict:
        if not isinstance(value, dict):
            self.fail(key, value, "must be a mapping")
        for k in value:
            if k not in allowed:
                self.fail(
                    f"{key}.{k}" if key else str(k),
                    _MISSING,
                    f"unknown key; allowed: {sorted(allowed)}",
                )
        for k in required:
            if k not in value:
                self.fail(f"{key}.{k}" if key else k, _MISSING, "missing (required)")
        return value

    def number(self, key: str, value: Any, lo=None, hi=None, lo_strict=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, value, "must be a number")
        v = float(value)
        if not math.isfinite(v):
            self.fail(key, value, "must be finite")
        if lo is not None and (v <= lo if lo_strict else v < lo):
            self.fail(key, value, f"must be {'>' if lo_strict else '>='} {lo}")
        if hi is not None and v > hi:
            self.fail(key, value, f"must be <= {hi}")
        return v

    def vector(self, key, value, n, lo=None, hi=None, lo_strict=False) -> tuple[float, ...]:
        if not isinstance(value, (list, tuple)) or len(value) != n:
            self.fail(key, value, f"must be a list of {n} numbers")
        return tuple(self.number(f"{key}[{i}]", v, lo, hi, lo_strict) for i, v in enumerate(value))

    def string(self, key, value) -> str:
        if not isinstance(value, str) or not value:
            self.fail(key, value, "must be a non-empty string")
        return value

    def cls(self, key, value) -> str:
        self.string(key, value)
        if value not in objects.CLASS_NAMES:
            self.fail(
                key,
                value,
                f"unknown object class (missing model); known: {list(objects.CLASS_NAMES)}",
            )
        return value


_MISSING = object()

_TOP = {
    "name",
    "description",
    "seed",
    "time_limit",
    "robot",
    "floor",
    "start",
    "target",
    "obstacles",
    "distractors",
    "randomize",
}
_FLOOR = {"size", "friction", "rgba", "wall_height"}
_POSE = {"x", "y", "yaw"}
_TARGET = {"class", "x", "y", "yaw", "reach_distance"}
_OBST = {"shape", "x", "y", "yaw", "size", "rgba"}
_DISTR = {"class", "x", "y", "yaw"}
_RAND = {"start_xy", "start_yaw", "target_xy"}
_SIZE_LEN = {"box": 3, "cylinder": 2, "sphere": 1}

#: the rover's footprint radius (for "start inside an obstacle" checks)
ROVER_RADIUS = 0.16


def parse(data: Any, path: str = "<scenario>", check_robot: bool = True) -> Scenario:
    c = _Ctx(path)
    if data is None:
        data = {}
    c.mapping("", data, _TOP, required=("target",))
    kw: dict = {"name": pathlib.Path(path).stem if path != "<scenario>" else "scenario"}
    if "name" in data:
        kw["name"] = c.string("name", data["name"])
    if "description" in data:
        if not isinstance(data["description"], str):
            c.fail("description", data["description"], "must be a string")
        kw["description"] = data["description"]
    if "seed" in data:
        v = data["seed"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            c.fail("seed", v, "must be an integer >= 0")
        kw["seed"] = v
    if "time_limit" in data:
        kw["time_limit"] = c.number("time_limit", data["time_limit"], 0.0, 3600.0, lo_strict=True)
    if "robot" in data:
        kw["robot"] = c.string("robot", data["robot"])
    if check_robot:
        from . import paths

        try:
            paths.urdf_path(kw.get("robot", Scenario.robot))
        except FileNotFoundError as e:
            c.fail("robot", kw.get("robot", Scenario.robot), f"missing model: {e}")

    floor = Floor()
    if "floor" in data:
        f = c.mapping("floor", data["floor"], _FLOOR)
        fk = {}
        if "size" in f:
            fk["size"] = c.vector("floor.size", f["size"], 2, 0.5, 1000.0)
        if "friction" in f:
            fk["friction"] = c.number("floor.friction", f["friction"], 0.0, 10.0)
        if "rgba" in f:
            fk["rgba"] = c.vector("floor.rgba", f["rgba"], 4, 0.0, 1.0)
        if "wall_height" in f:
            fk["wall_height"] = c.number("floor.wall_height", f["wall_height"], 0.0, 5.0)
        floor = Floor(**fk)
    kw["floor"] = floor
    hx, hy = floor.size[0] / 2, floor.size[1] / 2

    def inside(key, x, y, margin=0.0):
        if abs(x) > hx - margin or abs(y) > hy - margin:
            c.fail(
                key,
                (x, y),
                f"is off the floor (|x| <= {hx - margin:.2f}, |y| <= {hy - margin:.2f})",
            )

    def pose(key, m, allowed, required=("x", "y")):
        c.mapping(key, m, allowed, required=required)
        x = c.number(f"{key}.x", m.get("x", 0.0))
        y = c.number(f"{key}.y", m.get("y", 0.0))
        yaw = c.number(f"{key}.yaw", m.get("yaw", 0.0), -2 * math.pi, 2 * math.pi)
        return x, y, yaw

    start = Pose2D()
    if "start" in data:
        x, y, yaw = pose("start", data["start"], _POSE, required=())
        inside("start", x, y, ROVER_RADIUS)
        start = Pose2D(x, y, yaw)
    kw["start"] = start

    t = data["target"]
    x, y, yaw = pose("target", t, _TARGET, required=("class", "x", "y"))
    tcls = c.cls("target.class", t["class"])
    reach = c.number(
        "target.reach_distance", t.get("reach_distance", 0.35), 0.0, 5.0, lo_strict=True
    )
    inside("target", x, y, footprint_radius(tcls))
    target = Target(tcls, x, y, yaw, reach)
    if target_distance(start.x, start.y, target) <= reach + ROVER_RADIUS:
        c.fail("target", (x, y), "is already within reach of the start pose")
    kw["target"] = target

    obstacles = []
    items = data.get("obstacles", []) or []
    if not isinstance(items, list):
        c.fail("obstacles", items, "must be a list")
    for i, o in enumerate(items):
        key = f"obstacles[{i}]"
        x, y, yaw = pose(key, o, _OBST, required=("shape", "x", "y", "size"))
        shape = c.string(f"{key}.shape", o["shape"])
        if shape not in SHAPES:
            c.fail(f"{key}.shape", shape, f"unknown shape; allowed: {list(SHAPES)}")
        size = c.vector(f"{key}.size", o["size"], _SIZE_LEN[shape], 0.0, 50.0, lo_strict=True)
        rgba = c.vector(f"{key}.rgba", o["rgba"], 4, 0.0, 1.0) if "rgba" in o else Obstacle.rgba
        r = footprint_radius(shape, size)
        inside(key, x, y, 0.0)
        if math.hypot(x - start.x, y - start.y) < r + ROVER_RADIUS:
            c.fail(key, (x, y), "overlaps the rover's start pose")
        if math.hypot(x - target.x, y - target.y) < r + footprint_radius(tcls):
            c.fail(key, (x, y), "overlaps the target")
        obstacles.append(Obstacle(shape, x, y, size, yaw, rgba))
    kw["obstacles"] = tuple(obstacles)

    distractors = []
    items = data.get("distractors", []) or []
    if not isinstance(items, list):
        c.fail("distractors", items, "must be a list")
    for i, d in enumerate(items):
        key = f"distractors[{i}]"
        x, y, yaw = pose(key, d, _DISTR, required=("class", "x", "y"))
        dcls = c.cls(f"{key}.class", d["class"])
        inside(key, x, y, footprint_radius(dcls))
        distractors.append(Distractor(dcls, x, y, yaw))
    kw["distractors"] = tuple(distractors)

    if "randomize" in data:
        r = c.mapping("randomize", data["randomize"], _RAND)
        kw["randomize"] = Randomize(
            **{k: c.number(f"randomize.{k}", v, 0.0, 10.0) for k, v in r.items()}
        )
    return Scenario(path=path, **kw)


def load(name_or_path: str, check_robot: bool = True) -> Scenario:
    """Load and validate a scenario by name (``config/scenarios/<name>.yaml``) or path."""
    from . import paths

    try:
        p = paths.scenario_path(name_or_path)
    except FileNotFoundError as e:
        known = paths.list_scenarios()
        raise ScenarioError(
            f"scenario {name_or_path!r}: no such file ({e}); known scenarios: {known}"
        ) from None
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ScenarioError(f"{p}: not valid YAML: {str(e).splitlines()[0]}") from None
    return parse(data, str(p), check_robot=check_robot)
