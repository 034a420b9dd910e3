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
    fleet: {spacing: 2.0, axis: y}    # several rovers (sim_node robots > 1): the spawn rule

A fleet run (N rovers in one world, :meth:`Scenario.for_rover`): rover k of N starts at ``start``
shifted by ``(k - (N + 1) / 2) * spacing`` along the world ``axis``, and gets its own copy of the
target shifted the same way (each rover has its own job); one rover is today's run, unshifted.

One validation engine (issue 19), as for the MQTT map and the Modbus register map: the
dataclasses below are pydantic dataclasses and are the one definition of every key, its type,
its range and its default. Two passes:

1. shape (pydantic): unknown keys forbidden, strict types (no bool for a number, no string for
   a number), finite numbers only, ranges;
2. meaning (:func:`_check_world`): objects on the floor, a target not already within reach, an
   obstacle not on the rover or the target, the size list that fits the obstacle's shape, a
   robot file that exists.

Every error raises :class:`ScenarioError` with one line naming the file, the key path, the value
and what is allowed, e.g. ``scenarios/x.yaml: key 'target.class' = 'duck': unknown object class
(missing model); known: [...]``.

``reach_distance``: the target counts as reached when the distance from the rover's base_link
origin to the nearest point of the target's footprint is at most this (metres). The follower
holds ``stop_distance`` (0.5 m) from its front sonar, 0.125 m ahead of base_link: 0.75 leaves
room for its tolerance.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from edgebot_common import objects
from edgebot_common.config_errors import key_path

SHAPES = ("box", "cylinder", "sphere")
_SIZE_LEN = {"box": 3, "cylinder": 2, "sphere": 1}

#: the rover's footprint radius (for "start inside an obstacle" checks)
ROVER_RADIUS = 0.16


class ScenarioError(ValueError):
    """A scenario file is not valid. The message names the file and the key."""


# -- value types: strict, finite ----------------------------------------------------------------
def _range(lo=None, hi=None, lo_strict=False):
    f = {}
    if lo is not None:
        f["gt" if lo_strict else "ge"] = lo
    if hi is not None:
        f["le"] = hi
    return Field(**f)


def _num(lo=None, hi=None, lo_strict=False):
    # a strict float takes ints too (YAML `x: 1`), never a bool or a string
    return Annotated[float, Strict(), Field(allow_inf_nan=False), _range(lo, hi, lo_strict)]


def _known_class(v: str) -> str:
    if v not in objects.CLASS_NAMES:
        raise ValueError(
            f"unknown object class (missing model); known: {list(objects.CLASS_NAMES)}"
        )
    return v


def _axis(v: str) -> str:
    if v not in ("x", "y"):
        raise ValueError("must be one of ['x', 'y']")
    return v


def _known_shape(v: str) -> str:
    if v not in SHAPES:
        raise ValueError(f"unknown shape; allowed: {list(SHAPES)}")
    return v


Num = _num()
Yaw = _num(-2 * math.pi, 2 * math.pi)
Unit = _num(0.0, 1.0)
Jitter = _num(0.0, 10.0)
Name = Annotated[str, Strict(), Field(min_length=1)]
ObjectClass = Annotated[Name, AfterValidator(_known_class), Field(alias="class")]
Shape = Annotated[Name, AfterValidator(_known_shape)]
Rgba = tuple[Unit, Unit, Unit, Unit]

_CFG = ConfigDict(extra="forbid", populate_by_name=True)


def model(cls):
    """A frozen pydantic dataclass: positional construction, ``dataclasses.replace`` and ``==``
    work as on the plain dataclasses this module used before; fields are validated."""
    return dataclass(frozen=True, config=_CFG)(cls)


# -- the scenario objects (one definition of each key and its default) ---------------------------
@model
class Floor:
    size: tuple[_num(0.5, 1000.0), _num(0.5, 1000.0)] = (8.0, 8.0)
    friction: _num(0.0, 10.0) = 0.9
    rgba: Rgba = (0.55, 0.55, 0.55, 1.0)
    wall_height: _num(0.0, 5.0) = 0.3


@model
class Pose2D:
    x: Num = 0.0
    y: Num = 0.0
    yaw: Yaw = 0.0


@model
class Target:
    cls: ObjectClass
    x: Num
    y: Num
    yaw: Yaw = 0.0
    reach_distance: _num(0.0, 5.0, lo_strict=True) = 0.35


@model
class Obstacle:
    shape: Shape
    x: Num
    y: Num
    size: tuple[_num(0.0, 50.0, lo_strict=True), ...]
    yaw: Yaw = 0.0
    rgba: Rgba = (0.25, 0.55, 0.25, 1.0)


@model
class Distractor:
    cls: ObjectClass
    x: Num
    y: Num
    yaw: Yaw = 0.0


@model
class Randomize:
    start_xy: Jitter = 0.0
    start_yaw: Jitter = 0.0
    target_xy: Jitter = 0.0


