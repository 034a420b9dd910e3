"""Target follower state machine and distance estimate on scripted detections (ROS-free)."""

import math

import pytest

from edgebot_common import objects
from edgebot_control.follower import (
    APPROACH,
    BLIND,
    HOLD,
    SEARCH,
    TRACK,
    Box,
    Follower,
    FollowerConfig,
    StaleDetections,
    box_problem,
    distance_from_box,
    focal_length_px,
    target_height_m,
)

W, H = objects.CAMERA_WIDTH, objects.CAMERA_HEIGHT


def box_at(distance, offset=0.0, label="ball", score=0.9, cfg=FollowerConfig()):
    """The box a ball at ``distance`` with normalised horizontal ``offset`` would give."""
    h = focal_length_px(W, cfg.hfov_deg) * target_height_m(label) / distance
    return Box(label, score, W / 2 + offset * W / 2, H / 2, h, h)


def test_focal_length_of_the_demo_camera():
    # 320 px, 60 deg HFOV: f = 160 / tan(30 deg)
    assert focal_length_px(320, 60.0) == pytest.approx(277.128, abs=1e-3)


def test_distance_estimate_inverts_the_pinhole_model():
    for d in (0.3, 1.0, 2.5):
        b = box_at(d)
        assert distance_from_box(b.size_y, W, 60.0, 0.2) == pytest.approx(d)
    # same scene at twice the resolution: same distance
    assert distance_from_box(2 * box_at(1.0).size_y, 2 * W, 60.0, 0.2) == pytest.approx(1.0)


def test_class_heights_come_from_the_demo_world():
    assert target_height_m("ball") == pytest.approx(0.2)
    assert target_height_m("cone") == pytest.approx(0.3)
    assert target_height_m("box") == pytest.approx(0.2)
    with pytest.raises(ValueError):
        target_height_m("unicorn")


@pytest.mark.parametrize(
    "box,why",
    [
        (Box("ball", math.nan, 10, 10, 5, 5), "non-finite"),
        (Box("ball", 0.9, math.inf, 10, 5, 5), "non-finite"),
        (Box("ball", 1.5, 10, 10, 5, 5), "score"),
        (Box("ball", 0.9, 10, 10, 0, 5), "not positive"),
        (Box("ball", 0.9, 10, 10, 5, -3), "not positive"),
        (Box("ball", 0.9, -40, 10, 5, 5), "outside"),
        (Box("ball", 0.9, 10, 10, 5000, 5), "larger"),
    ],
)
def test_impossible_boxes_are_named(box, why):
    assert why in box_problem(box, W, H)


def test_plausible_box_passes():
    assert box_problem(Box("ball", 0.5, 160, 120, 30, 30), W, H) is None


def test_search_rotates_slowly_without_a_target():
    f = Follower(FollowerConfig(search_angular=0.4))
    f.on_detections(0.0, W, H, [])  # the detector runs, sees nothing
    assert f.step(0.0) == (0.0, 0.4)
    assert f.state == SEARCH
    # other classes and weak detections do not count
    f.on_detections(0.1, W, H, [box_at(1.0, label="cone"), box_at(1.0, score=0.1)])
    assert f.step(0.1) == (0.0, 0.4)
    assert f.state == SEARCH


def test_blind_without_detection_messages_stops_instead_of_searching():
    cfg = FollowerConfig(search_angular=0.4, input_timeout=0.4, use_sonar=False)
    f = Follower(cfg)
    assert f.step(0.0) == (0.0, 0.0) and f.state == BLIND  # nothing received yet
    f.on_detections(1.0, W, H, [box_at(2.0, offset=0.0)])
    assert f.step(1.0)[0] > 0.0 and f.state == APPROACH
    # the detector goes silent while the robot drives: it keeps its last command only
    # until input_timeout, then stops -- no driving on the frozen detection, no search spin
    assert f.step(1.0 + cfg.input_timeout)[0] > 0.0
    assert f.step(1.0 + cfg.input_timeout + 0.01) == (0.0, 0.0)
    assert f.state == BLIND and f.distance is None
    for t in (1.5, 2.5, 10.0):  # however long it stays silent
        assert f.step(t) == (0.0, 0.0) and f.state == BLIND
    # messages flow again: it follows at once
    f.on_detections(10.1, W, H, [box_at(2.0, offset=0.0)])
    assert f.step(10.1)[0] > 0.0 and f.state == APPROACH


def test_detections_of_an_old_frame_are_stale_and_not_a_live_detector():
    f = Follower(FollowerConfig(input_timeout=0.3, max_age=0.5, use_sonar=False))
    f.on_detections(0.0, W, H, [box_at(2.0)], age=0.1)
    assert f.step(0.0)[0] > 0.0
    # a detector working off a backlog: its late messages describe frames from before
    for t in (0.2, 0.4, 0.6):
        with pytest.raises(StaleDetections):
            f.on_detections(t, W, H, [box_at(2.0)], age=0.7)
    assert f.step(0.6) == (0.0, 0.0) and f.state == BLIND
    f.on_detections(0.7, W, H, [box_at(2.0)], age=None)  # no stamp: not checked
    assert f.step(0.7)[0] > 0.0
    g = Follower(FollowerConfig(max_age=0.0))  # 0: no check
    g.on_detections(0.0, W, H, [], age=99.0)
    assert g.step(0.0) == (0.0, g.cfg.search_angular)


