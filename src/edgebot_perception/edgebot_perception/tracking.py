"""Track IDs for detections (no rclpy, no torch): a multi-object tracker behind one small
interface, for the backends that have no tracker of their own (onnxruntime and the other
torch-free ones; the ultralytics backend keeps its own tracker).

    tr = make_tracker(TrackerConfig(iou_threshold=0.1, max_age=15, min_hits=2))
    dets = tr.update(dets)   # the same detections, each with track_id set (-1: not yet a track)

The tracker is norfair's (the ``norfair-enough`` distribution, a maintained fork of Tryolabs'
norfair that runs on numpy 2): a constant-velocity Kalman filter per object on the two box
corners, greedy matching of detections to the tracks' predicted boxes by IoU, per class.

ID semantics (what a consumer such as a mission counting distinct objects relies on):
- an ID is a positive integer, stable for one object while it is tracked (it survives up to
  ``max_age`` frames without a detection, e.g. an occlusion);
- IDs are never reused within one tracker's lifetime, including across :meth:`reset`;
- ``-1`` (``TRACK_ID_NONE``): tracking is off, or the object has not been seen in ``min_hits``
  frames yet (a one-frame false positive never gets an ID).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import numpy as np

from .yolo_math import Detection

TRACK_ID_NONE = -1


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
    #: a detection continues a track when its IoU with the track's predicted box exceeds this
    iou_threshold: float = 0.1
    #: frames a confirmed track survives without a matching detection
    max_age: int = 15
    #: frames an object must be detected in (not necessarily in a row) before it gets an ID
    min_hits: int = 2

    def check(self) -> None:
        if not 0.0 <= self.iou_threshold < 1.0:
            raise ValueError(f"iou_threshold {self.iou_threshold}: must be in [0, 1)")
        if self.max_age < 1:
            raise ValueError(f"max_age {self.max_age}: must be >= 1")
        if not 1 <= self.min_hits <= self.max_age:
            raise ValueError(f"min_hits {self.min_hits}: must be in [1, max_age]")


def iou_distance(candidates: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """1 - IoU of (N, 4) and (K, 4) boxes -> (N, K). Corners are put in order first: a track's
    Kalman-predicted corners can cross over (norfair's own "iou" then logs a warning per frame
    and computes negative areas)."""
    a = np.concatenate(
        [
            np.minimum(candidates[:, :2], candidates[:, 2:]),
            np.maximum(candidates[:, :2], candidates[:, 2:]),
        ],
        axis=1,
    )
    b = np.concatenate(
        [np.minimum(objects[:, :2], objects[:, 2:]), np.maximum(objects[:, :2], objects[:, 2:])],
        axis=1,
    )
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    wh = np.clip(
        np.minimum(a[:, None, 2:], b[:, 2:]) - np.maximum(a[:, None, :2], b[:, :2]), 0, None
    )
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return 1.0 - np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


class Tracker:
    """The interface: ``update`` once per processed frame, in frame order."""

    def update(self, dets: Sequence[Detection]) -> list[Detection]:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every track (e.g. the input stopped); IDs are not reused afterwards."""
        raise NotImplementedError


class NorfairTracker(Tracker):
    def __init__(self, cfg: TrackerConfig | None = None):
        cfg = cfg or TrackerConfig()
        cfg.check()
        self.cfg = cfg
        self._id_offset = 0  # IDs handed out by trackers before the last reset
        self._frame = 0
        self._tracker = self._new()

    def _new(self):
        from norfair import Tracker as _Norfair
        from norfair.distances import VectorizedDistance

        # norfair's hit counter starts at 1, gains 2 per detection and loses 1 per frame; an
        # object gets its ID once the counter exceeds initialization_delay: min_hits
        # detections in a row do it.
        tracker = _Norfair(
            distance_function="iou",
            distance_threshold=1.0 - self.cfg.iou_threshold,
            hit_counter_max=self.cfg.max_age,
            initialization_delay=self.cfg.min_hits - 1,
            pointwise_hit_counter_max=self.cfg.max_age,
        )
        # norfair's vectorised "iou" with the corners put in order (the constructor takes a
        # distance by name or a slow per-pair function; the attribute takes a Distance)
        tracker.distance_function = VectorizedDistance(iou_distance)
        return tracker

    def update(self, dets: Sequence[Detection]) -> list[Detection]:
        from norfair import Detection as _Det

        self._frame += 1
        frame = self._frame
        inputs = []
        for i, d in enumerate(dets):
            if not (d.x2 > d.x1 and d.y2 > d.y1 and np.isfinite(d.xyxy).all()):
                continue  # norfair's IoU needs a proper box; such a detection is not tracked
            inputs.append(
                _Det(
                    np.array([[d.x1, d.y1], [d.x2, d.y2]], dtype=np.float64),
                    scores=np.array([d.score, d.score], dtype=np.float64),
                    label=int(d.class_id),
                    data=(frame, i),
                )
            )
        ids = {}
        for obj in self._tracker.update(inputs):
            data = obj.last_detection.data
            if obj.id is not None and data is not None and data[0] == frame:
                ids[data[1]] = int(obj.id) + self._id_offset
        return [
            dataclasses.replace(d, track_id=ids.get(i, TRACK_ID_NONE)) for i, d in enumerate(dets)
        ]

    def reset(self) -> None:
        self._id_offset += self._tracker.total_object_count
        self._tracker = self._new()


def make_tracker(cfg: TrackerConfig | None = None) -> Tracker:
    return NorfairTracker(cfg)


class BackgroundTracker:
    """``make_tracker(cfg)`` started on a thread at once (norfair imports scipy: seconds), so a
    node starts as fast with tracking on and the first frame waits only for what is left.
    ``get()`` -> the tracker, or None after an error, which ``error`` then holds (once)."""

    def __init__(self, cfg: TrackerConfig, factory=make_tracker):
        self.tracker: Tracker | None = None
        self.error: Exception | None = None
        self._done = threading.Event()
        threading.Thread(target=self._build, args=(cfg, factory), daemon=True).start()

    def _build(self, cfg, factory):
        try:
            self.tracker = factory(cfg)
        except Exception as e:  # e.g. norfair missing: detections go on without IDs
            self.error = e
        self._done.set()

    def get(self) -> Tracker | None:
        self._done.wait()
        return self.tracker