@model
class Fleet:
    spacing: _num(2 * ROVER_RADIUS + 0.08, 100.0) = 2.0  # rovers side by side do not touch
    axis: Annotated[str, Strict(), AfterValidator(_axis)] = "y"


@model
class Scenario:
    name: Name
    path: str
    target: Target
    description: Annotated[str, Strict()] = ""
    seed: Annotated[int, Strict(), Field(ge=0)] = 0
    time_limit: _num(0.0, 3600.0, lo_strict=True) = 60.0
    robot: Name = "edgebot_rover.urdf"
    floor: Floor = Floor()
    start: Pose2D = Pose2D()
    obstacles: tuple[Obstacle, ...] = ()
    distractors: tuple[Distractor, ...] = ()
    randomize: Randomize = Randomize()
    fleet: Fleet = Fleet()

    def for_rover(self, k: int, n: int) -> Scenario:
        """Rover ``k`` (1..n) of a fleet of ``n``: start and target moved by the spawn rule.
        ``ScenarioError`` (naming ``fleet.spacing``) when it would put a rover or its target
        off the floor."""
        if n <= 1:
            return self
        off = (k - (n + 1) / 2) * self.fleet.spacing
        dx, dy = (off, 0.0) if self.fleet.axis == "x" else (0.0, off)
        st, t = self.start, self.target
        out = dataclasses.replace(
            self,
            start=dataclasses.replace(st, x=st.x + dx, y=st.y + dy),
            target=dataclasses.replace(t, x=t.x + dx, y=t.y + dy),
        )
        hx, hy = self.floor.size[0] / 2, self.floor.size[1] / 2
        for what, x, y, r in (
            ("start", out.start.x, out.start.y, ROVER_RADIUS),
            ("target", out.target.x, out.target.y, footprint_radius(t.cls)),
        ):
            if abs(x) > hx - r or abs(y) > hy - r:
                raise _fail(
                    self.path,
                    "fleet.spacing",
                    self.fleet.spacing,
                    f"puts rover {k} of {n}'s {what} off the floor at ({x:.2f}, {y:.2f}); "
                    f"allowed |x| <= {hx - r:.2f}, |y| <= {hy - r:.2f}: a smaller spacing "
                    "or fewer robots",
                )
            for i, o in enumerate(self.obstacles):
                if math.hypot(x - o.x, y - o.y) < r + footprint_radius(o.shape, o.size):
                    raise _fail(
                        self.path,
                        "fleet.spacing",
                        self.fleet.spacing,
                        f"puts rover {k} of {n}'s {what} on obstacles[{i}] at "
                        f"({x:.2f}, {y:.2f}): another spacing or axis",
                    )
        return out

    def resolved(self, seed: int | None = None) -> Scenario:
        """The scenario with its seeded jitter applied (randomize zeroed): what a run uses."""
        import numpy as np

        s = self.seed if seed is None or seed < 0 else int(seed)
        rng = np.random.default_rng(s)
        r = self.randomize

        def u(a: float) -> float:
            return float(rng.uniform(-a, a)) if a > 0 else 0.0

        start = Pose2D(
            self.start.x + u(r.start_xy),
            self.start.y + u(r.start_xy),
            self.start.yaw + u(r.start_yaw),
        )
        target = dataclasses.replace(
            self.target, x=self.target.x + u(r.target_xy), y=self.target.y + u(r.target_xy)
        )
        return dataclasses.replace(self, seed=s, start=start, target=target, randomize=Randomize())


#: keys a scenario file may hold (``path`` is where it was read from, not a key)
FILE_KEYS = tuple(f.name for f in dataclasses.fields(Scenario) if f.name != "path")
_ADAPTER = TypeAdapter(Scenario)


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


# -- pass 1 errors: a pydantic error -> one line naming key, value and what is allowed ----------
_MISSING = object()
_MESSAGES = {
    "missing": "missing (required)",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be finite",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "string_too_short": "must be a non-empty string",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dataclass_type": "must be a mapping",
    "dataclass_args_type": "must be a mapping",
    "dict_type": "must be a mapping",
}
_NESTED = {
    "floor": Floor,
    "start": Pose2D,
    "target": Target,
    "obstacles": Obstacle,
    "distractors": Distractor,
    "randomize": Randomize,
    "fleet": Fleet,
}


def _allowed_keys(loc) -> list[str]:
    top = [k for k in loc if isinstance(k, str)]
    if len(top) <= 1:
        return sorted(FILE_KEYS)
    cls = _NESTED.get(top[0])
    return sorted(
        "class" if f.name == "cls" else f.name for f in dataclasses.fields(cls or Scenario)
    )


def _fixed_len(data, loc) -> int | None:
    """The length a fixed tuple at ``loc`` must have (floor.size: 2, rgba: 4), else None."""
    names = [p for p in loc if isinstance(p, str)]
    if names and names[-1] == "rgba":
        return 4
    if names == ["floor", "size"]:
        return 2
    return None