def test_a_rejected_message_is_not_a_live_detector():
    f = Follower(FollowerConfig(input_timeout=0.4))
    f.on_detections(0.0, W, H, [])
    with pytest.raises(ValueError):
        f.on_detections(0.3, 0, 0, [])
    assert f.step(0.5) == (0.0, 0.0) and f.state == BLIND


def test_full_sequence_search_track_approach_hold_lost():
    cfg = FollowerConfig(stop_distance=0.5, lost_timeout=1.0, use_sonar=False)
    f = Follower(cfg)
    t = 0.0
    f.step(t)
    # target far on the right: track (turn right, i.e. negative w, no forward motion)
    f.on_detections(t, W, H, [box_at(2.0, offset=0.6)])
    v, w = f.step(t)
    assert f.state == TRACK and v == 0.0 and w < 0.0
    # target on the left: turn left
    t += 0.1
    f.on_detections(t, W, H, [box_at(2.0, offset=-0.6)])
    v, w = f.step(t)
    assert f.state == TRACK and v == 0.0 and w > 0.0
    # centred and far: approach, forward, limited by max_linear
    t += 0.1
    f.on_detections(t, W, H, [box_at(2.0, offset=0.02)])
    v, w = f.step(t)
    assert f.state == APPROACH
    assert 0.0 < v <= cfg.max_linear
    assert f.distance == pytest.approx(2.0)
    # closer: slower
    t += 0.1
    f.on_detections(t, W, H, [box_at(0.7, offset=0.0)])
    v2, _ = f.step(t)
    assert f.state == APPROACH and 0.0 < v2 < v
    # at the stop distance: hold, zero
    t += 0.1
    f.on_detections(t, W, H, [box_at(0.52, offset=0.0)])
    assert f.step(t) == (0.0, 0.0)
    assert f.state == HOLD
    # inside the hysteresis band: stays in hold
    t += 0.1
    f.on_detections(t, W, H, [box_at(0.62, offset=0.0)])
    assert f.step(t) == (0.0, 0.0)
    assert f.state == HOLD
    # target moved away: approach again
    t += 0.1
    f.on_detections(t, W, H, [box_at(1.2, offset=0.0)])
    v, _ = f.step(t)
    assert f.state == APPROACH and v > 0.0
    # frames without the target: wait in place, then search after lost_timeout
    t += 0.1
    seen = t - 0.1
    f.on_detections(t, W, H, [])
    assert f.step(t) == (0.0, 0.0)
    assert f.state == APPROACH
    t = seen + cfg.lost_timeout + 0.05
    f.on_detections(t, W, H, [])
    assert f.step(t) == (0.0, cfg.search_angular)
    assert f.state == SEARCH


def test_too_close_backs_off():
    f = Follower(FollowerConfig(stop_distance=0.5, use_sonar=False))
    f.on_detections(0.0, W, H, [box_at(0.2)])
    f.step(0.0)
    v, _ = f.step(0.0)
    assert f.state == APPROACH and v < 0.0


def test_sonar_overrides_camera_distance_when_centred_and_fresh():
    f = Follower(FollowerConfig(stop_distance=0.5, sonar_max_age=0.5))
    assert f.on_range(0.0, 0.5)
    f.on_detections(0.0, W, H, [box_at(2.0, offset=0.0)])  # camera says 2 m
    f.step(0.0)
    assert f.distance_source == "sonar" and f.distance == pytest.approx(0.5)
    assert f.state == HOLD
    # stale sonar: back to the camera estimate
    f.on_detections(1.0, W, H, [box_at(2.0, offset=0.0)])
    f.step(1.0)
    assert f.distance_source == "camera" and f.distance == pytest.approx(2.0)
    assert f.state == APPROACH


@pytest.mark.parametrize("r", [math.nan, math.inf, -math.inf, -1.0, 0.0, 99.0])
def test_garbage_sonar_is_not_a_distance(r):
    f = Follower(FollowerConfig())
    assert not f.on_range(0.0, r)


def test_highest_score_target_wins_and_bad_boxes_are_reported():
    f = Follower(FollowerConfig(use_sonar=False))
    bad = Box("ball", 0.99, math.nan, 1, 1, 1)
    best, problems = f.on_detections(
        0.0, W, H, [box_at(3.0, score=0.5), box_at(1.0, score=0.8), bad]
    )
    assert best.score == 0.8 and len(problems) == 1
    with pytest.raises(ValueError):
        f.on_detections(0.0, 0, H, [])
