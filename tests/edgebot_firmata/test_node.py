"""firmata_node as a process (real rclpy/DDS) against the virtual Arduino on a real pty."""

import math
import pathlib
import signal
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import BatteryState, JointState, Range
from std_msgs.msg import Bool, Float32, Float64

from edgebot_common import qos as Q
from edgebot_testing import DEMO_PIN_MAP as DEMO_MAP
from edgebot_testing import SLACK, wait_for
from edgebot_testing import start_firmata_node as start_node

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEELS = ["left_wheel_joint", "right_wheel_joint"]


@pytest.fixture
def board(virtual_boards):
    return virtual_boards


def wheel_cmd(left, right, names=WHEELS):
    return JointState(name=list(names), velocity=[float(left), float(right)])


def drive_until(ros, b, speed, pwm, what):
    """Stream wheel_cmd (both wheels at ``speed``) until pin 5 shows ``pwm``; the publisher."""
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    wait_for(
        lambda: cmd.publish(wheel_cmd(speed, speed)) or b.output(5) == pwm,
        20,
        interval=0.1,
        what=what,
    )
    return cmd


def diag_status(msgs, suffix):
    for m in reversed(msgs):
        for s in m.status:
            if s.name.endswith(suffix):
                return s
    return None


def diag_value(status, key):
    for kv in status.values:
        if kv.key == key:
            return kv.value
    return None


def connected(proc):
    return proc.wait_output("pin map applied", timeout=60)


def test_pin_map_to_topics_in_both_directions(procs, ros, board):
    b, link = board()
    b.set_analog_input(0, 600)  # 600/1023 * 5 V * 3 = 8.80 V
    b.set_sonar_distance(12, 0.85)
    node = start_node(procs, link)
    ranges = ros.collect(Range, "sonar/range", Q.SENSOR_DATA)
    battery = ros.collect(BatteryState, "battery", Q.SENSOR_DATA)
    bumper = ros.collect(Bool, "bumper", Q.RELIABLE)
    connected(node)

    wait_for(lambda: ranges, 30, what="sonar/range")
    wait_for(lambda: any(abs(r.range - 0.85) < 1e-6 for r in ranges), 20, what="0.85 m")
    r = ranges[-1]
    assert r.header.frame_id == "sonar_link" and r.radiation_type == Range.ULTRASOUND
    assert (r.min_range, r.max_range) == pytest.approx((0.02, 4.0))
    b.set_sonar_distance(12, None)  # no echo -> +inf (REP 117)
    wait_for(lambda: math.isinf(ranges[-1].range) and ranges[-1].range > 0, 20, what="+inf")

    wait_for(lambda: battery, 20, what="battery")
    assert battery[-1].voltage == pytest.approx(600 / 1023 * 15.0, abs=1e-3)
    assert battery[-1].percentage == pytest.approx(1.0) and battery[-1].present

    wait_for(lambda: bumper, 20, what="bumper")
    assert bumper[-1].data is False  # pull-up high = not pressed (inverted)
    b.set_digital_input(2, False)
    wait_for(lambda: bumper[-1].data is True, 20, what="bumper pressed")

    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    lamp = ros.publisher(Float64, "lamp/cmd", Q.COMMANDS)
    led = ros.publisher(Bool, "led/cmd", Q.COMMANDS)
    pan = ros.publisher(Float64, "pan/cmd", Q.COMMANDS)
    for pub in (cmd, lamp, led, pan):
        ros.wait_subscribers(pub, timeout=30)

    # The default command_timeout is 0.25 s: motors and the lamp go back to safe values soon
    # after the last command, so every command is streamed while its effect is checked, and
    # the pins are read together in the same poll (a stalled test would otherwise see them
    # already reset by the timeout). Streaming also covers the node's subscriptions matching
    # our publishers later than ours matched theirs.
    pins = {}

    def drive():
        cmd.publish(wheel_cmd(7.5, -15.0))  # rad/s; max_wheel_speed 15 -> duty 0.5, -1
        pins.update({p: b.output(p) for p in (5, 6, 7, 8, 4, 3)})
        return pins[5] == 128 and pins[6] == 255

    wait_for(drive, 20, interval=0.05, what="motor pins")
    assert (pins[7], pins[8]) == (1, 0)  # left forward
    assert (pins[4], pins[3]) == (1, 0)  # right reversed mount, backwards

    def lamp_and_led():
        lamp.publish(Float64(data=0.5))
        led.publish(Bool(data=True))
        pan.publish(Float64(data=0.5))
        return b.output(11) == 128 and b.output(13) == 1

    wait_for(lamp_and_led, 20, interval=0.05, what="lamp and led")
    wait_for(
        lambda: (
            pan.publish(Float64(data=0.5)) or b.output(9) == round((0.5 + 1.5708) / 3.1416 * 180)
        ),
        20,
        interval=0.05,
        what="servo",
    )
    node.stop()
    assert node.popen.returncode == 0
    # shutdown: safe outputs and a board reset, no keep-alive expiry needed
    wait_for(lambda: b.output(5) == 0 and b.output(11) == 0, 10, what="safe on shutdown")
    assert not b.keepalive_expired


