"""firmata_node (a process, real rclpy/DDS) against the model answering as StandardFirmata 2.4
and FirmataExpress: outputs by port writes, inputs held low at start, features the firmware
lacks refused at connect, duplicate joints rejected."""

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64

from edgebot_common import qos as Q
from edgebot_firmata.virtual_arduino import VirtualArduino
from edgebot_testing import DEMO_PIN_MAP as DEMO_MAP
from edgebot_testing import diag_value, wait_for
from edgebot_testing import start_firmata_node as node

STD_MAP = """board: uno
firmware: StandardFirmata
motors:
  - {name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8}
  - {name: right, joint: right_wheel_joint, driver: in1_in2, pwm: 6, in1: 4, in2: 12}
digital_inputs:
  - {name: bumper, pin: 2, inverted: true}       # external pull-up; pressed = low
  - {name: door, pin: 3}
digital_outputs:
  - {name: led, pin: 13}
"""


@pytest.fixture
def board(virtual_boards):
    return virtual_boards


def test_standard_firmata_2_4_outputs_and_inputs_held_low(procs, ros, board, tmp_path):
    b, link = board(firmware="StandardFirmata")
    b.set_digital_input(2, False)  # the bumper is pressed before the node starts
    b.set_digital_input(3, False)  # and the door input reads 0
    pm = tmp_path / "std.yaml"
    pm.write_text(STD_MAP)
    bumper = ros.collect(Bool, "bumper", Q.RELIABLE)
    door = ros.collect(Bool, "door", Q.RELIABLE)
    n = node(procs, link, str(pm), command_timeout=5.0)
    out = n.wait_output("pin map applied", timeout=60)
    assert "2.4 StandardFirmata.ino" in out
    wait_for(lambda: bumper and door, 30, what="both inputs published at start")
    assert bumper[-1].data is True and door[-1].data is False
    k = len(bumper)
    wait_for(lambda: len(bumper) >= k + 3, 20, what="published again at publish_rate")
    assert all(m.data is True for m in bumper)
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    led = ros.publisher(Bool, "led/cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    ros.wait_subscribers(led, timeout=30)
    names = ["left_wheel_joint", "right_wheel_joint"]
    # direction pins (7, 8, 4, 12) and the LED (13) on ports 0 and 1: port writes, each
    # keeping the port's other output bits
    wait_for(
        lambda: (
            cmd.publish(JointState(name=names, velocity=[7.5, -7.5]))
            or led.publish(Bool(data=True))
            or (b.output(7), b.output(8), b.output(4), b.output(12), b.output(13))
            == (1, 0, 0, 1, 1)
        ),
        20,
        interval=0.05,
        what="direction pins and LED on 2.4",
    )
    assert b.output(5) == 128 and b.output(6) == 128
    wait_for(
        lambda: (
            cmd.publish(JointState(name=names, velocity=[-7.5, 7.5]))
            or (b.output(7), b.output(8), b.output(4), b.output(12)) == (0, 1, 1, 0)
        ),
        20,
        interval=0.05,
        what="reversed",
    )
    assert b.output(13) == 1  # untouched by the motor's port writes
    b.set_digital_input(2, True)
    wait_for(lambda: bumper[-1].data is False, 20, what="bumper released")
    assert n.running()


def test_firmata_express_bumper_pressed_at_start(procs, ros, board):
    b, link = board()
    b.set_digital_input(2, False)  # pressed (pull-up, inverted)
    bumper = ros.collect(Bool, "bumper", Q.RELIABLE)
    n = node(procs, link, DEMO_MAP, command_timeout=5.0)
    n.wait_output("pin map applied", timeout=60)
    wait_for(lambda: bumper, 30, what="bumper at start")
    assert all(m.data is True for m in bumper)


def test_pullup_on_standard_firmata_2_4_stops_naming_pin_and_firmware(procs, board, tmp_path):
    _, link = board(firmware="StandardFirmata")
    pm = tmp_path / "pullup.yaml"
    pm.write_text(
        "board: uno\nfirmware: StandardFirmata\n"
        "digital_inputs: [{name: bumper, pin: 2, pullup: true}]\n"
    )
    n = node(procs, link, str(pm))
    assert n.wait(timeout=60) == 2
    out = n.output()
    assert "pin 2 (digital input 'bumper'): the internal pull-up needs Firmata 2.5" in out
    assert "2.4 StandardFirmata.ino" in out, out


def test_wheel_cmd_with_duplicate_joints_rejected_and_counted(procs, ros, board):
    b, link = board()
    n = node(procs, link, DEMO_MAP, command_timeout=5.0)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    n.wait_output("pin map applied", timeout=60)
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    moved = []
    b.add_output_listener(lambda pin, mode, v: moved.append(pin) if pin in (5, 6) else None)
    dup = JointState(name=["left_wheel_joint", "left_wheel_joint"], velocity=[15.0, -15.0])
    wait_for(
        lambda: (
            cmd.publish(dup) or int(diag_value(diags, "link", "rejected_duplicate_joint") or 0) >= 1
        ),
        30,
        interval=0.05,
        what="duplicate joints counted",
    )
    assert moved == [] and b.output(5) == 0 and n.running()


def test_tone_output_on_firmata_express(procs, ros, board, tmp_path):
    b, link = board()
    pm = tmp_path / "tone.yaml"
    pm.write_text("board: uno\ntones: [{name: buzzer, pin: 8}]\n")
    n = node(procs, link, str(pm))
    n.wait_output("pin map applied", timeout=60)
    assert b.pin_mode(8) == "TONE" and b.output(8) == 0
    cmd = ros.publisher(Float64, "buzzer/cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    wait_for(
        lambda: cmd.publish(Float64(data=440.0)) or b.output(8) == 440,
        20,
        interval=0.05,
        what="440 Hz",
    )
    wait_for(
        lambda: cmd.publish(Float64(data=0.0)) or b.output(8) == 0, 20, interval=0.05, what="silent"
    )
    n.stop()
    assert n.popen.returncode == 0


def test_board_plugged_in_after_the_node_started(procs, tmp_path):
    """No board at start (a warning), failed attempts (errors), then the board appears: the
    link thread survives logging at several severities and connects (rclpy refuses one call
    site logging at changing severities; that once killed the link thread)."""
    link = str(tmp_path / "ttyLATE")
    n = node(procs, link, DEMO_MAP, **{"reconnect.max": 0.5})
    n.wait_output("board not reachable", timeout=60)
    n.wait_output("connecting failed", timeout=30)
    b = VirtualArduino()
    try:
        b.start(link=link)
        n.wait_output("pin map applied", timeout=60)
        wait_for(lambda: b.pin_mode(5) == "PWM", 20, what="pin map on the late board")
        assert n.running() and "Traceback" not in n.output()
    finally:
        b.stop()
