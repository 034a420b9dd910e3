"""Transforms for the 3D panel without tf2: from the URDF's joints, joint positions and odometry.

Pure Python (xml.etree + math). A :class:`Transform` is parent, child, translation (x, y, z)
and rotation quaternion (x, y, z, w); :func:`frame_transforms_json` renders a list of them as a
``foxglove.FrameTransforms`` JSON message, which Foxglove's 3D panel accepts like ``/tf``.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

Vec3 = Tuple[float, float, float]
Quat = Tuple[float, float, float, float]


@dataclass
class Transform:
    parent: str
    child: str
    translation: Vec3
    rotation: Quat


@dataclass
class Joint:
    name: str
    type: str
    parent: str
    child: str
    xyz: Vec3
    rpy: Vec3
    axis: Vec3


class UrdfError(ValueError):
    pass


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> Quat:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


def quat_mul(a: Quat, b: Quat) -> Quat:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz)


def quat_axis_angle(axis: Vec3, angle: float) -> Quat:
    n = math.sqrt(sum(c * c for c in axis)) or 1.0
    s = math.sin(angle / 2) / n
    return (axis[0] * s, axis[1] * s, axis[2] * s, math.cos(angle / 2))


def _floats(text: Optional[str], n: int, default: float, what: str) -> Tuple[float, ...]:
    if text is None:
        return (default,) * n
    try:
        vals = tuple(float(v) for v in text.split())
    except ValueError:
        raise UrdfError(f"{what}: {text!r} is not {n} numbers") from None
    if len(vals) != n:
        raise UrdfError(f"{what}: {text!r} is not {n} numbers")
    return vals


def parse_joints(urdf_xml: str) -> List[Joint]:
    """The joints of a URDF document; ``UrdfError`` for malformed XML or joints."""
    try:
        root = ET.fromstring(urdf_xml)
    except ET.ParseError as e:
        raise UrdfError(f"URDF is not valid XML: {e}") from None
    if root.tag != "robot":
        raise UrdfError(f"URDF root element is <{root.tag}>, expected <robot>")
    joints = []
    for j in root.findall("joint"):
        name = j.get("name", "")
        parent, child = j.find("parent"), j.find("child")
        if parent is None or child is None or not parent.get("link") or not child.get("link"):
            raise UrdfError(f"joint {name!r} lacks <parent link=> or <child link=>")
        origin = j.find("origin")
        axis = j.find("axis")
        joints.append(Joint(
            name=name, type=j.get("type", "fixed"),
            parent=parent.get("link"), child=child.get("link"),
            xyz=_floats(origin.get("xyz") if origin is not None else None, 3, 0.0, f"joint {name} origin xyz"),
            rpy=_floats(origin.get("rpy") if origin is not None else None, 3, 0.0, f"joint {name} origin rpy"),
            axis=_floats(axis.get("xyz") if axis is not None else "1 0 0", 3, 0.0, f"joint {name} axis"),
        ))
    return joints


def joint_transform(joint: Joint, position: float = 0.0) -> Transform:
    """parent -> child transform of a joint at ``position`` (rad or m; 0 for fixed joints)."""
    rot = quat_from_rpy(*joint.rpy)
    xyz = joint.xyz
    if joint.type in ("revolute", "continuous") and position:
        rot = quat_mul(rot, quat_axis_angle(joint.axis, position))
    elif joint.type == "prismatic" and position:
        n = math.sqrt(sum(c * c for c in joint.axis)) or 1.0
        # the axis is in the joint frame: rotate it into the parent frame
        d = _rotate(rot, tuple(c * position / n for c in joint.axis))
        xyz = (xyz[0] + d[0], xyz[1] + d[1], xyz[2] + d[2])
    return Transform(joint.parent, joint.child, tuple(xyz), rot)


def _rotate(q: Quat, v: Vec3) -> Vec3:
    qv = (v[0], v[1], v[2], 0.0)
    conj = (-q[0], -q[1], -q[2], q[3])
    r = quat_mul(quat_mul(q, qv), conj)
    return (r[0], r[1], r[2])


class RobotTransforms:
    """Holds the robot's joints and the latest joint positions; gives the link transforms."""

    def __init__(self, urdf_xml: str):
        self.joints = parse_joints(urdf_xml)
        self.positions: Dict[str, float] = {}

    def update_joint_states(self, names: Sequence[str], positions: Sequence[float]) -> None:
        for n, p in zip(names, positions):
            if isinstance(p, (int, float)) and math.isfinite(p):
                self.positions[n] = float(p)

    def transforms(self) -> List[Transform]:
        """Fixed joints always; moving joints at their last known position (0 before any)."""
        return [joint_transform(j, self.positions.get(j.name, 0.0)) for j in self.joints
                if j.type != "floating" and j.type != "planar"]


