"""firmata_node end to end on the real StandardFirmata 2.4 firmware running on the emulated
ATmega328P (edgebot_avr / simavr): a node process, real rclpy/DDS, real pty, the pins read
from the emulated chip's registers (a logic analyser's view)."""

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import BatteryState, JointState, Range
from std_msgs.msg import Bool, Float64

from edgebot_common import qos as Q
from edgebot_testing import diag_value, emulated_standard_firmata, wait_for

MAP = """board: uno
firmware: StandardFirmata
motors:
  - {name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8}
  - {name: right, joint: right_wheel_joint, driver: in1_in2, pwm: 6, in1: 4, in2: 12,
     reversed: true}
digital_inputs:
  - {name: bumper, pin: 2, inverted: true}        # external pull-up: pressed = low
analog_inputs:
  - {name: battery, channel: 0, type: battery, vref: 5.0, divider: 3.0}
ir_ranges:
  - {name: ir, channel: 1}
servos:
  - {name: pan, pin: 9, min_angle: -1.5708, max_angle: 1.5708, safe: 0.0}
pwm_outputs:
  - {name: lamp, pin: 3}                          # Timer2: the servo has Timer1
digital_outputs:
  - {name: led, pin: 13}
"""
WHEELS = ["left_wheel_joint", "right_wheel_joint"]


@pytest.fixture
def emu(tmp_path):
    e = emulated_standard_firmata(str(tmp_path / "ttyAVR"))
    yield e
    e.stop()


def duty(emu, pin):
    return emu.pin(pin).pwm_duty or 0.0


