"""ONE conformance suite, run against both the Python board model (StandardFirmata mode) and
the real StandardFirmata 2.4 firmware on the emulated ATmega328P (edgebot_avr / simavr): the
same cases, at the byte level through a real pty, so the model cannot drift from the firmware.

The client here is deliberately raw (pyserial + the project's validating frame parser), not
pymata4: the suite checks what the board says, not what a client library makes of it.
"""

import time

import pytest
import serial

from edgebot_firmata import boards
from edgebot_firmata import protocol as P
from edgebot_firmata.virtual_arduino import VirtualArduino
from edgebot_testing import wait_for

BAUD = 57600
SERVO_MIN_US, SERVO_MAX_US = 544, 2400


class ModelTarget:
    name = "model"

    def __init__(self, link: str):
        self.b = VirtualArduino(board="uno", firmware="StandardFirmata")
        self.link = link
        self.b.start(link=link)

    def set_digital(self, pin, level):
        self.b.set_digital_input(pin, level)

    def set_analog(self, channel, volts):
        self.b.set_analog_input(channel, round(volts / 5.0 * 1023))

    def level(self, pin):
        return bool(self.b.output(pin)) if self.b.pin_mode(pin) == "OUTPUT" else None

    def pwm(self, pin):
        return self.b.board.pwm_duty(pin)

    def servo_deg(self, pin):
        return self.b.output(pin) if self.b.pin_mode(pin) == "SERVO" else None

    def unplug(self):
        self.b.unplug()

    def replug(self):
        self.b.replug()

    def stop(self):
        self.b.stop()


class FirmwareTarget:
    name = "firmware"

    def __init__(self, link: str):
        from edgebot_avr import EmulatedArduino, firmware_path

        self.emu = EmulatedArduino(
            board="uno",
            link=link,
            speed=1.0,
            firmware=firmware_path(board="uno", name="StandardFirmata"),
        )
        self.link = link
        self.emu.start()

    def set_digital(self, pin, level):
        self.emu.set_digital(pin, level)

    def set_analog(self, channel, volts):
        self.emu.set_analog(channel, volts)

    def level(self, pin):
        st = self.emu.pin(pin)
        return st.level if st.mode == "output" else None

    def pwm(self, pin):
        return self.emu.pin(pin).pwm_duty

    def servo_deg(self, pin):
        us = self.emu.pin(pin).servo_us
        if us is None:
            return None
        return (us - SERVO_MIN_US) / (SERVO_MAX_US - SERVO_MIN_US) * 180.0

    def unplug(self):
        self.emu.unplug()

    def replug(self):
        self.emu.replug()

    def stop(self):
        self.emu.stop()


TARGETS = {"model": ModelTarget, "firmware": FirmwareTarget}
PARAMS = ["model", "firmware"]  # never skipped: edgebot_avr is part of the workspace


class Raw:
    """A raw Firmata host: bytes out, validated frames in."""

    def __init__(self, port: str):
        self.s = serial.Serial(port, BAUD, timeout=0)
        self.parser = P.board_parser()
        self.frames = []

    def send(self, data) -> None:
        self.s.write(bytes(data))

    def poll(self) -> None:
        data = self.s.read(4096)
        if data:
            self.frames += self.parser.feed(data)

    def wait(self, pred, timeout=10.0, what="a frame", since=0):
        def found():
            self.poll()
            return next((f for f in self.frames[since:] if pred(f)), None)

        return wait_for(found, timeout, interval=0.005, what=what)

    def mark(self) -> int:
        self.poll()
        return len(self.frames)

    def sync(self) -> None:
        """Round trip: every command sent before has been processed by the board."""
        n = self.mark()
        self.send([P.REPORT_VERSION])
        self.wait(lambda f: f.command == P.REPORT_VERSION and not f.is_sysex, what="sync", since=n)

    def pin_state(self, pin: int):
        n = self.mark()
        self.send(P.sysex(P.PIN_STATE_QUERY, [pin]))
        f = self.wait(
            lambda f: f.is_sysex and f.command == P.PIN_STATE_RESPONSE and f.data[0] == pin,
            what=f"pin {pin} state",
            since=n,
        )
        return f.data[1], P.from7(f.data[2:])

    def strings(self, since=0):
        return [
            bytes(f.data[0::2]).decode()
            for f in self.frames[since:]
            if f.is_sysex and f.command == P.STRING_DATA
        ]

    def analog_reports(self, channel, since=0):
        return [
            P.from7(f.data)
            for f in self.frames[since:]
            if not f.is_sysex and f.command == P.ANALOG_MESSAGE | channel
        ]

    def close(self) -> None:
        self.s.close()


def firmware_name(f) -> str:
    return f"{f.data[0]}.{f.data[1]} {bytes(f.data[2::2]).decode()}"


def is_firmware(f) -> bool:
    return f.is_sysex and f.command == P.REPORT_FIRMWARE


