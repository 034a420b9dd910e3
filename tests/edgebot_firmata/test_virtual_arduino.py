"""The virtual Arduino against the real, unchanged pymata4 over real pseudo-terminals, and
the contained client (FirmataClient / BoardLink) against garbage and unplugging."""

import os
import sys
import time

import pytest
from pymata4.pymata4 import Pymata4

from edgebot_firmata import pinmap
from edgebot_firmata.client import BoardLink, FirmataClient, LinkLost
from edgebot_firmata.virtual_arduino import VirtualArduino
from edgebot_testing import wait_for


@pytest.fixture
def board():
    boards = []

    def make(**kw):
        b = VirtualArduino(**kw)
        boards.append(b)
        return b

    yield make
    for b in boards:
        b.stop()


@pytest.fixture
def clients():
    made = []
    yield made
    for c in made:
        try:
            c.shutdown() if type(c) is Pymata4 else c.close()
        except Exception:
            pass


def test_pymata4_unchanged_talks_to_the_virtual_board(board, clients, tmp_path):
    b = board()
    link = str(tmp_path / "ttyVIRT0")
    path = b.start(link=link)
    assert os.path.realpath(link) == path and path.startswith("/dev/pts/")
    b.set_analog_input(0, 612)
    b.set_sonar_distance(12, 0.85)
    c = Pymata4(com_port=link, arduino_wait=0.5, sleep_tune=0.001)
    clients.append(c)
    assert c.query_reply_data[0x79] == "1.2 FirmataExpress.ino"
    assert c.get_protocol_version() == "2.5"
    assert len(c.digital_pins) == 20 and len(c.analog_pins) == 6
    caps = c.get_capability_report()
    assert caps.count(127) == 20

    c.set_pin_mode_pwm_output(5)
    c.pwm_write(5, 200)
    c.set_pin_mode_digital_output(7)
    c.digital_write(7, 1)
    c.set_pin_mode_digital_output(8)
    c.digital_pin_write(8, 1)
    c.set_pin_mode_servo(9, 600, 2400)
    c.servo_write(9, 45)
    wait_for(lambda: b.output(9) == 45, 10, what="servo write")
    assert (b.pin_mode(5), b.output(5)) == ("PWM", 200)
    assert (b.pin_mode(7), b.output(7), b.output(8)) == ("OUTPUT", 1, 1)
    assert b.pin_mode(9) == "SERVO"

    events = []
    c.set_pin_mode_analog_input(0, callback=events.append)
    c.set_pin_mode_digital_input_pullup(2, callback=events.append)
    c.set_pin_mode_sonar(12, 11, callback=events.append)
    wait_for(lambda: c.analog_read(0)[0] == 612, 10, what="analog report")
    wait_for(lambda: c.sonar_read(12)[0] == 85, 10, what="sonar report (cm)")
    wait_for(lambda: c.digital_read(2)[0] == 1, 10, what="pull-up reads high")
    b.set_digital_input(2, False)
    wait_for(lambda: c.digital_read(2)[0] == 0, 10, what="digital change reported")
    b.set_analog_input(0, 100)
    wait_for(lambda: c.analog_read(0)[0] == 100, 10, what="analog change")
    assert b.pin_mode(12) == "SONAR" and b.pin_mode(11) == "SONAR"

    # pin state query answers mode and value
    state = c.get_pin_state(5)
    assert state[:3] == [5, 3, 200 & 0x7F]

    # system reset: outputs off, pins back to their defaults
    c.send_reset()
    wait_for(lambda: b.output(5) == 0 and b.pin_mode(9) == "OUTPUT", 10, what="reset")
    assert b.pin_mode(14) == "ANALOG"


