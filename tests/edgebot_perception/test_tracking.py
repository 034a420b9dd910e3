"""The tracker wrapper (edgebot_perception.tracking), ROS-free and fast: IDs persist for moving
objects, crossing objects keep theirs, occlusions are bridged, IDs are never reused."""

import dataclasses

import numpy as np
import pytest

from edgebot_perception.tracking import TRACK_ID_NONE, TrackerConfig, make_tracker
from edgebot_perception.yolo_math import Detection, draw


def box(cls, cx, cy, w, h, score=0.9):
    return Detection(cls, f"c{cls}", score, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def test_moving_objects_keep_their_ids():
    tr = make_tracker(TrackerConfig(min_hits=2))
    seen = []
    for k in range(30):
        out = tr.update([box(0, 20 + 8 * k, 100, 30, 30), box(1, 300 - 5 * k, 60, 20, 40)])
        assert [d.class_id for d in out] == [0, 1]  # same detections, same order
        assert [(d.x1, d.score) for d in out] == [
            (20 + 8 * k - 15, 0.9),
            (300 - 5 * k - 10, 0.9),
        ]
        seen.append([d.track_id for d in out])
    assert seen[0] == [TRACK_ID_NONE, TRACK_ID_NONE]  # not confirmed after one frame
    ids = seen[1]
    assert all(i > 0 for i in ids) and ids[0] != ids[1]
    assert all(s == ids for s in seen[1:])


def test_min_hits_one_gives_an_id_at_once():
    tr = make_tracker(TrackerConfig(min_hits=1))
    assert tr.update([box(0, 50, 50, 20, 20)])[0].track_id > 0


def test_crossing_objects_of_one_class_keep_distinct_ids():
    # a near (big) and a far (small) ball cross in the image, moving in opposite directions
    tr = make_tracker(TrackerConfig())
    first = {}
    for k in range(40):
        near = box(0, 20 + 7 * k, 120, 60, 60)
        far = box(0, 300 - 7 * k, 110, 16, 16)
        out = tr.update([near, far])
        if k >= 1:
            a, b = out[0].track_id, out[1].track_id
            assert a > 0 and b > 0 and a != b
            first.setdefault("near", a)
            first.setdefault("far", b)
            assert (a, b) == (first["near"], first["far"]), f"ID switch at frame {k}"


def test_an_occlusion_is_bridged_and_a_one_frame_false_positive_gets_no_id():
    tr = make_tracker(TrackerConfig(max_age=10, min_hits=2))
    ids = set()
    for k in range(30):
        dets = [] if 12 <= k < 17 else [box(2, 40 + 6 * k, 100, 40, 40)]  # 5 frames hidden
        if k == 20:
            dets.append(box(1, 250, 200, 30, 30))  # a flicker of another class
        out = tr.update(dets)
        if k >= 1 and dets:
            assert out[0].track_id > 0
            ids.add(out[0].track_id)
        if k == 20:
            assert out[1].track_id == TRACK_ID_NONE
    assert len(ids) == 1


def test_a_lost_object_gets_a_new_id_and_ids_are_never_reused():
    tr = make_tracker(TrackerConfig(max_age=3, min_hits=1))
    a = tr.update([box(0, 50, 50, 20, 20)])[0].track_id
    for _ in range(6):
        tr.update([])
    b = tr.update([box(0, 50, 50, 20, 20)])[0].track_id
    tr.reset()
    c = tr.update([box(0, 50, 50, 20, 20)])[0].track_id
    assert len({a, b, c}) == 3 and min(a, b, c) > 0


def test_degenerate_boxes_are_not_tracked():
    tr = make_tracker(TrackerConfig(min_hits=1))
    out = tr.update([box(0, 50, 50, 0, 20), box(0, float("nan"), 5, 4, 4), box(0, 90, 90, 9, 9)])
    assert [d.track_id for d in out][:2] == [TRACK_ID_NONE, TRACK_ID_NONE]
    assert out[2].track_id > 0


@pytest.mark.parametrize(
    "cfg", [TrackerConfig(iou_threshold=1.0), TrackerConfig(max_age=0), TrackerConfig(min_hits=0)]
)
def test_bad_config_is_refused(cfg):
    with pytest.raises(ValueError, match="must be"):
        make_tracker(cfg)


def test_iou_distance_puts_crossed_corners_in_order():
    from edgebot_perception.tracking import iou_distance

    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[10.0, 10.0, 0.0, 0.0], [5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    d = iou_distance(a, b)
    assert d.shape == (1, 3)
    assert d[0] == pytest.approx([0.0, 1 - 50 / 150, 1.0])


def test_the_annotated_image_shows_the_track_id():
    img = np.full((120, 160, 3), 90, np.uint8)
    det = box(0, 80, 60, 40, 40)
    untracked = draw(img, [det])
    tracked = draw(img, [dataclasses.replace(det, track_id=7)])
    assert (untracked != img).any() and (tracked != untracked).any()


def test_background_tracker_builds_on_a_thread_and_reports_an_error():
    import threading

    from edgebot_perception.tracking import BackgroundTracker, TrackerConfig

    gate = threading.Event()
    seen = []

    def factory(cfg):
        seen.append(threading.current_thread())
        gate.wait(10)
        return "tracker"

    bg = BackgroundTracker(TrackerConfig(), factory)
    assert bg.tracker is None  # building: the constructor did not wait for it
    gate.set()
    assert bg.get() == "tracker" and bg.error is None
    assert seen[0] is not threading.main_thread()

    def broken(cfg):
        raise ImportError("no norfair")

    bg = BackgroundTracker(TrackerConfig(), broken)
    assert bg.get() is None and isinstance(bg.error, ImportError)