@pytest.fixture(params=PARAMS)
def target(request, tmp_path):
    t = TARGETS[request.param](str(tmp_path / f"tty{request.param}"))
    yield t
    t.stop()


@pytest.fixture
def host(target):
    """A host that opened the port (the board resets) and heard the boot report."""
    made = []

    def connect():
        h = Raw(target.link)
        made.append(h)
        h.wait(is_firmware, 15, what="the firmware's boot report")
        return h

    h = connect()
    h.reconnect = connect
    yield h
    for x in made:
        x.close()


def test_firmware_query_and_version(host):
    boot = host.frames
    assert any(f.command == P.REPORT_VERSION and f.data == [2, 4] for f in boot)
    assert firmware_name(next(f for f in boot if is_firmware(f))) == "2.4 StandardFirmata.ino"
    n = host.mark()
    host.send(P.sysex(P.REPORT_FIRMWARE))
    f = host.wait(is_firmware, since=n, what="firmware reply")
    assert firmware_name(f) == "2.4 StandardFirmata.ino"
    n = host.mark()
    host.send([P.REPORT_VERSION])
    f = host.wait(lambda f: f.command == P.REPORT_VERSION, since=n, what="version reply")
    assert f.data == [2, 4]


def test_boot_loader_runs_before_the_sketch(target):
    """Opening the port resets the board; the boot report comes after the boot loader (0.25 s
    on both), after pyserial's open() flushed its input, and what the host sent while the
    boot loader ran never reaches the sketch (no reply to a version query sent at once)."""
    t0 = time.monotonic()
    h = Raw(target.link)
    try:
        h.send([P.REPORT_VERSION])  # into the boot loader: lost
        sent_in_boot = time.monotonic() - t0 < 0.15  # (a host stalled by load may miss it)
        h.wait(is_firmware, 15, what="the firmware's boot report")
        assert time.monotonic() - t0 >= 0.2
        h.sync()  # a query after the boot report is answered
        versions = [f for f in h.frames if f.command == P.REPORT_VERSION and not f.is_sysex]
        if sent_in_boot:  # the boot report's and the sync's: none for the lost query
            assert len(versions) == 2
    finally:
        h.close()


def test_capability_report_and_analog_mapping(host):
    n = host.mark()
    host.send(P.sysex(P.CAPABILITY_QUERY))
    f = host.wait(
        lambda f: f.is_sysex and f.command == P.CAPABILITY_RESPONSE,
        since=n,
        what="capability report",
    )
    caps = P.parse_capabilities(f.data)
    uno = boards.get("uno")
    assert caps == uno.capabilities("StandardFirmata", legacy=True)
    assert all(P.PULLUP not in m for m in caps)  # 2.4: no pull-up mode
    n = host.mark()
    host.send(P.sysex(P.ANALOG_MAPPING_QUERY))
    f = host.wait(
        lambda f: f.is_sysex and f.command == P.ANALOG_MAPPING_RESPONSE,
        since=n,
        what="analog mapping",
    )
    assert f.data == uno.analog_mapping()


def test_pin_modes_and_unknown_pull_up(target, host):
    for pin, mode in ((5, P.PWM), (7, P.OUTPUT), (2, P.INPUT), (14, P.ANALOG)):
        host.send([P.SET_PIN_MODE, pin, mode])
        assert host.pin_state(pin)[0] == mode
    n = host.mark()
    host.send([P.SET_PIN_MODE, 7, P.PULLUP])
    host.sync()
    assert host.strings(n) == ["Unknown pin mode"]
    assert host.pin_state(7)[0] == P.OUTPUT  # the old mode stays
    # SET_DIGITAL_PIN_VALUE (0xF5) is 2.5: ignored; a port write works
    host.send([P.SET_DIGITAL_PIN_VALUE, 7, 1])
    host.sync()
    assert target.level(7) is False
    host.send([P.DIGITAL_MESSAGE | 0, 0x00, 0x01])  # port 0, bit 7
    wait_for(lambda: target.level(7) is True, 10, what="pin 7 high by a port write")


def test_digital_reports_start_with_the_current_level(target, host):
    target.set_digital(2, False)
    host.send([P.SET_PIN_MODE, 2, P.INPUT])
    host.sync()
    n = host.mark()
    host.send([P.REPORT_DIGITAL | 0, 1])
    f = host.wait(
        lambda f: f.command == P.DIGITAL_MESSAGE | 0,
        since=n,
        what="port 0 reported when reporting is enabled",
    )
    assert P.from7(f.data) & 0x04 == 0  # low at start: still reported
    n = host.mark()
    target.set_digital(2, True)
    f = host.wait(lambda f: f.command == P.DIGITAL_MESSAGE | 0, since=n, what="the change")
    assert P.from7(f.data) & 0x04


