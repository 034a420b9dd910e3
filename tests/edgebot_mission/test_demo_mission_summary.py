"""The demo's mission pieces, pure: found objects from the odometry frame into the map frame
and their error against the simulator's ground truth, the end condition, the printed summary
and run.png with the found objects drawn."""

import math

import cv2

from edgebot_cli.demo import summary as S
from edgebot_cli.demo.plot import write_plot
from edgebot_sim import scenario as Scn


def _mission_state(scen, err=(0.1, 0.0)):
    """mission/state as mission_node publishes it: each object 'found' at its true position
    (plus ``err``, map frame) expressed in the odometry frame (odom = the start pose)."""
    st = scen.start
    c, s = math.cos(st.yaw), math.sin(st.yaw)
    truth = [(scen.target.cls, scen.target.x, scen.target.y)] + [
        (d.cls, d.x, d.y) for d in scen.distractors
    ]
    found = []
    for i, (cls, x, y) in enumerate(truth):
        dx, dy = x + err[0] - st.x, y + err[1] - st.y
        found.append({"index": i + 1, "class": cls, "x": c * dx + s * dy, "y": -s * dx + c * dy})
    return {
        "mission": "mission_three",
        "state": "done",
        "done": True,
        "outcome": "complete",
        "elapsed": 60.0,
        "time_limit": 150.0,
        "wanted": {"ball": 1, "cone": 1, "box": 1},
        "found": found,
        "avoided": 1,
        "given_up": 0,
    }


def test_found_positions_go_to_the_map_frame_and_are_compared_with_ground_truth():
    scen = Scn.load("mission_three").resolved(3)
    m = S.mission_results(scen, _mission_state(scen, err=(0.1, -0.2)))
    assert m["complete"] and len(m["found"]) == 3
    for f in m["found"]:
        assert abs(f["error_m"] - math.hypot(0.1, 0.2)) < 1e-3, f
    assert sorted(f["class"] for f in m["found"]) == ["ball", "box", "cone"]
    assert S.mission_results(scen, {}) is None


def test_the_run_ends_a_second_after_the_mission_is_done():
    st = dict(sim_t=30.0, status={}, crashed=[], launcher_code=None, wall_elapsed=40.0)
    assert S.end_reason(S.RunState(**st, reached_for=None), 150, 4, 120, True) == ""
    done = S.RunState(**st, reached_for=None, mission_done_for=1.5)
    assert S.end_reason(done, 150, 4, 120, True) == "mission done"
    assert S.end_reason(done, 150, 4, 120, False) == ""  # --duration runs go on


def test_summary_prints_and_the_plot_draws_what_was_found(tmp_path):
    scen = Scn.load("mission_three").resolved(1)
    snap = {
        "status": {},
        "sim_t": 61.0,
        "pose": None,
        "state": "-",
        "path": [(0.1 * i, 0.01 * i, 0.0, 0.0) for i in range(100)],
        "odom": [(0.1 * i, 0.01 * i, 0.0) for i in range(100)],
        "det_times": [0.1 * i for i in range(600)],
        "det_target_times": [],
        "det_objects": {"ball": 10},
        "det_msgs": 600,
        "states": [],
        "diag": {},
        "mqtt_stats": {},
        "mission": _mission_state(scen),
        "mission_states": [(0.0, "search"), (5.0, "approach"), (20.0, "return"), (60.0, "done")],
    }
    s = S.build_summary(scen, snap, None, {}, {}, [], "mission done", 70.0, 0, 1.0, 70.0, tmp_path)
    assert s["mission"]["max_error_m"] < 0.11
    text = S.format_summary(s)
    assert "mission mission_three: complete" in text
    assert "found ball #1" in text and "0.10 m from the true ball" in text
    assert "mission=done 3/3" in S.status_line(snap, None)
    write_plot(tmp_path / "run.png", scen, snap, s)
    img = cv2.imread(str(tmp_path / "run.png"))
    assert img is not None and img.shape[1] > 600