def test_output_listener_and_keepalive_expiry(board, clients):
    b = board()
    path = b.start()
    changes = []
    b.add_output_listener(lambda pin, mode, value: changes.append((pin, mode, value)))
    c = FirmataClient(path, arduino_wait=0.5)
    clients.append(c)
    c.set_pin_mode_pwm_output(6)
    c.pwm_write(6, 77)
    wait_for(lambda: (6, "PWM", 77) in changes, 10, what="listener sees the PWM write")
    c.keep_alive(period=1, margin=0.3)
    wait_for(lambda: b.keepalive_period == 1, 10, what="keep-alive enabled")
    time.sleep(1.5)  # keep-alives flowing: nothing happens
    assert not b.keepalive_expired and b.output(6) == 77
    c.period = 0  # the host goes silent (its thread stops)
    wait_for(lambda: b.keepalive_expired, 10, what="keep-alive expiry")
    assert b.output(6) == 0 and b.pin_mode(6) == "OUTPUT"
    assert (6, "OUTPUT", 0) in changes or (6, "PWM", 0) in changes


def test_standard_firmata_mode(board, clients):
    b = board(firmware="StandardFirmata")
    path = b.start()
    assert b.baud == 57600
    c = FirmataClient(path, baud=57600, arduino_wait=0.5)
    clients.append(c)
    assert c.query_reply_data[0x79] == "2.4 StandardFirmata.ino"
    caps = c.capability_report()
    assert 0x0C not in caps[12]  # no sonar in StandardFirmata
    c._send_sysex(0x51)  # ARE_YOU_THERE: not answered
    c._send_sysex(0x50, [1, 0])  # KEEP_ALIVE: ignored
    c.set_pin_mode_pwm_output(3)
    c.pwm_write(3, 10)
    wait_for(lambda: b.output(3) == 10, 10, what="pwm on StandardFirmata")
    assert b.keepalive_period == 0


def test_garbage_from_the_host_is_ignored_by_the_board(board, clients):
    b = board()
    path = b.start()
    c = FirmataClient(path, arduino_wait=0.5)
    clients.append(c)
    c.serial_port.write(
        bytes([0x00, 0x42, 0x85, 0xF0, 0x70, 0x01, 0xE5, 0x7F, 0x01, 0xF4, 200, 3, 0xF0])
        + bytes(300)
        + bytes([0xF7])
    )
    c.set_pin_mode_pwm_output(5)
    c.pwm_write(5, 9)
    wait_for(lambda: b.output(5) == 9, 10, what="board still obeys after garbage")
    assert b._parser.error_total > 0


def test_garbage_from_the_board_is_counted_not_fatal(board, clients):
    b = board(board="nano")
    path = b.start()
    c = FirmataClient(path, arduino_wait=0.5)
    clients.append(c)
    events = []
    c.set_pin_mode_analog_input(7, callback=events.append)
    b.set_analog_input(7, 5)
    wait_for(lambda: c.analog_read(7)[0] == 5, 10, what="A7 report")
    b.inject(
        bytes(
            [
                0x85,
                0x10,
                0xF0,
                0x63,
                0x01,
                0xF7,
                0xF0,
                0x12,
                0x01,
                0xF7,
                0xF0,
                0x63,
                12,
                1,
                0,
                0xF7,
                0xF0,
                0x79,
                0x01,
            ]
        )
    )
    b.inject(bytes([0xE9, 0x01, 0x01]))  # analog for a pin pymata4 has no slot for
    b.set_analog_input(7, 700)
    wait_for(lambda: c.analog_read(7)[0] == 700, 10, what="reports after garbage")
    assert c.parser.error_total >= 4
    assert c.handler_errors >= 1  # sonar data for an unknown trigger pin
    assert c.the_reporter_thread.is_alive() and c.the_data_receive_thread.is_alive()


def test_unplug_marks_the_link_lost_without_spinning(board, clients, tmp_path):
    b = board()
    link = str(tmp_path / "ttyVIRT0")
    b.start(link=link)
    c = FirmataClient(link, arduino_wait=0.5)
    clients.append(c)
    c.keep_alive(period=2)
    b.unplug()
    assert not os.path.exists(link)
    wait_for(lambda: c.lost.is_set(), 10, what="lost link detected")
    assert "read failed" in c.lost_reason
    with pytest.raises(LinkLost):
        c.pwm_write(5, 1)
    # the reader thread ends instead of spinning on the dead port for ever (pymata4's own
    # reader swallows the OSError and retries without sleeping: it would never end). It sets
    # `lost` just before it returns: on a loaded machine it may not have run since. (Not the
    # process's CPU time: other threads of the test process share it on a loaded machine.)
    wait_for(lambda: not c.the_data_receive_thread.is_alive(), 10, what="the reader thread to end")
    new_path = b.replug()
    assert os.path.realpath(link) == new_path
    c2 = FirmataClient(link, arduino_wait=0.5)
    clients.append(c2)
    assert b.host_connected


