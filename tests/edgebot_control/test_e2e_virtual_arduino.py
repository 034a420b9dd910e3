"""End to end on the virtual Arduino: teleop/cmd_vel -> safety_monitor -> base_controller ->
wheel_cmd -> firmata_node -> Firmata on a pty -> motor pins of the virtual board; its sonar
drives the obstacle stop and is the Firmata heartbeat (config/control.yaml)."""

import pytest
from geometry_msgs.msg import Twist
from std_srvs.srv import SetBool

from control_helpers import Streamer, twist
from edgebot_common import qos
from edgebot_control import kinematics as K
from edgebot_testing import start_firmata_node, wait_for

# config/firmata.yaml: left motor PWM 5 / IN 7, 8; right PWM 6 / IN 4, 3 (mounted reversed);
# max_wheel_speed 15 rad/s at duty 1; sonar trigger pin 12
LEFT_PWM, RIGHT_PWM, MAX_WHEEL = 5, 6, 15.0


@pytest.fixture
def board(virtual_boards):
    return virtual_boards(board="uno", firmware="FirmataExpress")


def duty_pwm(wheel_speed):
    return abs(wheel_speed) / MAX_WHEEL * 255


def test_cmd_vel_to_motor_pins(procs, ros, board):
    b, link = board
    b.set_sonar_distance(12, 2.0)
    fw = start_firmata_node(procs, link)
    fw.wait_output("pin map applied", timeout=60)
    launch = procs.start(
        ["edgebot", "launch", "edgebot_bringup", "control.launch.yaml", "follower:=false"],
        name="control-launch",
    )
    launch.wait_output("2 process(es) running", timeout=60)
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(teleop, timeout=60)
    assert b.output(LEFT_PWM) == 0 and b.output(RIGHT_PWM) == 0

    # forward 0.2 m/s: both wheels 6.06 rad/s -> duty 0.404 -> PWM ~103
    wl, wr = K.twist_to_wheels(0.2, 0.0, 0.033, 0.16)
    t = Streamer(ros, teleop, twist(0.2, 0.0))
    wait_for(
        lambda: (
            abs(b.output(LEFT_PWM) - duty_pwm(wl)) <= 1
            and abs(b.output(RIGHT_PWM) - duty_pwm(wr)) <= 1
        ),
        60,
        what="forward PWM on pins 5, 6",
    )
    assert (b.output(7), b.output(8)) == (1, 0)  # left forward
    assert (b.output(4), b.output(3)) == (0, 1)  # right: mounted reversed
    # spin left: left wheel backwards, right forwards
    t.msg = twist(0.0, 1.0)
    wl, wr = K.twist_to_wheels(0.0, 1.0, 0.033, 0.16)
    wait_for(
        lambda: (
            abs(b.output(LEFT_PWM) - duty_pwm(wl)) <= 1
            and abs(b.output(RIGHT_PWM) - duty_pwm(wr)) <= 1
            and (b.output(7), b.output(8)) == (0, 1)  # left motor backwards
            and (b.output(4), b.output(3)) == (0, 1)
        ),  # right forwards (reversed mount)
        60,
        what="spin: left wheel backwards, right wheel forwards",
    )

    # the virtual board's sonar sees an obstacle at 10 cm: forward stops, turning still works
    t.msg = twist(0.2, 0.0)
    wait_for(lambda: b.output(LEFT_PWM) > 50, 60, what="forward again")
    b.set_sonar_distance(12, 0.10)
    wait_for(
        lambda: b.output(LEFT_PWM) == 0 and b.output(RIGHT_PWM) == 0,
        60,
        what="obstacle stop on the motor pins",
    )
    t.msg = twist(0.0, 1.0)
    wait_for(
        lambda: abs(b.output(LEFT_PWM) - duty_pwm(wl)) <= 1,
        60,
        what="turning allowed at the obstacle (PWM ~41)",
    )
    b.set_sonar_distance(12, 2.0)

    # e-stop: zero on the pins while teleop keeps sending
    t.msg = twist(0.2, 0.0)
    wait_for(
        lambda: (b.output(7), b.output(8)) == (1, 0) and b.output(LEFT_PWM) > 50,
        60,
        what="forward after the obstacle cleared",
    )
    assert ros.call(SetBool, "estop", SetBool.Request(data=True), timeout=30).success
    wait_for(
        lambda: b.output(LEFT_PWM) == 0 and b.output(RIGHT_PWM) == 0,
        60,
        what="e-stop stop on the motor pins",
    )
    ros.call(SetBool, "estop", SetBool.Request(data=False), timeout=30)
    wait_for(lambda: b.output(LEFT_PWM) > 50, 60, what="released")

    # teleop stops: source timeout, then zero on the pins
    t.stop()
    wait_for(
        lambda: b.output(LEFT_PWM) == 0 and b.output(RIGHT_PWM) == 0,
        60,
        what="stop after teleop went silent",
    )
    # the control nodes die while teleop drives: firmata_node's command timeout stops the motors
    t = Streamer(ros, teleop, twist(0.2, 0.0))
    wait_for(lambda: b.output(LEFT_PWM) > 50, 60, what="driving again")
    launch.stop(timeout=20)
    wait_for(
        lambda: b.output(LEFT_PWM) == 0 and b.output(RIGHT_PWM) == 0,
        60,
        what="motors stopped after the control nodes ended",
    )
    t.stop()
