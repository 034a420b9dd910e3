"""The mission engine's logic, ROS-free: the behaviour tree ticked on scripted inputs (a
kinematic world: unicycle robot, pinhole camera, sonar fan), the mission file's validation,
the position estimate and the dedupe of sightings."""

import math
import pathlib

import pytest
from kinematic import CAM, Obj, Post, World, run

from edgebot_mission import config
from edgebot_mission.geometry import Camera, Pose, observe
from edgebot_mission.mission import MissionEngine, Sighting, waypoints
from edgebot_mission.world import ObjectMap

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mission(**kw):
    doc = {"find": [{"class": "ball"}], "area": {"x": [-3.0, 3.0], "y": [-2.5, 2.5]}}
    doc.update(kw)
    return config.parse(doc)


def phases(world):
    out = []
    for _, ph, _, _ in world.log:
        if not out or out[-1] != ph:
            out.append(ph)
    return out


# -- mission files ---------------------------------------------------------------------------
def test_shipped_mission_files_load():
    files = sorted((ROOT / "config" / "missions").glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        m = config.load(str(f))
        assert m.wanted() and m.time_limit > 0
        # each names a scenario of the same name (make demo pairs them by name)
        assert (ROOT / "config" / "scenarios" / f.name).is_file(), f.name


@pytest.mark.parametrize(
    "doc, key, why",
    [
        ({"find": [{"class": "duck"}]}, "find[0].class", "unknown object class"),
        ({"find": [{"class": "ball"}], "speed": 1}, "speed", "unknown key; allowed: ["),
        ({"find": [{"class": "ball", "count": 0}]}, "find[0].count", "must be >= 1"),
        ({"find": []}, "find", "must not be empty"),
        ({}, "find", "missing (required)"),
        ({"find": [{"class": "ball"}], "time_limit": float("nan")}, "time_limit", "finite"),
        ({"find": [{"class": "ball"}], "time_limit": True}, "time_limit", "must be a number"),
        ({"find": [{"class": "ball"}], "area": {"x": [2.0, 1.0]}}, "area.x", "[min, max]"),
        ({"find": [{"class": "ball"}], "avoid": {"pas": 1.0}}, "avoid.pas", "'pass'"),
        ({"find": [{"class": "ball"}], "motion": {"max_linear": -1}}, "motion.max_linear", ">="),
    ],
)
def test_bad_mission_files_name_file_key_value_and_what_is_allowed(doc, key, why):
    with pytest.raises(config.MissionError) as e:
        config.parse(doc, "missions/x.yaml")
    msg = str(e.value)
    assert msg.startswith(f"missions/x.yaml: key '{key}'"), msg
    assert why in msg and "\n" not in msg, msg


def test_unreadable_and_invalid_yaml_files(tmp_path):
    with pytest.raises(config.MissionError, match="cannot be read"):
        config.load(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("find: [\n")
    with pytest.raises(config.MissionError, match="not valid YAML"):
        config.load(str(bad))


# -- geometry and dedupe ---------------------------------------------------------------------
def test_observe_puts_a_projected_object_back_where_it_is():
    w = World(x=0.3, y=-0.2, yaw=0.7, objects=[Obj("cone", 2.0, 1.5)])
    (s,) = w.sightings()
    o = observe(CAM, Pose(w.x, w.y, w.yaw), s.label, s.center_x, s.size_y)
    assert math.hypot(o.x - 2.0, o.y - 1.5) < 0.02
    assert o.bearing != 0 and o.source == "camera"
    # the sonar is used only straight ahead and when it agrees with the camera
    ahead = observe(CAM, Pose(0, 0, 0), "ball", 160.0, 50.0, sonar=1.0)
    assert ahead.source == ("sonar" if abs(ahead.range - 1.0) < 1e-9 else "camera")
    far = observe(CAM, Pose(0, 0, 0), "ball", 160.0, 50.0, sonar=0.3)
    assert far.source == "camera"  # a nearer obstacle, not the ball
    assert Camera.from_info(320, 277.1, 160.0).bearing(160.0) == 0.0
    with pytest.raises(ValueError):
        Camera.from_info(0, 277.1, 160.0)


def test_sightings_dedupe_by_position_without_track_ids_and_by_track_ids_with_them():
    m = ObjectMap({"ball": 2}, dedupe_radius=0.6)
    pose = Pose(0, 0, 0)
    a = observe(CAM, pose, "ball", 150.0, 30.0)
    b = observe(CAM, pose, "ball", 152.0, 31.0)  # the same ball, a little noise
    c1, c2 = m.sight(a, 0.0), m.sight(b, 0.1)
    assert c1 is c2 and c1.sightings == 2 and len(m.candidates) == 1
    other = observe(CAM, pose, "ball", 20.0, 30.0)  # far to the left: another ball
    assert m.sight(other, 0.2) is not c1 and len(m.candidates) == 2
    f = m.mark(c1, 1.0)
    assert m.sight(a, 1.1) is None and m.duplicates == 1  # found already: not a candidate
    assert f.index == 1 and not m.all_found()
    # track ids: the same id is the same object wherever the estimate lands
    t = ObjectMap({"box": 1}, 0.6)
    o1 = observe(CAM, pose, "box", 100.0, 40.0, track_id=7)
    o2 = observe(CAM, pose, "box", 300.0, 20.0, track_id=7)
    assert t.sight(o1, 0.0) is t.sight(o2, 0.1)
    o3 = observe(CAM, pose, "box", 100.0, 40.0, track_id=8)  # same place, another id
    assert t.sight(o3, 0.2) is not t.candidates[0]


def test_lawnmower_waypoints_cover_the_area():
    a = config.parse({"find": [{"class": "ball"}], "area": {"x": [-2, 2], "y": [-2, 2]}}).area
    wps = waypoints(a)
    assert len(wps) >= 4
    assert all(-2 <= x <= 2 and -2 <= y <= 2 for x, y in wps)
    assert len({round(y, 3) for _, y in wps}) >= 3  # several lanes


# -- the tree, ticked ---------------------------------------------------------------------
def test_waits_for_inputs_and_stops_when_they_go_silent():
    e = MissionEngine(mission())
    assert e.tick(0.0) == (0.0, 0.0) and e.phase == "waiting"
    w = World(objects=[Obj("ball", -2.0, 0.5)])
    run(e, w, 3.0)
    assert e.phase == "search" and w.log[-1][3] > 0  # turning
    w.detector_alive = False  # the detector dies: no detection messages
    run(e, w, 6.0)
    assert e.phase == "blind" and w.log[-1][2:] == (0.0, 0.0)
    w.detector_alive = True
    run(e, w, 7.0)
    assert e.phase != "blind"


def test_target_behind_the_robot_is_found_approached_reported_and_it_returns_home():
    e = MissionEngine(mission())
    w = World(objects=[Obj("ball", -2.0, 0.5), Obj("cone", 1.5, 1.8)])
    reports = run(e, w, 120.0)
    assert e.done and e.ctx.outcome == "complete", e.state()
    assert phases(w)[:2] == ["search", "approach"] and phases(w)[-1] == "done"
    assert [r.cls for r in reports] == ["ball"]  # reported once; the cone was not wanted
    (f,) = reports
    assert math.hypot(f.x + 2.0, f.y - 0.5) < 0.3
    assert math.hypot(w.x, w.y) <= 0.3  # home


def test_three_classes_are_visited_in_any_order_each_reported_once():
    e = MissionEngine(
        mission(find=[{"class": "ball"}, {"class": "cone"}, {"class": "box"}], time_limit=300.0)
    )
    truth = {"ball": (2.0, -1.5), "cone": (-1.5, 1.8), "box": (1.0, 2.0)}
    w = World(objects=[Obj(c, *p) for c, p in truth.items()])
    reports = run(e, w, 300.0)
    assert e.done and e.ctx.outcome == "complete", e.state()
    assert sorted(r.cls for r in reports) == ["ball", "box", "cone"]
    for r in reports:
        assert math.hypot(r.x - truth[r.cls][0], r.y - truth[r.cls][1]) < 0.3, r
    assert [r.index for r in reports] == [1, 2, 3]


def test_detections_of_old_frames_are_placed_with_the_pose_of_their_frame():
    e = MissionEngine(
        mission(find=[{"class": "ball"}, {"class": "cone"}, {"class": "box"}], time_limit=300.0)
    )
    truth = {"ball": (2.0, -1.5), "cone": (-1.5, 1.8), "box": (1.0, 2.0)}
    # 0.4 s of detector latency: at 0.5 rad/s a frame's bearing is 11 degrees old
    w = World(objects=[Obj(c, *p) for c, p in truth.items()], lag=0.4)
    reports = run(e, w, 300.0)
    assert e.ctx.outcome == "complete", e.state()
    for r in reports:
        assert math.hypot(r.x - truth[r.cls][0], r.y - truth[r.cls][1]) < 0.2, r
    # turning at 0.8 rad/s with 0.4 s of latency: the sighting lands where the ball is only
    # when placed with the pose of its frame (the pose at arrival is 18 degrees further on)
    for stamped, ok in ((True, True), (False, False)):
        e3 = MissionEngine(mission())
        w3 = World(objects=[Obj("ball", 0.5, 3.0)], yaw=1.0)
        frames = []
        for k in range(12):
            t = k * 0.1
            e3.on_pose(t, w3.x, w3.y, w3.yaw)
            frames.append((t, w3.sightings()))
            old_t, boxes = frames[max(0, k - 4)]
            e3.on_detections(t, 320, 240, boxes, old_t if stamped else None)
            w3.step(0.0, 0.8)
        (c,) = e3.ctx.objects.candidates
        assert (math.hypot(c.x - 0.5, c.y - 3.0) < 0.2) == ok, (stamped, c)
    # the interpolated pose between two odometry samples
    e2 = MissionEngine(mission())
    e2.on_pose(0.0, 0.0, 0.0, 3.0)
    e2.on_pose(1.0, 1.0, 0.0, -3.0)  # through +-pi, the short way
    p = e2.pose_at(0.5)
    assert abs(p.x - 0.5) < 1e-9 and abs(abs(p.yaw) - math.pi) < 1e-6
    assert e2.pose_at(None) == e2.pose_at(5.0) == e2.ctx.pose


def test_two_of_a_class_with_track_ids():
    e = MissionEngine(mission(find=[{"class": "box", "count": 2}], time_limit=300.0))
    w = World(objects=[Obj("box", 1.8, 1.0), Obj("box", -1.5, -1.2)], track_ids=True)
    reports = run(e, w, 300.0)
    assert e.ctx.outcome == "complete", e.state()
    assert sorted(r.track_id for r in reports) == [1, 2]


def test_an_obstacle_in_the_way_is_backed_off_from_and_driven_around():
    e = MissionEngine(mission(area={"x": [-1.0, 3.5], "y": [-2.0, 2.0]}, time_limit=200.0))
    w = World(objects=[Obj("ball", 3.0, 0.0)], posts=[Post(1.3, 0.0, 0.2)])
    reports = run(e, w, 200.0)
    assert e.ctx.outcome == "complete", e.state()
    assert "avoid" in phases(w) and e.ctx.avoid_count >= 1
    i = next(i for i, x in enumerate(w.log) if x[1] == "avoid")
    assert w.log[i][2] < 0  # avoiding begins by backing off, not by just stopping
    assert math.hypot(reports[0].x - 3.0, reports[0].y) < 0.3


def test_time_limit_ends_the_search_and_brings_the_robot_home():
    e = MissionEngine(mission(time_limit=20.0))
    w = World(objects=[])  # nothing to find
    run(e, w, 80.0)
    assert e.done and e.ctx.outcome.startswith("incomplete (time limit"), e.ctx.outcome
    assert math.hypot(w.x, w.y) <= 0.3


def test_a_false_positive_that_vanishes_is_given_up_and_the_search_goes_on():
    e = MissionEngine(mission(time_limit=60.0))
    w = World(objects=[])
    ghost = [Sighting("ball", 0.9, 160.0, 120.0, 20.0, 25.0)]
    for k in range(10):  # seen for one second straight ahead, then never again
        t = k * 0.1
        e.on_pose(t, 0.0, 0.0, 0.0)
        e.on_range(t, 4.0)
        e.on_detections(t, 320, 240, ghost)
        e.tick(t)
    assert e.phase == "approach"
    w.t = 1.0
    run(e, w, 40.0, until_done=False)
    assert e.ctx.given_up == 1 and e.phase in ("search", "explore"), e.state()


def test_bad_inputs_are_rejected_and_never_move_the_robot():
    e = MissionEngine(mission())
    assert not e.on_pose(0.0, float("nan"), 0.0, 0.0)
    assert not e.on_range(0.0, float("nan"))
    with pytest.raises(ValueError):
        e.on_detections(0.0, 0, 240, [])
    e.on_pose(0.0, 0.0, 0.0, 0.0)
    bad = [Sighting("ball", float("nan"), 1.0, 1.0, 1.0, 1.0), Sighting("ball", 0.9, 1, 1, 1, -5)]
    assert len(e.on_detections(0.0, 320, 240, bad)) == 2
    assert not e.ctx.objects.candidates
