"""The robot's link transforms from its URDF and joint positions, as robot_state_publisher
computes them. ROS-free; the URDF is read by yourdfpy, xacro files are expanded by xacro.

- fixed joints (and floating/planar ones, which kdl_parser also turns into fixed joints) give
  the static transforms, published once on ``/tf_static``;
- revolute, continuous and prismatic joints move: their transform is the joint origin times
  the motion about/along the joint axis at the position from ``joint_states``; a mimic joint
  follows its leader (``multiplier * q + offset``);
- every frame name gets ``frame_prefix`` (``rover1/base_link``), as robot_state_publisher does.
"""

from __future__ import annotations

import io
import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh.transformations as tt
import yourdfpy

MOVING = ("revolute", "continuous", "prismatic")


class UrdfError(ValueError):
    """A robot description that cannot be used; the message says why."""


@dataclass
class Transform:
    """parent -> child: translation (x, y, z) [m], rotation quaternion (x, y, z, w)."""

    parent: str
    child: str
    translation: tuple[float, float, float]
    rotation: tuple[float, float, float, float]


def read_description(path: str) -> str:
    """The URDF text of a ``.urdf`` file, or of a ``.xacro`` file expanded; UrdfError if bad."""
    p = pathlib.Path(path).expanduser()
    if not p.is_file():
        raise UrdfError(f"{p}: no such file")
    if p.suffix == ".xacro":
        import xacro

        try:
            return xacro.process_file(str(p)).toprettyxml(indent="  ")
        except Exception as e:  # xacro raises its own XacroException and XML errors
            raise UrdfError(f"{p}: xacro failed: {e}") from None
    return p.read_text()


def matrix_transform(parent: str, child: str, m: np.ndarray) -> Transform:
    w, x, y, z = tt.quaternion_from_matrix(m)
    if w < 0:  # one of the two equal quaternions, w >= 0
        w, x, y, z = -w, -x, -y, -z
    t = m[:3, 3]
    return Transform(
        parent,
        child,
        (float(t[0]), float(t[1]), float(t[2])),
        (float(x), float(y), float(z), float(w)),
    )


class RobotState:
    """Joints of one URDF document and the latest positions of its moving joints."""

    def __init__(self, urdf_xml: str, frame_prefix: str = ""):
        if not urdf_xml.strip():
            raise UrdfError("the robot description is empty")
        try:
            urdf = yourdfpy.URDF.load(
                io.StringIO(urdf_xml),
                build_scene_graph=False,
                load_meshes=False,
                load_collision_meshes=False,
            )
        except Exception as e:  # lxml syntax errors, missing attributes, ...
            raise UrdfError(f"the robot description is not a valid URDF: {e}") from None
        self.name = urdf.robot.name
        self.prefix = frame_prefix
        self.joints = {j.name: j for j in urdf.robot.joints}
        if not self.joints:
            raise UrdfError(f"robot {self.name!r} has no joints: nothing to publish")
        self.moving = [j.name for j in urdf.robot.joints if j.type in MOVING]
        self.positions: dict[str, float] = {}

    def _frame(self, link: str) -> str:
        return self.prefix + link

    def _origin(self, j) -> np.ndarray:
        return np.eye(4) if j.origin is None else np.asarray(j.origin, dtype=float)

    def static_transforms(self) -> list[Transform]:
        """Every joint that does not move, parent -> child at its origin."""
        return [
            matrix_transform(self._frame(j.parent), self._frame(j.child), self._origin(j))
            for j in self.joints.values()
            if j.type not in MOVING
        ]

    def joint_transform(self, name: str, q: float) -> Transform:
        j = self.joints[name]
        axis = np.asarray(j.axis if j.axis is not None else (1.0, 0.0, 0.0), dtype=float)
        axis = axis / (np.linalg.norm(axis) or 1.0)
        if j.type == "prismatic":
            motion = tt.translation_matrix(axis * q)
        else:
            motion = tt.rotation_matrix(q, axis)
        return matrix_transform(
            self._frame(j.parent), self._frame(j.child), self._origin(j) @ motion
        )

    def update(
        self, names: Sequence[str], positions: Sequence[float]
    ) -> tuple[list[str], list[str]]:
        """Takes a JointState's positions: (moving joints updated, reasons for what was rejected).

        Names the URDF does not have, or fixed joints, are ignored (as robot_state_publisher
        does); a non-finite position, or positions that do not match the names, are rejected.
        """
        if len(positions) != len(names):
            return [], [f"{len(names)} names but {len(positions)} positions"]
        updated, rejected = [], []
        for n, q in zip(names, positions):
            j = self.joints.get(n)
            if j is None or j.type not in MOVING:
                continue
            if not math.isfinite(q):
                rejected.append(f"{n}: position {q}")
                continue
            self.positions[n] = float(q)
            updated.append(n)
        return updated, rejected

    def moving_transforms(self) -> list[Transform]:
        """Moving joints whose position is known (directly or through the joint they mimic)."""
        out = []
        for n in self.moving:
            j = self.joints[n]
            if j.mimic is not None and j.mimic.joint in self.positions:
                q = (
                    j.mimic.multiplier if j.mimic.multiplier is not None else 1.0
                ) * self.positions[j.mimic.joint] + (j.mimic.offset or 0.0)
            elif n in self.positions:
                q = self.positions[n]
            else:
                continue
            out.append(self.joint_transform(n, q))
        return out
