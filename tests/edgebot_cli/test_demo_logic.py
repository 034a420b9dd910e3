"""The demo's pure parts: when a run ends, the summary built from what was recorded, the
status line and the plot — from plain data, no processes."""

import json
import types

from edgebot_cli.demo.summary import (
    RunState,
    build_summary,
    end_reason,
    format_summary,
    status_line,
    telemetry_figures,
)


def state(**kw):
    base = dict(
        sim_t=5.0, status={}, crashed=[], launcher_code=None, wall_elapsed=10.0, reached_for=None
    )
    base.update(kw)
    return RunState(**base)


def reason(s, duration=None, stop_when_reached=False):
    return end_reason(
        s, duration, wall_factor=4.0, startup_s=120.0, stop_when_reached=stop_when_reached
    )


def test_a_running_demo_carries_on():
    assert reason(state()) == ""
    assert reason(state(sim_t=11.9), duration=12) == ""


def test_end_reasons_in_order():
    crashed = [{"node": "yolo_node", "exit_code": -9}]
    everything = state(
        crashed=crashed,
        launcher_code=1,
        status={"error": "boom", "reached": True},
        sim_t=99,
        wall_elapsed=9999,
        reached_for=5,
    )
    assert reason(everything, 12, True) == "node crashed: yolo_node"
    assert reason(state(launcher_code=1, status={"error": "boom"})) == "launcher exited with code 1"
    assert reason(state(status={"error": "boom"})) == "simulator failed: boom"
    assert reason(state(sim_t=12.0), duration=12) == "duration 12 s reached"
    assert (
        reason(state(sim_t=3.0, wall_elapsed=169.0), duration=12)
        == "wall-clock guard: 169 s passed, simulated time 3.0 s"
    )


def test_target_reached_ends_the_run_one_second_later_only_when_asked():
    st = {"reached": True}
    assert reason(state(status=st, reached_for=0.5), stop_when_reached=True) == ""
    assert reason(state(status=st, reached_for=1.2), stop_when_reached=True) == "target reached"
    assert reason(state(status=st, reached_for=1.2), stop_when_reached=False) == ""


def snapshot(**kw):
    snap = {
        "status": {},
        "sim_t": 10.0,
        "pose": (1.0, -0.5, 0.0),
        "state": "approach",
        "path": [(0.0, 0.0, 0.0, 0.0), (5.0, 1.0, -0.5, 0.0)],
        "odom": [(0.0, 0, 0)],
        "det_times": [1.0, 2.0, 8.0, 9.0, 9.5],
        "det_target_times": [8.0, 9.0],
        "det_objects": {"sports ball": 2},
        "det_msgs": 5,
        "states": [(0.0, "search"), (4.0, "approach")],
        "diag": {"base_controller: loop": {"level": 0}, "camera_node: stream": {"level": 0}},
        "mqtt_stats": {"sent": 100, "delivered": 99, "dropped": 0},
    }
    snap.update(kw)
    return snap


SCEN = types.SimpleNamespace(
    name="near_ball",
    seed=3,
    time_limit=60.0,
    target=types.SimpleNamespace(cls="sports ball", x=3.0, y=0.0, reach_distance=0.4),
)


def test_summary_from_a_snapshot(tmp_path):
    final = {"sim_time": 10.5, "reached": True, "reached_at": 9.0, "target_distance": 0.3}
    s = build_summary(
        SCEN,
        snapshot(),
        {"count": 97, "topics": {"odom": 97}},
        final,
        {"firmata": True, "mqtt": True},
        [],
        "target reached",
        wall_s=20.0,
        launcher_code=0,
        gate_wall=105.0,
        end_wall=115.0,
        out_dir=tmp_path,
    )
    assert s["sim_time_s"] == 10.5 and s["reached"] and s["within_time_limit"]
    assert s["time_to_reach_s"] == 9.0 and s["real_time_factor"] == 0.525
    assert s["real_time_factor_running"] == 1.05 and s["startup_wall_s"] == 10.0
    assert s["follower"] == {
        "final_state": "approach",
        "transitions": 2,
        "seconds_by_state": {"search": 4.0, "approach": 6.5},
    }
    assert s["detections"]["messages"] == 5 and s["detections"]["messages_with_target"] == 2
    assert list(s["control_loop"]) == ["base_controller: loop"]
    assert s["telemetry"]["sent"] == 100 and s["telemetry"]["delivered"] == 97
    assert s["telemetry"]["lost"] == 3
    json.dumps(s)  # summary.json
    text = format_summary(s)
    assert "REACHED at t=9.0 s" in text and "telemetry: sent 100, delivered 97, lost 3" in text


def test_telemetry_without_mqtt_has_no_loss_figure():
    t = telemetry_figures({}, None)
    assert t["sent"] is None and t["delivered"] is None and t["lost"] is None


def test_status_line():
    line = status_line(snapshot(status={"target_distance": 1.2, "rtf": 0.9}), None)
    assert line.startswith("t=  10.0s pose=(+1.00, -0.50,   +0deg) follower=approach")
    assert "det/s= 1.0" in line and "target=1.2m" in line and "mqtt sent=100" in line
    assert (
        status_line(snapshot(status={"holding": ["cmd_vel"]}), None)
        == "waiting for the stack to connect: cmd_vel"
    )


def test_plot_from_a_snapshot(tmp_path):
    import cv2

    from edgebot_cli.demo.plot import write_plot
    from edgebot_sim import scenario

    scen = scenario.load("near_ball").resolved(-1)
    write_plot(tmp_path / "run.png", scen, snapshot(), {"sim_time_s": 10.0, "reached": False})
    img = cv2.imread(str(tmp_path / "run.png"))
    assert img is not None and img.shape[1] > 600
