"""Test images of the demo-world objects, rendered like the detector's training data but from
their own seed (ROS-free helper)."""

import functools
import pathlib
import tempfile

import cv2
import numpy as np


@functools.cache
def rendered(n: int = 6, seed: int = 4242, min_objects: int = 1):
    """n (bgr image, [(class, x1, y1, x2, y2)]) pairs with at least min_objects labels."""
    import pybullet as p

    from edgebot_perception.dataset import Scene

    rng = np.random.default_rng(seed)
    scene = Scene(rng, pathlib.Path(tempfile.mkdtemp(prefix="edgebot-tex-")))
    out = []
    try:
        while len(out) < n:
            buf, labels = scene.sample()
            if len(labels) >= min_objects:
                out.append((cv2.imdecode(buf, cv2.IMREAD_COLOR), labels))
    finally:
        p.disconnect(scene.cid)
    return tuple(out)
