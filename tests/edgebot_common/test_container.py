"""edgebot_common.container in real processes: several nodes in one process keep their names,
namespace, parameters and remaps; a node that raises is reported on /diagnostics and in the
exit status; a node's configuration error is one line and status 2; SIGINT runs every node's
shutdown() once and exits 0."""

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from std_msgs.msg import String

from edgebot_testing import ros_executable, wait_for


def start_container(procs, tmp_path, params, *ros_args, name="box"):
    f = tmp_path / f"{name}.yaml"
    f.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
    cmd = [ros_executable("edgebot_common", "container"), "--ros-args", "-r", f"__node:={name}"]
    return procs.start([*cmd, *ros_args, "--params-file", str(f)], name=name)


@pytest.mark.parametrize("executor", ["single", "multi", "events"])
def test_nodes_keep_their_names_namespace_parameters_and_remaps(procs, ros, tmp_path, executor):
    heard = ros.collect(String, "/r1/heard")
    talk = ros.collect(String, "/r1/talk")
    p = start_container(
        procs,
        tmp_path,
        {
            "nodes": ["edgebot_common/talker", "edgebot_common/listener:l2"],
            "talker": {"message": "composed", "rate": 20.0},
            "remaps": {"talker": ["chatter:=talk"], "l2": ["chatter:=talk"]},
            "l2": {"exit_after": 0},
            "executor": executor,
        },
        "-r",
        "__ns:=/r1",
    )
    wait_for(lambda: any("/r1 l2 heard: composed" in m.data for m in heard), 60, what="heard")
    # the listener in the process hears the talker before this outside subscriber may have
    # matched it (discovery is per participant): wait for the talk, do not assume it came
    wait_for(lambda: talk, 30, what="the talker's messages on /r1/talk")
    assert all(m.data.startswith("composed ") for m in talk)
    names = wait_for(
        lambda: {"talker", "l2", "box"} <= set(ros.node.get_node_names()) and ros.node,
        30,
        what="node names",
    ).get_node_names_and_namespaces()
    assert {("talker", "/r1"), ("l2", "/r1"), ("box", "/r1")} <= set(names)
    assert p.running()
    assert p.stop() == 0, p.output()[-3000:]


def test_a_node_that_raises_is_reported_and_the_exit_status_says_so(procs, ros, tmp_path):
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    heard = ros.collect(String, "heard")
    p = start_container(
        procs,
        tmp_path,
        {
            "nodes": [
                "edgebot_common/talker",
                "edgebot_common/listener",
                "edgebot_common/listener:l2",
            ],
            "l2": {"raise_after": 3},
            "on_node_failure": "continue",
        },
    )

    def error_status():
        for m in diags:
            for s in m.status:
                if s.name == "box: l2" and s.level == b"\x02":
                    return s
        return None

    s = wait_for(error_status, 60, what="ERROR status for l2")
    assert "RuntimeError: raise_after 3 reached" in {v.key: v.value for v in s.values}["error"]
    assert "node 'l2' raised in a callback and is stopped" in p.output()
    # the others go on: the listener still hears the talker after l2 is gone
    n = len([m for m in heard if m.data.startswith("/ listener")])
    wait_for(lambda: len([m for m in heard if m.data.startswith("/ listener")]) > n + 3, 30)
    assert p.running()
    assert p.stop() == 1, p.output()[-3000:]

    # on_node_failure: shutdown (the default) ends the process at once, status 1
    q = start_container(
        procs,
        tmp_path,
        {
            "nodes": ["edgebot_common/talker", "edgebot_common/listener"],
            "listener": {"raise_after": 2},
        },
        name="box2",
    )
    assert q.wait(60) == 1, q.output()[-3000:]
    assert "stopping the container (on_node_failure: shutdown)" in q.output()


def test_a_node_left_out_on_failure_continue_does_not_stop_the_others(procs, ros, tmp_path):
    """on_failure.<name>: continue -- a node that cannot start (a recorder that cannot write) is
    reported and left out; the others run; the exit status still says so (2)."""
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    heard = ros.collect(String, "heard")
    p = start_container(
        procs,
        tmp_path,
        {
            "nodes": ["edgebot_common/talker", "edgebot_common/listener"],
            "talker": {"rate": -1.0},
            "on_failure": {"talker": "continue"},
            "remaps": {"listener": ["chatter:=probe"]},
        },
    )
    pub = ros.publisher(String, "probe")

    def heard_probe():
        pub.publish(String(data="probe"))
        return any("heard: probe" in m.data for m in heard)

    wait_for(heard_probe, 60, what="the listener running without the talker")
    assert "[talker] configuration error: parameter 'rate' = -1.0" in p.output()
    wait_for(
        lambda: any(
            s.name == "box: talker" and s.level == b"\x02" for m in diags for s in m.status
        ),
        30,
        what="ERROR status for the talker",
    )
    assert p.stop() == 2, p.output()[-3000:]


def test_configuration_errors_are_one_line_and_status_2(procs, tmp_path):
    p = start_container(
        procs, tmp_path, {"nodes": ["edgebot_common/talker"], "talker": {"rate": -1.0}}
    )
    assert p.wait(60) == 2
    assert "[talker] configuration error: parameter 'rate' = -1.0" in p.output()
    q = start_container(procs, tmp_path, {"nodes": ["edgebot_common/nope"]}, name="box2")
    assert q.wait(60) == 2
    assert "package 'edgebot_common' has no console script 'nope'" in q.output()


def test_ctrl_c_under_launch_writes_every_nodes_safe_state(procs, ros, tmp_path):
    """SIGINT, a second SIGINT and SIGTERM (ros2 launch after a terminal Ctrl-C) while the
    composed nodes shut down: exit 0, no traceback, firmata_node's motor pins at zero on the
    virtual Arduino and the recorder's bag finished -- every node's shutdown() ran to its end."""
    import signal
    import time

    from sensor_msgs.msg import JointState

    from edgebot_common import qos as Q
    from edgebot_firmata.virtual_arduino import VirtualArduino
    from edgebot_testing import DEMO_PIN_MAP

    board = VirtualArduino()
    link = str(tmp_path / "ttyVIRT0")
    board.start(link=link)
    try:
        p = start_container(
            procs,
            tmp_path,
            {
                "nodes": ["edgebot_firmata/firmata_node", "edgebot_viz/mcap_recorder"],
                "firmata_node": {
                    "port": link,
                    "pin_map": DEMO_PIN_MAP,
                    "arduino_wait": 0.5,
                    "command_timeout": 10.0,  # the longest allowed: shutdown stops the motors
                },
                "mcap_recorder": {"output_dir": str(tmp_path), "bag_name": "bag"},
            },
        )
        p.wait_output("pin map applied", timeout=60)
        p.wait_output("recording to", timeout=60)
        cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
        ros.wait_subscribers(cmd, timeout=60)

        def driving():
            cmd.publish(
                JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[7.5, -15.0])
            )
            return board.output(5) > 0 and board.output(6) > 0

        wait_for(driving, 30, interval=0.05, what="motor pins driven")
        for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
            p.signal(sig)
            time.sleep(0.05)  # the spacing of launch's signals is the scenario
        assert p.wait(60) == 0, p.output()[-4000:]
        for bad in ("Traceback", "KeyboardInterrupt"):
            assert bad not in p.output(), p.output()[-4000:]
        assert (board.output(5), board.output(6)) == (0, 0), "motor PWM not at zero"
        bag = tmp_path / "bag"
        meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        assert meta["files"] and not list(bag.glob(".metadata.*"))
    finally:
        board.stop()