def test_node_on_real_standard_firmata(procs, ros, emu, tmp_path):
    pm = tmp_path / "real.yaml"
    pm.write_text(MAP)
    emu.set_digital(2, False)  # bumper held pressed from the start
    emu.set_analog(0, 2.5)  # 2.5 V * 3 = 7.5 V battery
    emu.set_analog(1, 1.30)  # IR: 1.30 V = 0.20 m on the curve
    bumper = ros.collect(Bool, "bumper", Q.RELIABLE)
    battery = ros.collect(BatteryState, "battery", Q.SENSOR_DATA)
    ir = ros.collect(Range, "ir/range", Q.SENSOR_DATA)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    node = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={
            "port": emu.link,
            "pin_map": str(pm),
            "arduino_wait": 0.5,
            "command_timeout": 0.5,
            "reconnect.max": 1.0,
        },
    )
    out = node.wait_output("pin map applied", timeout=90)
    assert "2.4 StandardFirmata.ino" in out and "57600 baud" in out

    # inputs, the one held low at start included
    wait_for(lambda: bumper and battery and ir, 30, what="bumper, battery, ir/range")
    assert all(m.data is True for m in bumper)
    assert battery[-1].voltage == pytest.approx(7.5, abs=0.05)
    assert ir[-1].range == pytest.approx(0.20, rel=0.03)
    assert ir[-1].radiation_type == Range.INFRARED
    emu.set_digital(2, True)
    wait_for(lambda: bumper[-1].data is False, 20, what="bumper released")

    # outputs: direction pins by port writes, PWM, servo, lamp, LED
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    lamp = ros.publisher(Float64, "lamp/cmd", Q.COMMANDS)
    led = ros.publisher(Bool, "led/cmd", Q.COMMANDS)
    pan = ros.publisher(Float64, "pan/cmd", Q.COMMANDS)
    for pub in (cmd, lamp, led, pan):
        ros.wait_subscribers(pub, timeout=30)

    # what the node rejects stays rejected on the real firmware: nothing moves
    def rejected():
        cmd.publish(JointState(name=WHEELS, velocity=[float("nan"), 1.0]))
        cmd.publish(JointState(name=[WHEELS[0], WHEELS[0]], velocity=[7.5, 7.5]))
        lamp.publish(Float64(data=float("inf")))
        return (
            int(diag_value(diags, "link", "rejected_non_finite") or 0) >= 3
            and int(diag_value(diags, "link", "rejected_duplicate_joint") or 0) >= 1
        )

    wait_for(rejected, 30, interval=0.05, what="bad commands rejected and counted")
    assert duty(emu, 5) == 0 and duty(emu, 6) == 0 and duty(emu, 3) == 0
    assert not emu.pin(7).level and not emu.pin(8).level
    # the servo's safe angle (0 rad = centre) is applied at connect
    wait_for(
        lambda: emu.pin(9).servo_us is not None and abs(emu.pin(9).servo_us - 1472) < 20,
        20,
        what="servo centred",
    )

    def driving():
        cmd.publish(JointState(name=WHEELS, velocity=[7.5, 7.5]))  # duty 0.5
        lamp.publish(Float64(data=0.25))
        led.publish(Bool(data=True))
        pan.publish(Float64(data=0.7854))  # +45 deg
        pins = {p: emu.pin(p) for p in (7, 8, 4, 12, 13)}
        return (
            abs(duty(emu, 5) - 128 / 255) < 0.01
            and abs(duty(emu, 6) - 128 / 255) < 0.01
            and (pins[7].level, pins[8].level) == (True, False)
            and (pins[4].level, pins[12].level) == (False, True)  # reversed mount
            and pins[13].level
            and abs(duty(emu, 3) - 64 / 255) < 0.01
            and emu.pin(9).servo_us is not None
            and abs(emu.pin(9).servo_us - (544 + 135 / 180 * 1856)) < 20
        )

    wait_for(driving, 30, interval=0.05, what="wheels, lamp, LED and servo on the chip")

    # command timeout: motors and lamp safe, the LED (no timeout) stays
    wait_for(
        lambda: duty(emu, 5) == 0 and duty(emu, 6) == 0 and duty(emu, 3) == 0,
        20,
        what="motors and lamp safe after the command timeout",
    )
    assert not emu.pin(7).level and not emu.pin(8).level and emu.pin(13).level
    wait_for(
        lambda: int(diag_value(diags, "link", "command_timeouts") or 0) >= 1,
        20,
        what="timeouts counted",
    )

    # unplug (the board loses power) and replug: reconnect, map applied again, commands work
    emu.unplug()
    node.wait_output("link lost", timeout=30)
    emu.replug()
    wait_for(lambda: node.output().count("pin map applied") >= 2, 60, what="reconnected")
    assert duty(emu, 5) == 0  # nothing moves by itself
    wait_for(
        lambda: (
            cmd.publish(JointState(name=WHEELS, velocity=[-7.5, -7.5]))
            or (abs(duty(emu, 5) - 128 / 255) < 0.01 and emu.pin(8).level and not emu.pin(7).level)
        ),
        30,
        interval=0.05,
        what="commands work again",
    )
    emu.set_digital(2, False)
    wait_for(lambda: bumper[-1].data is True, 20, what="bumper pressed after the replug")
    emu.set_analog(0, 2.0)
    wait_for(
        lambda: battery[-1].voltage == pytest.approx(6.0, abs=0.05),
        20,
        what="battery after the replug",
    )
    assert node.running()


def test_wrong_baud_on_the_real_firmware_is_a_clear_error(procs, emu, tmp_path):
    """StandardFirmata talks at 57600 baud; a node left at 115200 sees garbled bytes on the real
    chip (as on hardware) and says which port, which baud and what it expected -- not pymata4's
    bare 'Invalid Arduino ID reply length'. Nothing is driven meanwhile."""
    pin_map = tmp_path / "map.yaml"
    pin_map.write_text(MAP)
    node = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": emu.port, "pin_map": str(pin_map), "arduino_wait": 0.05, "baud": 115200},
    )
    out = node.wait_output("no Firmata answer on", timeout=60.0)
    assert "115200 baud" in out and "baud:=57600" in out
    assert duty(emu, 5) == 0.0 and duty(emu, 6) == 0.0