def odometry_transform(frame_id: str, child_frame_id: str, position: Vec3,
                       orientation: Quat) -> Optional[Transform]:
    """odom -> base_link from an Odometry pose; None when a frame is empty or values are bad."""
    vals = list(position) + list(orientation)
    if not frame_id or not child_frame_id or not all(math.isfinite(v) for v in vals):
        return None
    n = math.sqrt(sum(c * c for c in orientation))
    if n < 1e-9:
        return None
    q = tuple(c / n for c in orientation)
    return Transform(frame_id.lstrip("/"), child_frame_id.lstrip("/"), tuple(position), q)


def frame_transforms_json(transforms: Sequence[Transform], stamp_ns: int) -> dict:
    """A ``foxglove.FrameTransforms`` message as a JSON-able dict."""
    ts = {"sec": stamp_ns // 1_000_000_000, "nsec": stamp_ns % 1_000_000_000}
    return {"transforms": [
        {
            "timestamp": ts,
            "parent_frame_id": t.parent,
            "child_frame_id": t.child,
            "translation": {"x": t.translation[0], "y": t.translation[1], "z": t.translation[2]},
            "rotation": {"x": t.rotation[0], "y": t.rotation[1], "z": t.rotation[2], "w": t.rotation[3]},
        }
        for t in transforms
    ]}


_VEC3 = {"type": "object", "properties": {k: {"type": "number"} for k in "xyz"}}
_QUAT = {"type": "object", "properties": {k: {"type": "number"} for k in "xyzw"}}
_TIME = {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}}

#: JSON schema of foxglove.FrameTransforms (the fields we send).
FRAME_TRANSFORMS_SCHEMA = {
    "title": "foxglove.FrameTransforms",
    "type": "object",
    "properties": {
        "transforms": {
            "type": "array",
            "items": {
                "title": "foxglove.FrameTransform",
                "type": "object",
                "properties": {
                    "timestamp": _TIME,
                    "parent_frame_id": {"type": "string"},
                    "child_frame_id": {"type": "string"},
                    "translation": _VEC3,
                    "rotation": _QUAT,
                },
            },
        }
    },
}


class TransformFeed:
    """What the bridge's FrameTransforms channel sends: the robot's joints and odometry."""

    def __init__(self, robot: Optional[RobotTransforms] = None):
        self.robot = robot
        self.odom: Optional[Transform] = None

    def on_odometry(self, frame_id: str, child_frame_id: str, position: Vec3,
                    orientation: Quat) -> bool:
        """Keeps odom -> base_link; False (ignored) for empty frames or a bad pose."""
        tf = odometry_transform(frame_id, child_frame_id, position, orientation)
        if tf is None:
            return False
        self.odom = tf
        return True

    def on_joint_states(self, names: Sequence[str], positions: Sequence[float]) -> None:
        if self.robot is not None:
            self.robot.update_joint_states(names, positions)

    def message(self, stamp_ns: int) -> Optional[dict]:
        """A FrameTransforms message of everything known, None when nothing is."""
        tfs = list(self.robot.transforms()) if self.robot is not None else []
        if self.odom is not None:
            tfs.append(self.odom)
        return frame_transforms_json(tfs, stamp_ns) if tfs else None
