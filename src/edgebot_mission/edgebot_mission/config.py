"""Mission files (``config/missions/*.yaml``): what the robot is to find and how. ROS-free.

    name: find_three
    find:                                   # what to find: classes and how many of each
      - {class: ball, count: 1}
      - {class: cone}
    area: {x: [-1.0, 2.5], y: [-2.0, 2.0], spacing: 1.2}  # search rectangle, odom frame [m]
    on_find: {approach_distance: 0.5, report: true}       # then move on to the next
    at_end: {return_home: true}
    time_limit: 150.0                       # s from the start; then home (mission incomplete)
    search: {angular: 0.5, scan_at_waypoints: true}
    motion: {max_linear: 0.22, max_angular: 0.8}
    avoid: {distance: 0.38, back_off: 0.2, turn: 0.9, pass: 0.45}
    detect: {min_score: 0.5, max_range: 6.0, dedupe_radius: 0.6, confirm_frames: 2}

The area is in the odometry frame: x forward from where the robot started, y to its left.
Every key has a default except ``find``. The same validation engine as the other
configuration files (pydantic): unknown keys forbidden, strict finite numbers, ranges; an
error is one :class:`MissionError` line naming the file, the key path, the value and what is
allowed, e.g. ``missions/x.yaml: key 'find[0].class' = 'duck': unknown object class; allowed:
['ball', 'cone', 'box']``.
"""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError

from edgebot_common import objects
from edgebot_common.config_errors import key_path


class MissionError(ValueError):
    """A mission file is not valid. The message names the file and the key."""


def _num(lo=None, hi=None, lo_strict=False):
    f = {"allow_inf_nan": False}
    if lo is not None:
        f["gt" if lo_strict else "ge"] = lo
    if hi is not None:
        f["le"] = hi
    return Annotated[float, Strict(), Field(**f)]


def _known_class(v: str) -> str:
    if v not in objects.CLASS_NAMES:
        raise ValueError(f"unknown object class; allowed: {list(objects.CLASS_NAMES)}")
    return v


Pos = _num(0.0, lo_strict=True)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Find(_M):
    cls: Annotated[str, Strict(), AfterValidator(_known_class), Field(alias="class")]
    count: Annotated[int, Strict(), Field(ge=1, le=20)] = 1


class Area(_M):
    x: tuple[_num(-100, 100), _num(-100, 100)] = (-1.0, 2.5)
    y: tuple[_num(-100, 100), _num(-100, 100)] = (-2.0, 2.0)
    spacing: _num(0.2, 20.0) = 1.2  # m between the lanes of the exploration pattern


class OnFind(_M):
    approach_distance: _num(0.15, 3.0) = 0.5  # m, sonar/camera to the object's surface
    report: Annotated[bool, Strict()] = True


class AtEnd(_M):
    return_home: Annotated[bool, Strict()] = True
    home_tolerance: _num(0.05, 2.0) = 0.25  # m


class Search(_M):
    angular: _num(0.05, 3.0) = 0.5  # rad/s while scanning on the spot
    scan_at_waypoints: Annotated[bool, Strict()] = True  # a full turn at every waypoint


class Motion(_M):
    max_linear: _num(0.02, 1.0) = 0.22  # m/s
    max_angular: _num(0.1, 4.0) = 0.8  # rad/s
    kp_angular: _num(0.0) = 1.5  # rad/s per rad of heading error
    kp_linear: _num(0.0) = 0.6  # m/s per m of distance error


class Avoid(_M):
    distance: _num(0.1, 2.0) = 0.38  # m: sonar below this (and not the object approached)
    back_off: _num(0.0, 2.0) = 0.2  # m driven backwards
    turn: _num(0.1, 3.2) = 0.9  # rad turned away
    pass_: Annotated[_num(0.0, 3.0), Field(alias="pass")] = 0.45  # m driven past it


class Detect(_M):
    min_score: _num(0.0, 1.0) = 0.5
    max_range: Pos = 6.0  # m: detections estimated farther are ignored
    dedupe_radius: Pos = 0.6  # m: a sighting this close to a found object is that object
    confirm_frames: Annotated[int, Strict(), Field(ge=1, le=50)] = 2  # sightings before a visit
    lost_timeout: Pos = 1.5  # s unseen while approaching -> drive to where it was seen
    give_up_timeout: Pos = 8.0  # s unseen -> give the object up (for a while)
    input_timeout: Pos = 1.0  # s without detection messages -> blind: stop


class Mission(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Strict(), Field(min_length=1)] = "mission"
    description: Annotated[str, Strict()] = ""
    find: Annotated[tuple[Find, ...], Field(min_length=1)]
    area: Area = Area()
    on_find: OnFind = OnFind()
    at_end: AtEnd = AtEnd()
    time_limit: _num(1.0, 36000.0) = 150.0
    search: Search = Search()
    motion: Motion = Motion()
    avoid: Avoid = Avoid()
    detect: Detect = Detect()

    def wanted(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.find:
            out[f.cls] = out.get(f.cls, 0) + f.count
        return out


_MESSAGES = {
    "missing": "missing (required)",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_too_short": "must be a non-empty string",
    "tuple_type": "must be a list",
    "model_type": "must be a mapping",
    "finite_number": "must be finite",
    "too_short": "must not be empty",
}
_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _allowed(loc) -> list[str]:
    model = Mission
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = model.model_fields.get(part)
        ann = getattr(f, "annotation", None)
        args = getattr(ann, "__args__", ()) or ()
        nxt = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        for a in args:
            if isinstance(a, type) and issubclass(a, BaseModel):
                nxt = a
        if nxt is None:
            break
        model = nxt
    return sorted((f.alias or n) for n, f in model.model_fields.items())


def _describe(e: ValidationError) -> tuple[str, Any, str]:
    errs = sorted(e.errors(include_url=False), key=lambda x: x["type"] != "extra_forbidden")
    first = errs[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function")))
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "extra_forbidden":
        return key_path(loc), None, f"unknown key; allowed: {_allowed(loc)}"
    if kind == "missing":
        return key_path(loc), None, "missing (required)"
    if kind == "value_error":
        why = str(first["msg"]).removeprefix("Value error, ")
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        k = next(iter(ctx))
        why = f"must be {_OPS[k]} {ctx[k]}"
    elif kind == "too_long" or (kind == "missing" and loc and isinstance(loc[-1], int)):
        why = "must be a list of 2 numbers"
    else:
        why = _MESSAGES.get(kind, first["msg"])
    return key_path(loc), first.get("input"), why


def parse(data: Any, path: str = "<mission>") -> Mission:
    if not isinstance(data, dict):
        raise MissionError(f"{path}: key '<root>' = {data!r}: must be a mapping")
    doc = dict(data)
    doc.setdefault("name", pathlib.Path(path).stem if path != "<mission>" else "mission")
    try:
        m = Mission.model_validate(doc)
    except ValidationError as e:
        key, value, why = _describe(e)
        v = "" if value is None and "missing" in why or "unknown key" in why else f" = {value!r}"
        raise MissionError(f"{path}: key '{key}'{v}: {why}") from None
    for axis in ("x", "y"):
        lo, hi = getattr(m.area, axis)
        if not lo < hi:
            raise MissionError(f"{path}: key 'area.{axis}' = {[lo, hi]!r}: must be [min, max]")
    return m


def load(path: str) -> Mission:
    p = pathlib.Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise MissionError(f"mission file {path!r}: cannot be read ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise MissionError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    return parse(data, str(p))