def _value_at(data, loc):
    v = data
    for part in loc:
        try:
            v = v[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return v


def _from_validation(e: ValidationError, data: dict) -> tuple[str, Any, str]:
    errs = e.errors(include_url=False)
    # an unknown key first (the file's author mistyped a name), as the hand validation did
    errs.sort(key=lambda x: x["type"] not in ("unexpected_keyword_argument", "extra_forbidden"))
    first = errs[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = first["type"]
    ctx = first.get("ctx") or {}
    value = first.get("input", _MISSING)
    integer = isinstance(value, int) and not isinstance(value, bool) and loc == ("seed",)
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return key_path(loc), _MISSING, f"unknown key; allowed: {_allowed_keys(loc)}"
    if kind == "missing" and loc and isinstance(loc[-1], int):  # too few numbers in a tuple
        loc = loc[:-1]
        return (
            key_path(loc),
            _value_at(data, loc),
            f"must be a list of {_fixed_len(data, loc)} numbers",
        )
    if kind == "too_long":
        return key_path(loc), value, f"must be a list of {_fixed_len(data, loc)} numbers"
    if kind == "missing":
        return key_path(loc), _MISSING, _MESSAGES["missing"]
    if kind == "value_error":
        why = str(first["msg"]).removeprefix("Value error, ")
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        k = next(iter(ctx))
        why = f"must be {'an integer ' if integer else ''}{op[k]} {ctx[k]}"
    else:
        why = _MESSAGES.get(kind, first["msg"])
    if loc == ("seed",) and kind.startswith("int"):
        why = "must be an integer >= 0"
    return key_path(loc), value, why


# -- pass 2: meaning ----------------------------------------------------------------------------
class _Fail(Exception):
    def __init__(self, key: str, value: Any, why: str):
        super().__init__(key, value, why)
        self.key, self.value, self.why = key, value, why


def _check_world(s: Scenario, check_robot: bool) -> None:
    if check_robot:
        from . import paths

        try:
            paths.urdf_path(s.robot)
        except FileNotFoundError as e:
            raise _Fail("robot", s.robot, f"missing model: {e}") from None
    hx, hy = s.floor.size[0] / 2, s.floor.size[1] / 2

    def inside(key, x, y, margin=0.0):
        if abs(x) > hx - margin or abs(y) > hy - margin:
            raise _Fail(
                key,
                (x, y),
                f"is off the floor (|x| <= {hx - margin:.2f}, |y| <= {hy - margin:.2f})",
            )

    start, t = s.start, s.target
    inside("start", start.x, start.y, ROVER_RADIUS)
    inside("target", t.x, t.y, footprint_radius(t.cls))
    if target_distance(start.x, start.y, t) <= t.reach_distance + ROVER_RADIUS:
        raise _Fail("target", (t.x, t.y), "is already within reach of the start pose")
    for i, o in enumerate(s.obstacles):
        key = f"obstacles[{i}]"
        n = _SIZE_LEN[o.shape]
        if len(o.size) != n:
            raise _Fail(f"{key}.size", list(o.size), f"must be a list of {n} numbers")
        r = footprint_radius(o.shape, o.size)
        inside(key, o.x, o.y, 0.0)
        if math.hypot(o.x - start.x, o.y - start.y) < r + ROVER_RADIUS:
            raise _Fail(key, (o.x, o.y), "overlaps the rover's start pose")
        if math.hypot(o.x - t.x, o.y - t.y) < r + footprint_radius(t.cls):
            raise _Fail(key, (o.x, o.y), "overlaps the target")
    for i, d in enumerate(s.distractors):
        inside(f"distractors[{i}]", d.x, d.y, footprint_radius(d.cls))


def _fail(path: str, key: str, value: Any, why: str) -> ScenarioError:
    v = "" if value is _MISSING else f" = {value!r}"
    return ScenarioError(f"{path}: key '{key or '<root>'}'{v}: {why}")


def parse(data: Any, path: str = "<scenario>", check_robot: bool = True) -> Scenario:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail(path, "", data, "must be a mapping")
    if "path" in data:
        raise _fail(path, "path", _MISSING, f"unknown key; allowed: {sorted(FILE_KEYS)}")
    # `key:` with no value means the default, as if the key were absent
    doc = {k: v for k, v in data.items() if v is not None}
    doc.setdefault("name", pathlib.Path(path).stem if path != "<scenario>" else "scenario")
    try:
        s = _ADAPTER.validate_python({**doc, "path": path})
    except ValidationError as e:
        raise _fail(path, *_from_validation(e, doc)) from None
    try:
        _check_world(s, check_robot)
    except _Fail as f:
        raise _fail(path, f.key, f.value, f.why) from None
    return s


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