def test_analog_reports(target, host):
    target.set_analog(0, 2.5)
    n = host.mark()
    host.send([P.REPORT_ANALOG | 0, 1])
    host.wait(lambda f: f.command == P.ANALOG_MESSAGE | 0, since=n, what="A0 report")
    assert abs(host.analog_reports(0, n)[0] - 511) <= 3
    target.set_analog(0, 1.0)
    wait_for(
        lambda: host.poll() or abs(host.analog_reports(0)[-1] - 205) <= 3,
        10,
        what="A0 follows the input",
    )
    host.send([P.REPORT_ANALOG | 0, 0])
    host.sync()
    n = host.mark()
    host.sync()
    host.sync()
    assert host.analog_reports(0, n) == []  # off: nothing more


def test_pwm_and_servo(target, host):
    host.send([P.SET_PIN_MODE, 5, P.PWM, P.ANALOG_MESSAGE | 5, 128 & 0x7F, 128 >> 7])
    wait_for(
        lambda: target.pwm(5) is not None and abs(target.pwm(5) - 128 / 255) < 0.01,
        10,
        what="PWM 128 on pin 5",
    )
    host.send([P.SET_PIN_MODE, 10, P.PWM, P.ANALOG_MESSAGE | 10, 64, 0])
    wait_for(
        lambda: target.pwm(10) is not None and abs(target.pwm(10) - 64 / 255) < 0.01,
        10,
        what="PWM on pin 10 before any servo",
    )
    host.send(P.sysex(P.SERVO_CONFIG, [9, *P.to7(SERVO_MIN_US), *P.to7(SERVO_MAX_US)]))
    host.send([P.ANALOG_MESSAGE | 9, 90, 0])
    wait_for(
        lambda: target.servo_deg(9) is not None and abs(target.servo_deg(9) - 90) < 2,
        10,
        what="servo at 90 degrees",
    )
    # the Servo library took Timer1: pin 10 has no PWM any more, although the capability
    # report still lists it
    host.send([P.ANALOG_MESSAGE | 10, 100, 0])
    host.sync()
    wait_for(lambda: target.pwm(10) is None, 10, what="no PWM on pin 10 with a servo")


def test_sampling_interval(target, host):
    target.set_analog(1, 3.0)
    counts = {}
    for ms in (100, 20):
        host.send(P.sysex(P.SAMPLING_INTERVAL, P.to7(ms)))
        host.send([P.REPORT_ANALOG | 1, 1])
        host.sync()
        n = host.mark()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            host.poll()
            time.sleep(0.01)
        counts[ms] = len(host.analog_reports(1, n))
        host.send([P.REPORT_ANALOG | 1, 0])
        host.sync()
    # five times the rate at a fifth of the interval; the bound is loose for a loaded machine
    assert counts[20] >= 2.5 * max(1, counts[100]) and counts[100] >= 3, counts


def test_system_reset(target, host):
    host.send([P.SET_PIN_MODE, 6, P.PWM, P.ANALOG_MESSAGE | 6, 100, 0])
    host.send([P.REPORT_ANALOG | 0, 1])
    wait_for(lambda: target.pwm(6) is not None and target.pwm(6) > 0.3, 10, what="PWM on 6")
    host.send([P.SYSTEM_RESET])
    wait_for(lambda: target.level(6) is False and not target.pwm(6), 10, what="6 off")
    assert host.pin_state(6)[0] == P.OUTPUT
    host.sync()
    n = host.mark()
    host.sync()
    host.sync()
    assert host.analog_reports(0, n) == []  # reporting off after a reset


def test_garbage_on_the_line(target, host):
    garbage = bytes(
        [
            0x00,
            0x42,
            0x13,  # stray data bytes
            0xF0,
            0x01,
            0x02,
            0x03,
            0xF7,  # an unknown sysex
            0xE5,
            0x7F,  # a truncated analog write
            0xF7,
        ]
    )  # a stray END_SYSEX
    for _ in range(5):
        host.send(garbage)
    host.send([P.SET_PIN_MODE, 3, P.PWM, P.ANALOG_MESSAGE | 3, 32, 0])
    wait_for(
        lambda: target.pwm(3) is not None and abs(target.pwm(3) - 32 / 255) < 0.01,
        10,
        what="the board obeys after garbage",
    )
    n = host.mark()
    host.send(P.sysex(P.REPORT_FIRMWARE))
    host.wait(is_firmware, since=n, what="and still answers")


def test_link_loss_and_replug(target, host):
    host.send([P.SET_PIN_MODE, 5, P.PWM, P.ANALOG_MESSAGE | 5, 90, 0])
    wait_for(lambda: target.pwm(5) is not None and target.pwm(5) > 0.3, 10, what="PWM 5")
    target.unplug()

    def read_fails():
        try:
            host.s.read(1)
            host.s.write(b"\xf9")
        except (serial.SerialException, OSError):
            return True
        return False

    wait_for(read_fails, 10, what="the host's port fails")
    host.close()
    target.replug()
    h = host.reconnect()  # a fresh board answers
    assert firmware_name(next(f for f in h.frames if is_firmware(f))) == "2.4 StandardFirmata.ino"
    assert h.pin_state(5)[0] == P.OUTPUT and not target.pwm(5)
