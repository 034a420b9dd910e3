"""A rendered video sequence for tracking tests (ROS-free helper): the simulator's camera
(pybullet TinyRenderer, the rover camera's 320x240 60 deg view as in edgebot_perception.dataset)
watching demo-world objects move; two balls of the same class cross in the image (the near one
passes in front of the far one) and the near one passes a slower box. Ground truth per frame from the
segmentation mask, keyed by object name; also ID-switch counting against that ground truth."""

from __future__ import annotations

import functools

import numpy as np

#: name -> (class name, distance ahead m, lateral position at the start and at the end m)
MOVERS = {
    "near_ball": ("ball", 1.1, 0.55, -0.55),
    "far_ball": ("ball", 2.3, -1.0, 1.0),
    "box": ("box", 1.6, 0.7, 0.2),
}


@functools.cache
def crossing_sequence(n: int = 40):
    """n (bgr 320x240 image, {name: (class_id, x1, y1, x2, y2)}) frames, and an empty frame
    (floor only) first as element 0 of a second tuple: (frames, empty_frame)."""
    import cv2
    import pybullet as p

    from edgebot_common import objects
    from edgebot_perception.dataset import VFOV_DEG, H, Scene, W

    scene = Scene(np.random.default_rng(11), _tex_dir())
    try:
        p.changeVisualShape(scene.plane, -1, textureUniqueId=-1, rgbaColor=[0.55, 0.55, 0.5, 1])
        eye = [0.0, 0.0, 0.18]
        view = p.computeViewMatrix(eye, [1.0, 0.0, 0.15], [0, 0, 1])
        proj = p.computeProjectionMatrixFOV(VFOV_DEG, W / H, 0.02, 30.0)
        bodies = {}
        for name, (cls_name, dist, y0, _) in MOVERS.items():
            oc = objects.by_name(cls_name)
            bodies[name] = (scene.add(oc.shape, oc.size, list(oc.rgba), dist, y0, 0.3), oc)

        def render():
            _, _, rgba, _, seg = p.getCameraImage(
                W, H, view, proj, renderer=p.ER_TINY_RENDERER, lightDirection=[0.4, 0.6, 1.0]
            )
            img = np.asarray(rgba, np.uint8).reshape(H, W, 4)[..., 2::-1]
            ok, jpg = cv2.imencode(
                ".jpg", np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, 90]
            )
            return cv2.imdecode(jpg, cv2.IMREAD_COLOR), np.asarray(seg).reshape(H, W)

        frames = []
        for k in range(n):
            s = k / (n - 1)
            for name, (_, dist, y0, y1) in MOVERS.items():
                body, oc = bodies[name]
                z = p.getBasePositionAndOrientation(body)[0][2]
                p.resetBasePositionAndOrientation(
                    body, [dist, y0 + (y1 - y0) * s, z], p.getQuaternionFromEuler([0, 0, 0.3])
                )
            img, seg = render()
            truth = {}
            for name, (body, oc) in bodies.items():
                ys, xs = np.nonzero(seg == body)
                if xs.size >= 30:
                    cls = objects.CLASS_NAMES.index(oc.name)
                    truth[name] = (cls, xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            frames.append((img, truth))
        for body, _ in bodies.values():
            p.resetBasePositionAndOrientation(body, [-5, 0, 0], [0, 0, 0, 1])  # behind
        empty, _ = render()
    finally:
        p.disconnect(scene.cid)
    return tuple(frames), empty


def _tex_dir():
    import pathlib
    import tempfile

    return pathlib.Path(tempfile.mkdtemp(prefix="edgebot-seq-tex-"))


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def assign(truth, dets, min_iou=0.3):
    """{object name: track id} for this frame: each ground-truth box takes the detection of its
    class with the highest IoU (>= min_iou); dets are (class_id, x1, y1, x2, y2, track_id)."""
    out, used = {}, set()
    pairs = sorted(
        (
            (iou(t[1:], d[1:5]), name, j)
            for name, t in truth.items()
            for j, d in enumerate(dets)
            if d[0] == t[0]
        ),
        reverse=True,
    )
    for v, name, j in pairs:
        if v < min_iou or name in out or j in used:
            continue
        out[name] = dets[j][5]
        used.add(j)
    return out


def id_switches(per_frame):
    """Per object: how often its (non -1) track id changed between the frames it was tracked in;
    per_frame is a list of {name: track id}. Also each object's ids, in order of appearance."""
    switches, ids = {}, {}
    for frame in per_frame:
        for name, tid in frame.items():
            if tid < 0:
                continue
            seen = ids.setdefault(name, [])
            if seen and seen[-1] != tid:
                switches[name] = switches.get(name, 0) + 1
            if not seen or seen[-1] != tid:
                seen.append(tid)
            switches.setdefault(name, 0)
    return switches, ids
