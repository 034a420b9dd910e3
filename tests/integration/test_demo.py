"""`make demo`'s runner: it starts demo.launch.yaml with `edgebot launch`, shows a status line,
ends by itself after DURATION with summary.json and run.png; a node that dies is named in the
summary and the demo exits non-zero; bad arguments are one clear line."""

import json
import sys

import cv2
import numpy as np
import pytest

from edgebot_testing import ROOT

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


def demo(procs, *args, name="demo"):
    return procs.start([sys.executable, "-m", "edgebot_cli.demo", *args], name=name, cwd=str(ROOT))


@pytest.mark.timeout(900)
def test_demo_runs_the_whole_stack_and_writes_summary_and_plot(procs, tmp_path):
    out = tmp_path / "demo_output"
    p = demo(
        procs,
        "--duration",
        "12",
        "--scenario",
        "near_ball",
        "--output",
        str(out),
        "--status-period",
        "2",
    )
    assert p.wait(600) == 0, p.output()[-5000:]
    text = p.output()
    assert "t=" in text and "follower=" in text and "det/s=" in text  # live status lines
    s = json.loads((out / "summary.json").read_text())
    assert s["scenario"] == "near_ball" and s["end_reason"] == "duration 12 s reached"
    assert s["sim_time_s"] >= 12 and s["crashed"] == [] and s["launcher_exit_code"] == 0
    assert all(s["stack"].values()), s["stack"]  # every part of the stack ran
    for key in (
        "reached",
        "time_to_reach_s",
        "distance_left_m",
        "detections",
        "follower",
        "control_loop",
        "telemetry",
        "real_time_factor",
    ):
        assert key in s, key
    assert s["detections"]["messages"] > 0
    assert s["follower"]["transitions"] > 0
    assert any(k.startswith("base_controller") for k in s["control_loop"]), s["control_loop"]
    t = s["telemetry"]
    assert t["sent"] and t["sent"] > 0 and t["delivered"] > 0 and t["lost"] is not None
    img = cv2.imread(str(out / "run.png"))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 600
    assert s["reached"], s  # near_ball: reached in about 4 s of simulated time
    # composed (the default): sim, yolo + one process for the 8 light nodes (firmata, imu,
    # base_controller, safety_monitor, target_follower, mqtt, recorder, state publisher) and
    # camera_node (compose_camera:=true, the default)
    log = (out / "launch.log").read_text()
    assert log.count("process started") == 3, log[-3000:]
    assert "9 nodes in one process" in log, log[-3000:]
    # the run's rosbag2 MCAP recording, read back by an independent reader
    from rosbags.highlevel import AnyReader

    with AnyReader([out / "demo"]) as bag:
        topics = {c.topic for c in bag.connections}
        assert {"/odom", "/detections", "/cmd_vel", "/tf", "/tf_static"} <= topics, topics
        assert bag.message_count > 100
        # what the robot saw: the camera's JPEGs, thinned to the recorder's 2 Hz (topic_rates
        # in config/foxglove.yaml), decodable
        cams = [c for c in bag.connections if c.topic == "/camera/image_raw/compressed"]
        assert cams, topics
        frames = [(t, bag.deserialize(raw, c.msgtype)) for c, t, raw in bag.messages(cams)]
    assert len(frames) >= 2
    span = (frames[-1][0] - frames[0][0]) * 1e-9  # log times: the sim clock the limiter runs on
    assert len(frames) - 1 <= span * 2.0 + 1e-6, (len(frames), span)
    for _t, m in frames[:: max(1, len(frames) // 5)]:
        img = cv2.imdecode(np.frombuffer(bytes(m.data), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == (240, 320, 3)


@pytest.mark.timeout(900)
def test_the_demo_reaches_the_target_one_process_per_node_too(procs, tmp_path):
    """composed:=false: the same nodes in a process each reach the target as the composed
    stack does (the test above)."""
    out = tmp_path / "demo_output"
    p = demo(procs, "--duration", "12", "--scenario", "near_ball", "--output", str(out),
             "composed:=false", name="demo_separate")  # fmt: skip
    assert p.wait(600) == 0, p.output()[-5000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["reached"] and s["crashed"] == [] and s["launcher_exit_code"] == 0, s
    assert s["detections"]["messages"] > 0 and s["telemetry"]["delivered"] > 0
    # 9 nodes + the state publisher (robot_description, /tf_static, wheels on /tf) + recorder
    log = (out / "launch.log").read_text()
    assert log.count("process started") == 11 and "nodes in one process" not in log


def test_a_node_crash_is_named_and_fails_the_demo(procs, tmp_path):
    out = tmp_path / "demo_output"
    # a follower told to chase an unknown class dies at start (configuration error, exit 2)
    p = demo(
        procs,
        "--duration",
        "30",
        "--scenario",
        "near_ball",
        "--output",
        str(out),
        "--no-perception",
        "--no-imu",
        "--no-mqtt",
        "target_class:=duck",
    )
    assert p.wait(300) == 1, p.output()[-5000:]
    s = json.loads((out / "summary.json").read_text())
    # composed (the default): the process of the light nodes stops, naming the node and why
    assert s["crashed"] == [{"node": "robot_nodes", "exit_code": 2, "hosted": ["target_follower"]}]
    assert "CRASHED: node robot_nodes exited with code 2 (target_follower in it)" in p.output()
    log = (out / "launch.log").read_text()
    assert "[target_follower] configuration error: parameter 'target_class'" in log, log[-3000:]
    assert (out / "run.png").exists()
    # one process per node: the follower's own process
    out = tmp_path / "demo_output_separate"
    p = demo(procs, "--duration", "30", "--scenario", "near_ball", "--output", str(out),
             "--no-perception", "--no-imu", "--no-mqtt", "target_class:=duck", "composed:=false",
             name="demo_separate")  # fmt: skip
    assert p.wait(300) == 1, p.output()[-5000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["crashed"] == [{"node": "target_follower", "exit_code": 2}]
    assert "CRASHED: node target_follower exited with code 2" in p.output()


def test_bad_arguments_are_one_line(procs, tmp_path):
    p = demo(procs, "--scenario", "no_such_world", "--output", str(tmp_path / "o"))
    assert p.wait(60) == 2
    assert "scenario 'no_such_world': no such file" in p.output()
    p = demo(procs, "--duration", "soon", name="demo2")
    assert p.wait(60) == 2
    assert "--duration 'soon': must be a number" in p.output()


def test_ctrl_c_ends_the_demo_cleanly_with_a_summary(procs, tmp_path):
    import signal

    out = tmp_path / "demo_output"
    p = demo(
        procs,
        "--scenario",
        "near_ball",
        "--output",
        str(out),
        "--status-period",
        "1",
        "--no-perception",
        "--no-imu",
        "--no-mqtt",
        "--no-control",
    )
    p.wait_output("t=", 180)
    # wait until simulated time runs, then Ctrl-C (no --duration: it would run for ever)
    from edgebot_testing import wait_for

    wait_for(lambda: "pose=(" in p.output(), 120, what="the simulation to run")
    p.signal(signal.SIGINT)
    assert p.wait(90) == 0, p.output()[-3000:]
    s = json.loads((out / "summary.json").read_text())
    assert s["end_reason"] == "interrupted (Ctrl-C)" and s["crashed"] == []
    assert s["launcher_exit_code"] == 0


def test_make_demo_empty_variables_mean_defaults():
    from edgebot_cli.demo import DEFAULT_SCENARIO, parse_args

    ns = parse_args(["--duration", "", "--scenario", ""])  # make demo without variables
    assert ns.duration is None and ns.scenario == ""  # until Ctrl-C, the mission scenario
    assert DEFAULT_SCENARIO == "mission_three"
    ns = parse_args(
        ["--duration", "", "--scenario", "", "--stop-when-reached", "--until-time-limit"]
    )
    assert (
        ns.duration is None and ns.until_time_limit and ns.stop_when_reached
    )  # what make demo passes
    makefile = (ROOT / "Makefile").read_text()
    assert "$(if $(DURATION),,--stop-when-reached --until-time-limit)" in makefile
    ns = parse_args(["--duration", "60", "--scenario", "near_ball", "foxglove:=true"])
    assert ns.duration == 60.0 and ns.launch_args == ["foxglove:=true"]


@pytest.mark.long  # two minutes: make test-long (make test runs the real firmware in the sim)
@pytest.mark.timeout(900)
def test_make_demo_arduino_real_does_the_mission_on_the_real_firmware(procs, tmp_path):
    """`make demo ARDUINO=real`: the whole stack with the stock StandardFirmata running on the
    emulated AVR instead of the Python board model -- follower, safety monitor, base_controller,
    firmata_node, the firmware's timers driving the simulated wheels -- does the default demo's
    whole job: the mission (mission_three) completes, every target found."""
    makefile = (ROOT / "Makefile").read_text()
    line = makefile.split("ARDUINO_ARGS_real :=", 1)[1].split("\ndemo:", 1)[0]
    real_args = line.replace("\\\n", " ").split()  # exactly what make demo passes
    assert "arduino_firmware:=StandardFirmata" in real_args
    out = tmp_path / "demo_output"
    p = demo(
        procs,
        "--duration",
        "",
        "--scenario",
        "",
        "--stop-when-reached",
        "--until-time-limit",
        "--output",
        str(out),
        *real_args,
        name="demo_real",
    )
    assert p.wait(600) == 0, p.output()[-5000:]
    s = json.loads((out / "summary.json").read_text())
    m = s.get("mission") or {}
    assert s["end_reason"] == "mission done", (s["end_reason"], m)
    assert m.get("complete") and m.get("outcome") == "complete", m
    assert s["crashed"] == [] and s["launcher_exit_code"] == 0
    log = (out / "launch.log").read_text()
    # firmata_node really talked to the emulated chip's StandardFirmata 2.4 at its 57600 baud
    assert "2.4 StandardFirmata.ino" in log and "57600 baud" in log, log[-3000:]