def test_command_timeout_makes_outputs_safe(procs, ros, board):
    b, link = board()
    timeout = 1.0
    node = start_node(procs, link, command_timeout=timeout)
    pin5 = []  # (board time, value) of every change of pin 5
    b.add_output_listener(
        lambda pin, mode, v: pin5.append((time.monotonic(), v)) if pin == 5 else None
    )
    connected(node)
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    lamp = ros.publisher(Float64, "lamp/cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    ros.wait_subscribers(lamp, timeout=30)
    deadline = time.monotonic() + 30 * SLACK
    while b.output(5) != 64 and time.monotonic() < deadline:
        cmd.publish(wheel_cmd(3.75, 3.75))
        lamp.publish(Float64(data=1.0))
        time.sleep(0.05)
    assert b.output(5) == 64 and b.output(6) == 64
    # The last command is a different duty (68), published once (the link is matched by now:
    # commands arrive), so the moment the node acted on it shows on the board. The timeout is
    # measured from there - from when the node got its last command, as the node promises -
    # not from our publish(), which adds DDS delivery time to the measurement on a loaded
    # machine. In-order delivery: when 68 shows, no older command is still to come.
    cmd.publish(wheel_cmd(4.0, 4.0))
    wait_for(lambda: any(v == 68 for _, v in pin5), 10, what="the last command on the board")
    wait_for(lambda: b.output(5) == 0 and b.output(6) == 0, 10, what="motors stopped")
    wait_for(lambda: b.output(11) == 0, 10, what="lamp off")
    last = max(t for t, v in pin5 if v == 68)
    safe_at = [t for t, v in pin5 if v == 0 and t > last]
    # the bound: safe within 1.5x command_timeout of the last command
    assert safe_at and safe_at[0] - last <= 1.5 * timeout, (safe_at[:1], last)
    assert node.running()


def test_bad_commands_are_rejected_counted_and_never_forwarded(procs, ros, board):
    b, link = board()
    node = start_node(procs, link, command_timeout=5.0)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    connected(node)
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    pan = ros.publisher(Float64, "pan/cmd", Q.COMMANDS)
    lamp = ros.publisher(Float64, "lamp/cmd", Q.COMMANDS)
    for pub in (cmd, pan, lamp):
        ros.wait_subscribers(pub, timeout=30)
    moved = []
    b.add_output_listener(lambda pin, mode, v: moved.append((pin, v)) if pin in (5, 6) else None)

    # streamed until counted: wait_subscribers proves only that our publishers matched the
    # node's subscriptions, not that the node already accepts what we send
    def rejected():
        cmd.publish(wheel_cmd(float("nan"), 1.0))
        cmd.publish(wheel_cmd(float("inf"), float("-inf")))
        cmd.publish(JointState(name=WHEELS, velocity=[1.0]))  # lengths differ
        cmd.publish(wheel_cmd(1.0, 1.0, names=["front_wheel", "back_wheel"]))
        pan.publish(Float64(data=float("nan")))
        lamp.publish(Float64(data=float("inf")))
        s = diag_status(diags, "link")
        return (
            s is not None
            and int(diag_value(s, "rejected_non_finite") or 0) >= 10
            and int(diag_value(s, "rejected_malformed_wheel_cmd") or 0) >= 1
            and int(diag_value(s, "rejected_unknown_joint") or 0) >= 1
        )

    wait_for(rejected, 30, interval=0.05, what="rejections in diagnostics")
    assert moved == [] and b.output(5) == 0 and b.output(9) == 90
    # out of range: clamped, never forwarded as is
    wait_for(
        lambda: (
            cmd.publish(wheel_cmd(1e6, -1e6))
            or lamp.publish(Float64(data=7.0))
            or (b.output(5) == 255 and b.output(6) == 255 and b.output(11) == 255)
        ),
        20,
        interval=0.05,
        what="clamped to full duty",
    )
    wait_for(
        lambda: int(diag_value(diag_status(diags, "link"), "rejected_out_of_range") or 0) >= 3,
        20,
        what="out of range counted",
    )
    assert node.running()


def test_host_killed_board_keepalive_stops_outputs(procs, ros, board):
    b, link = board()
    node = start_node(procs, link, command_timeout=10.0, keep_alive=1)
    connected(node)
    drive_until(ros, b, 15.0, 255, "driving")
    assert b.keepalive_period == 1
    node.signal(signal.SIGKILL)
    wait_for(lambda: b.keepalive_expired, 20, what="keep-alive expiry on the board")
    assert b.output(5) == 0 and b.output(6) == 0 and b.pin_mode(5) == "OUTPUT"


def test_unplug_then_replug_reconnects_and_reapplies(procs, ros, board):
    b, link = board()
    node = start_node(procs, link, command_timeout=10.0, **{"reconnect.max": 1.0})
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    connected(node)
    cmd = drive_until(ros, b, 15.0, 255, "driving")
    b.unplug()
    node.wait_output("link lost", timeout=20)
    wait_for(
        lambda: (
            (s := diag_status(diags, "connection")) is not None
            and s.message.startswith("disconnected")
        ),
        20,
        what="diagnostics: disconnected",
    )
    wait_for(lambda: b.keepalive_expired and b.output(5) == 0, 20, what="board safe")
    time.sleep(1.5)  # a few failed attempts with backoff, no crash
    assert node.running()
    b.replug()
    wait_for(lambda: node.output().count("pin map applied") >= 2, 30, what="reconnected")
    wait_for(
        lambda: b.pin_mode(5) == "PWM" and b.pin_mode(12) == "SONAR", 20, what="pin map re-applied"
    )
    assert b.output(5) == 0  # nothing moves by itself
    wait_for(
        lambda: cmd.publish(wheel_cmd(7.5, 7.5)) or b.output(5) == 128,
        20,
        interval=0.1,
        what="commands work again",
    )
    wait_for(
        lambda: (
            (s := diag_status(diags, "connection")) is not None
            and s.message == "connected"
            and int(diag_value(s, "reconnects")) >= 1
        ),
        20,
        what="diagnostics: connected, reconnects counted",
    )


def test_link_removed_and_recreated_reconnects(procs, ros, board, tmp_path):
    """The simulator's way to 'unplug': the device path vanishes, then comes back."""
    b, link = board()
    node = start_node(procs, link, command_timeout=10.0, **{"reconnect.max": 1.0})
    connected(node)
    target = pathlib.Path(b.path)
    assert pathlib.Path(link).is_symlink() and pathlib.Path(link).resolve() == target
    pathlib.Path(link).unlink()
    node.wait_output("vanished", timeout=20)
    pathlib.Path(link).symlink_to(target)
    wait_for(lambda: node.output().count("pin map applied") >= 2, 30, what="reconnected")
    wait_for(lambda: b.pin_mode(6) == "PWM", 20, what="re-applied")
    assert node.running()


def test_garbage_on_the_line_is_counted_not_fatal(procs, ros, board):
    b, link = board()
    b.set_analog_input(0, 300)
    node = start_node(procs, link, command_timeout=10.0)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    battery = ros.collect(BatteryState, "battery", Q.SENSOR_DATA)
    connected(node)
    for _ in range(20):
        b.inject(bytes([0x85, 0x01, 0xF0, 0x63, 12, 0xE0, 0xF0, 0x11, 0x22, 0xF7, 0xF7, 0x7F]))
        time.sleep(0.01)
    wait_for(
        lambda: (
            (s := diag_status(diags, "link")) is not None
            and int(diag_value(s, "serial_errors")) >= 40
        ),
        30,
        what="serial errors counted",
    )
    assert diag_status(diags, "link").level == b"\x01"  # WARN
    b.set_analog_input(0, 900)
    wait_for(
        lambda: battery and battery[-1].voltage == pytest.approx(900 / 1023 * 15, abs=1e-3),
        30,
        what="inputs still flow",
    )
    drive_until(ros, b, 7.5, 128, "commands still work")
    assert node.running()


def test_standard_firmata_board(procs, ros, board, tmp_path):
    b, link = board(firmware="StandardFirmata")
    pm = tmp_path / "std.yaml"
    pm.write_text(
        "board: uno\nfirmware: StandardFirmata\nmotors:\n"
        "  - {name: left, joint: left_wheel_joint, driver: dir, pwm: 5, dir: 7}\n"
        "digital_inputs:\n  - {name: button, pin: 2}\n"
        "analog_inputs:\n  - {name: light, channel: 1, scale: 0.01, offset: -1.0}\n"
    )
    node = start_node(procs, link, pin_map=str(pm), wheel_cmd_mode="duty")
    button = ros.collect(Bool, "button", Q.RELIABLE)
    light = ros.collect(Float32, "light", Q.SENSOR_DATA)
    b.set_analog_input(1, 250)
    out = connected(node)
    assert "StandardFirmata" in out and "57600 baud" in out
    cmd = ros.publisher(JointState, "wheel_cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    wait_for(
        lambda: (
            cmd.publish(JointState(name=["left_wheel_joint"], velocity=[-0.5]))
            or (b.output(5) == 128 and b.output(7) == 0 and b.pin_mode(7) == "OUTPUT")
        ),
        20,
        interval=0.1,
        what="dir + pwm motor, duty mode",
    )
    wait_for(
        lambda: (
            cmd.publish(JointState(name=["left_wheel_joint"], velocity=[1.0]))
            or (b.output(5) == 255 and b.output(7) == 1)
        ),
        20,
        interval=0.1,
        what="forward",
    )
    b.set_digital_input(2, True)
    wait_for(lambda: button and button[-1].data is True, 20, what="button")
    wait_for(
        lambda: light and light[-1].data == pytest.approx(1.5),
        20,
        what="linear calibration: 250 * 0.01 - 1.0",
    )
    assert b.keepalive_period == 0  # no keep-alive on StandardFirmata


@pytest.mark.parametrize(
    "extra,pin_map_text,needle",
    [
        (
            {},
            "board: uno\npwm_outputs:\n  - {name: lamp, pin: 4}\n",
            "pin 4 (PWM output 'lamp'): PWM is not supported",
        ),
        (
            {"firmware": "StandardFirmata"},
            None,
            "pin 12 (sonar 'sonar'): HC-SR04 sonar needs FirmataExpress",
        ),
        (
            {},
            "board: uno\nservos:\n  - {name: pan, pin: 9}\n  - {name: tilt, pin: 9}\n",
            "pin 9 is used twice",
        ),
        ({"command_timeout": -1.0}, None, "parameter 'command_timeout' = -1.0"),
        ({}, "board: uno\nmotors: 3\n", "motors: must be a list"),
        (
            {"wheel_states_rate_hz": 20.0},
            None,
            "parameter 'wheel_states_rate_hz' = 20.0: renamed to 'wheel_states_rate'",
        ),
    ],
)
def test_invalid_configuration_stops_with_one_line(
    procs, board, tmp_path, extra, pin_map_text, needle
):
    _, link = board()
    path = DEMO_MAP
    if pin_map_text:
        path = str(tmp_path / "map.yaml")
        pathlib.Path(path).write_text(pin_map_text)
    node = start_node(procs, link, pin_map=path, **extra)
    assert node.wait(timeout=60) == 2
    out = node.output()
    assert "configuration error" in out and needle in out, out


def test_board_that_cannot_do_the_map_stops_the_node(procs, board, tmp_path):
    """The map is fine for a Mega, but an Uno answers: the capability report decides."""
    _, link = board(board="uno")
    path = tmp_path / "mega.yaml"
    path.write_text("board: mega\npwm_outputs:\n  - {name: lamp, pin: 44}\n")
    node = start_node(procs, link, pin_map=str(path))
    assert node.wait(timeout=60) == 2
    out = node.output()
    assert "pin 44 (PWM output 'lamp')" in out and "pins 0..19" in out, out


def test_launch_file_starts_the_node_against_a_virtual_arduino(procs, ros, board):
    b, link = board()
    b.set_sonar_distance(12, 1.25)
    launch = procs.start(
        [
            "edgebot",
            "launch",
            str(ROOT / "launch" / "firmata.launch.yaml"),
            f"port:={link}",
            "arduino_wait:=0.5",
            "namespace:=rover1",
        ],
        name="edgebot-launch",
    )
    ranges = ros.collect(Range, "/rover1/sonar/range", Q.SENSOR_DATA)
    launch.wait_output("pin map applied", timeout=60)
    wait_for(lambda: any(abs(r.range - 1.25) < 1e-6 for r in ranges), 30, what="namespaced range")
    cmd = ros.publisher(JointState, "/rover1/wheel_cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd, timeout=30)
    wait_for(
        lambda: cmd.publish(wheel_cmd(-7.5, 7.5)) or b.output(5) == 128,
        20,
        interval=0.1,
        what="wheels through the launched node",
    )
    assert (b.output(7), b.output(8)) == (0, 1)
    launch.stop()
    wait_for(lambda: b.output(5) == 0, 10, what="safe after the launch is stopped")


def test_stalled_host_board_resets_then_node_reapplies(procs, ros, board):
    """The node process stalls longer than the keep-alive: the board resets itself (outputs
    off); when the node runs again it notices the lost pin modes and applies the map again."""
    b, link = board()
    node = start_node(procs, link, command_timeout=10.0, keep_alive=1)
    diags = ros.collect(DiagnosticArray, "/diagnostics", Q.DIAGNOSTICS)
    connected(node)
    cmd = drive_until(ros, b, 15.0, 255, "driving")
    node.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: b.keepalive_expired, 20, what="keep-alive expiry while stalled")
        assert b.output(5) == 0 and b.pin_mode(5) == "OUTPUT"
    finally:
        node.signal(signal.SIGCONT)
    node.wait_output("re-applying the pin map", timeout=30)
    wait_for(
        lambda: b.pin_mode(5) == "PWM" and b.pin_mode(12) == "SONAR" and b.keepalive_period == 1,
        20,
        what="pin map and keep-alive back",
    )
    assert b.output(5) == 0  # nothing moves until a new command
    wait_for(
        lambda: cmd.publish(wheel_cmd(7.5, 7.5)) or b.output(5) == 128,
        20,
        interval=0.1,
        what="commands work again",
    )
    wait_for(
        lambda: (
            (s := diag_status(diags, "connection")) is not None
            and int(diag_value(s, "board_resets")) >= 1
        ),
        20,
        what="reset counted",
    )
    assert node.running()


def test_hung_board_is_treated_as_lost_and_reconnected(procs, ros, board):
    b, link = board()
    node = start_node(procs, link, command_timeout=10.0, **{"reconnect.max": 1.0})
    connected(node)
    b.freeze()
    node.wait_output("board does not answer", timeout=30)
    time.sleep(1.0)  # reconnect attempts fail while it hangs, no crash
    assert node.running()
    b.freeze(False)
    wait_for(lambda: node.output().count("pin map applied") >= 2, 60, what="reconnected")
    wait_for(lambda: b.pin_mode(5) == "PWM", 20, what="pin map applied again")