def test_connect_failures_raise_and_leave_no_threads(board, tmp_path):
    with pytest.raises(OSError):
        FirmataClient(str(tmp_path / "nothing"), arduino_wait=0.01)
    b = board(instance_id=3)
    path = b.start()
    with pytest.raises(RuntimeError):
        FirmataClient(path, arduino_wait=0.01, instance_id=1)  # wrong ARDUINO_INSTANCE_ID


def test_board_link_applies_the_demo_pin_map(board):
    b = board()
    path = b.start()
    pm = pinmap.load(os.path.join(os.path.dirname(__file__), "../../config/firmata.yaml"))
    digital = []
    link = BoardLink(
        pm,
        path,
        115200,
        arduino_wait=0.5,
        keep_alive_s=1,
        on_digital=lambda n, v: digital.append((n, v)),
    )
    try:
        link.connect()
        assert link.connected and "FirmataExpress" in link.firmware_id

        def modes():
            return {p: b.pin_mode(p) for p in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)}

        expected = {
            2: "PULLUP",
            3: "OUTPUT",
            4: "OUTPUT",
            5: "PWM",
            6: "PWM",
            7: "OUTPUT",
            8: "OUTPUT",
            9: "SERVO",
            10: "SONAR",
            11: "PWM",
            12: "SONAR",
            13: "OUTPUT",
            14: "ANALOG",
        }
        wait_for(lambda: modes() == expected, 10, what=f"pin modes {expected}")
        wait_for(lambda: b.keepalive_period == 1, 10, what="keep-alive on")
        wait_for(lambda: b.sampling_interval_ms == 19, 10, what="sampling interval re-set")
        assert b.output(9) == 90  # servo safe angle 0 rad = centre
        left, right = pm.motors
        link.write_motor(left, 0.5)
        link.write_motor(right, 0.5)
        wait_for(lambda: b.output(5) == 128 and b.output(6) == 128, 10, what="motor pwm")
        assert (b.output(7), b.output(8)) == (1, 0)
        assert (b.output(4), b.output(3)) == (0, 1)  # right motor is mounted reversed
        assert left.wheel_speed(b.output) == pytest.approx(7.5, abs=0.05)
        assert right.wheel_speed(b.output) == pytest.approx(7.5, abs=0.05)
        link.write_motor(left, -1.0)
        wait_for(lambda: b.output(8) == 1 and b.output(5) == 255, 10, what="reverse")
        b.set_digital_input(2, False)
        wait_for(lambda: ("bumper", True) in digital, 10, what="bumper pressed (inverted)")
        link.close(reset=True)
        wait_for(lambda: b.output(5) == 0 and b.pin_mode(5) == "OUTPUT", 10, what="reset")
        assert b.keepalive_period == 0  # clean goodbye disables the keep-alive
    finally:
        link.close(reset=False)


def test_cli_prints_its_device_path(procs, tmp_path):
    link = tmp_path / "ttyCLI"
    p = procs.start(
        [
            sys.executable,
            "-m",
            "edgebot_cli.main",
            "virtual-arduino",
            "--link",
            str(link),
            "--analog",
            "0=512",
        ]
    )
    out = p.wait_output("virtual uno (FirmataExpress, 115200 baud) on /dev/pts/", timeout=30)
    assert str(link) in out
    wait_for(link.exists, 10, what="link")
    c = FirmataClient(str(link), arduino_wait=0.5)
    try:
        c.set_pin_mode_analog_input(0)
        wait_for(lambda: c.analog_read(0)[0] == 512, 10, what="analog from the CLI board")
    finally:
        c.close()
    p.stop()
    assert p.popen.returncode == 0
    assert not link.exists()
