"""Accuracy of a detector backend on rendered scenes, computed (no rclpy, no torch):

    scenes = heldout_set(120)                       # [(bgr, [(cls, x1, y1, x2, y2)])]
    m = map50(backend, scenes)                      # {'map50': .., 'per_class': {..}, ...}

mAP50 is pycocotools' COCOeval (the reference COCO implementation: 101-point interpolated
precision, IoU 0.5, up to 100 detections per image, mean over the classes present), on
detections at conf 0.001 as YOLO validation does. The scenes come from dataset.Scene with a
seed of their own: the training data used (6, 0..2), the INT8 calibration (6, 3).
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import tempfile
from collections.abc import Sequence

import cv2
import numpy as np

HELDOUT_SEED = (2026, 16)
EVAL_CONF = 0.001


def heldout_set(n: int, seed: Sequence[int] = HELDOUT_SEED, min_objects: int = 0) -> list:
    """n (bgr image, [(class, x1, y1, x2, y2)]) pairs rendered like the training data."""
    import pybullet as p

    from .dataset import Scene

    rng = np.random.default_rng(list(seed))
    scene = Scene(rng, pathlib.Path(tempfile.mkdtemp(prefix="edgebot-heldout-")))
    out = []
    try:
        while len(out) < n:
            buf, labels = scene.sample()
            if len(labels) >= min_objects:
                out.append((cv2.imdecode(buf, cv2.IMREAD_COLOR), labels))
    finally:
        p.disconnect(scene.cid)
    return out


def coco_map50(
    gts: Sequence[Sequence[tuple]], dets: Sequence[Sequence[tuple]], class_ids: Sequence[int]
) -> dict:
    """gts[i] = [(cls, x1, y1, x2, y2)], dets[i] = [(cls, score, x1, y1, x2, y2)] per image ->
    {'map50', 'map50_95', 'per_class': {cls: ap50 or nan}} (pycocotools)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, res = [], [], []
    for i, labels in enumerate(gts):
        images.append({"id": i + 1})
        for c, x1, y1, x2, y2 in labels:
            w, h = x2 - x1, y2 - y1
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": int(c),
                    "bbox": [x1, y1, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    for i, ds in enumerate(dets):
        for c, s, x1, y1, x2, y2 in ds:
            res.append(
                {
                    "image_id": i + 1,
                    "category_id": int(c),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(s),
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": int(c)} for c in class_ids],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if not res:
            return {"map50": 0.0, "map50_95": 0.0, "per_class": {int(c): 0.0 for c in class_ids}}
        dt = gt.loadRes(res)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # precision: [iou thr, recall, class, area range, max dets]; -1 = class absent
    prec = ev.eval["precision"][0, :, :, 0, -1]
    per_class = {}
    for k, c in enumerate(ev.params.catIds):
        p = prec[:, k]
        per_class[int(c)] = float(p.mean()) if (p > -1).any() else float("nan")
    return {
        "map50": float(ev.stats[1]),
        "map50_95": float(ev.stats[0]),
        "per_class": per_class,
    }


def predictions(backend, scenes) -> list[list[tuple]]:
    out = []
    for img, _ in scenes:
        out.append([(d.class_id, d.score, d.x1, d.y1, d.x2, d.y2) for d in backend.infer(img)])
    return out


def map50(backend, scenes) -> dict:
    """mAP50 of a backend (made with conf=EVAL_CONF) on (image, labels) pairs."""
    r = coco_map50([lb for _, lb in scenes], predictions(backend, scenes), sorted(backend.names))
    r["per_class"] = {backend.names[c]: round(v, 4) for c, v in r["per_class"].items()}
    r["images"] = len(scenes)
    r["objects"] = sum(len(lb) for _, lb in scenes)
    return r
