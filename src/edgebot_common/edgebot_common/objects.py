"""The objects of the demo world, shared by the simulator and the detector's dataset generator
(ROS-free). The shipped detector knows exactly these classes, in this order.

Sizes in metres, colours RGBA in 0..1. ``shape`` is one of sphere, cone, box, cylinder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectClass:
    name: str
    shape: str
    size: tuple[float, ...]  # sphere: (r,), cone/cylinder: (r, h), box: (x, y, z)
    rgba: tuple[float, float, float, float]


#: class id == index
CLASSES = (
    ObjectClass("ball", "sphere", (0.10,), (0.90, 0.10, 0.10, 1.0)),  # red ball
    ObjectClass("cone", "cone", (0.12, 0.30), (1.00, 0.45, 0.00, 1.0)),  # orange cone
    ObjectClass("box", "box", (0.20, 0.20, 0.20), (0.10, 0.30, 0.90, 1.0)),  # blue box
)
CLASS_NAMES = tuple(c.name for c in CLASSES)


def by_name(name: str) -> ObjectClass:
    for c in CLASSES:
        if c.name == name:
            return c
    raise ValueError(f"unknown object class {name!r}; known: {list(CLASS_NAMES)}")


def height(name: str) -> float:
    """A class's real-world height [m] (what a detection box's height measures)."""
    c = by_name(name)
    if c.shape == "sphere":
        return 2.0 * c.size[0]
    if c.shape in ("cone", "cylinder"):
        return c.size[1]
    if c.shape == "box":
        return c.size[2]
    raise ValueError(f"no height for shape {c.shape!r}")


@dataclass(frozen=True)
class Detection:
    """One detected object in an image: class label, score 0..1, box centre and size [px],
    tracker id (-1: none), as edgebot_interfaces/Detection2D carries it."""

    label: str
    score: float
    center_x: float
    center_y: float
    size_x: float
    size_y: float
    track_id: int = -1


def cone_mesh(radius: float, height: float, segments: int = 24):
    """Vertices and triangle indices of a closed cone, base at z=0 (for pybullet GEOM_MESH)."""
    import math

    verts = [(0.0, 0.0, height), (0.0, 0.0, 0.0)]
    for i in range(segments):
        a = 2 * math.pi * i / segments
        verts.append((radius * math.cos(a), radius * math.sin(a), 0.0))
    idx = []
    for i in range(segments):
        a = 2 + i
        b = 2 + (i + 1) % segments
        idx += [0, a, b]  # side
        idx += [1, b, a]  # base
    return verts, idx


#: The simulated camera (and the detector's training renders): 320x240, horizontal FOV 60 deg.
CAMERA_WIDTH = 320
CAMERA_HEIGHT = 240
CAMERA_HFOV_DEG = 60.0
