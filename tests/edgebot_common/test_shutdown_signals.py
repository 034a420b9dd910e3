"""Ctrl-C under ``ros2 launch``, per node kind, in real processes.

A terminal Ctrl-C delivers SIGINT to every process of the foreground group; launch then sends
each node a second SIGINT, and SIGTERM after ``sigterm_timeout``. Each node here gets SIGINT,
a second SIGINT 50 ms later and SIGTERM 50 ms after that -- while its ``shutdown()`` runs -- and
must exit 0 without a traceback, with its safe state written: the motor pins at zero on the
virtual Arduino's record, the MCAP bag finished (summary, metadata.yaml) without a stray
``.metadata.*.yaml``, the MQTT link and the simulator's virtual devices stopped.
"""

import pathlib
import signal
import time

import cv2
import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState

from edgebot_common import qos as Q
from edgebot_testing import free_port, start_firmata_node, wait_for

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ladder(proc):
    """SIGINT, SIGINT 50 ms later, SIGTERM 50 ms after that (the spacing is the scenario)."""
    proc.signal(signal.SIGINT)
    time.sleep(0.05)
    proc.signal(signal.SIGINT)
    time.sleep(0.05)
    proc.signal(signal.SIGTERM)


def assert_clean(proc):
    code = proc.wait(60)
    out = proc.output()
    assert code == 0, out[-4000:]
    for bad in ("Traceback", "KeyboardInterrupt", "exit code -2"):
        assert bad not in out, out[-4000:]
    return out


def spinning(ros, node_name):
    """Wait until the node publishes its diagnostics: its executor is spinning."""
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    wait_for(
        lambda: any(s.name.startswith(node_name + ":") for m in list(diags) for s in m.status),
        60,
        what=f"diagnostics from {node_name}",
    )


# ----------------------------------------------------------------------------- per node kind


def _firmata(procs, ros, tmp_path):
    from edgebot_firmata.virtual_arduino import VirtualArduino

    board = VirtualArduino()
    link = str(tmp_path / "ttyVIRT0")
    board.start(link=link)
    try:
        # the longest command timeout allowed: shutdown stops the motors
        node = start_firmata_node(procs, link, command_timeout=10.0)
        node.wait_output("pin map applied", timeout=60)
        cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
        ros.wait_subscribers(cmd, timeout=60)

        def driving():
            cmd.publish(
                JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[7.5, -15.0])
            )
            return board.output(5) > 0 and board.output(6) > 0

        wait_for(driving, 30, interval=0.05, what="motor pins driven")
        ladder(node)
        assert_clean(node)
        assert (board.output(5), board.output(6)) == (0, 0), "motor PWM not at zero after shutdown"
    finally:
        board.stop()


def _recorder(procs, ros, tmp_path):
    node = procs.node(
        "edgebot_viz", "mcap_recorder", params={"output_dir": str(tmp_path), "bag_name": "bag"}
    )
    node.wait_output("recording to", timeout=60)
    spinning(ros, "mcap_recorder")
    ladder(node)
    assert_clean(node)
    bag = tmp_path / "bag"
    assert not list(bag.glob(".metadata.*")), sorted(p.name for p in bag.iterdir())
    meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    files = [bag / f["path"] for f in meta["files"]]
    assert files and all(f.is_file() for f in files)
    from mcap.reader import make_reader

    for f in files:
        with open(f, "rb") as fh:
            assert make_reader(fh).get_summary() is not None, f"{f.name}: no MCAP summary"


def _sim(procs, ros, tmp_path):
    node = procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "arduino.enabled": True,
            "imu.enabled": True,
            "camera.enabled": False,
            "scenario": "near_cone",
            "seed": 3,
        },
    )
    spinning(ros, "sim_node")
    ladder(node)
    assert_clean(node)


def _mqtt(procs, ros, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "robot_id": "r1",
                "broker": {"host": "127.0.0.1", "port": free_port()},
                "spool": {"path": str(tmp_path / "spool.db")},
                "telemetry": [
                    {
                        "ros_topic": "imu/data",
                        "type": "sensor_msgs/msg/Imu",
                        "mqtt_topic": "edgebot/{robot_id}/imu",
                    }
                ],
            }
        )
    )
    node = procs.node(
        "edgebot_mqtt", "mqtt_bridge", params={"config": str(mapping), "broker.embedded": True}
    )
    node.wait_output("embedded MQTT broker on", timeout=60)
    spinning(ros, "mqtt_bridge")
    ladder(node)
    assert_clean(node)


def _camera(procs, ros, tmp_path):
    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20, (160, 120))
    for i in range(20):
        w.write(np.full((120, 160, 3), i * 10, np.uint8))
    w.release()
    node = procs.node("edgebot_camera", "camera_node", params={"source": str(video)})
    spinning(ros, "camera_node")
    ladder(node)
    assert_clean(node)


def _imu(procs, ros, tmp_path):
    from edgebot_imu.virtual_imu import VirtualImuServer

    with VirtualImuServer(chip="mpu6050", seed=1, noise=False) as srv:
        node = procs.node(
            "edgebot_imu",
            "imu_node",
            params={"bus": srv.start(), "calibration.file": str(tmp_path / "cal.yaml")},
        )
        spinning(ros, "imu_node")
        ladder(node)
        assert_clean(node)


def _plain(pkg, exe, **params):
    def run(procs, ros, tmp_path):
        p = {k: (free_port() if v is free_port else v) for k, v in params.items()}
        node = procs.node(pkg, exe, params=p)
        spinning(ros, exe)
        ladder(node)
        assert_clean(node)

    return run


KINDS = {
    "firmata_node": _firmata,
    "mcap_recorder": _recorder,
    "sim_node": _sim,
    "mqtt_bridge": _mqtt,
    "camera_node": _camera,
    "imu_node": _imu,
    "yolo_node": _plain("edgebot_perception", "yolo_node", backend="onnxruntime"),
    "base_controller": _plain("edgebot_control", "base_controller"),
    "safety_monitor": _plain("edgebot_control", "safety_monitor"),
    "target_follower": _plain("edgebot_control", "target_follower"),
    "foxglove_bridge": _plain(
        "edgebot_viz", "foxglove_bridge", port=free_port, address="127.0.0.1"
    ),
    # no device answers: the bridge spins offline with reconnect backoff
    "modbus_bridge": _plain(
        "edgebot_modbus", "modbus_bridge", map=str(ROOT / "config" / "modbus.yaml")
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_ctrl_c_under_launch_is_a_clean_exit_with_the_safe_state_written(
    kind, procs, ros, tmp_path
):
    KINDS[kind](procs, ros, tmp_path)
