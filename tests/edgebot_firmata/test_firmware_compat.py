"""Firmata versions (ROS-free, no processes): what the model answers as StandardFirmata 2.4
and FirmataExpress, the pin-map check's timer conflicts and refused features, and the port
writes BoardLink sends (every version understands them)."""

import pytest

from edgebot_firmata import boards, pinmap
from edgebot_firmata import protocol as P
from edgebot_firmata.board_model import FirmataBoard
from edgebot_firmata.commands import wheel_duties


def strings(out: bytes):
    """STRING_DATA sysex texts in a byte stream from the board."""
    parser = P.board_parser()
    texts = []
    for f in parser.feed(out):
        if f.is_sysex and f.command == P.STRING_DATA:
            texts.append(bytes(f.data[0::2]).decode())
    return texts


def test_standard_firmata_model_answers_as_2_4():
    b = FirmataBoard(board="uno", firmware="StandardFirmata")
    boot = b.host_opened(0.0)
    assert boot[:3] == bytes([P.REPORT_VERSION, 2, 4])  # version at boot
    caps = P.parse_capabilities(b.feed(P.sysex(P.CAPABILITY_QUERY), 0.0)[2:-1])
    assert P.PULLUP not in caps[2] and P.INPUT in caps[2] and P.SERVO in caps[14]
    b.feed(bytes([P.SET_PIN_MODE, 7, P.OUTPUT]), 0.0)
    b.feed(bytes([P.SET_DIGITAL_PIN_VALUE, 7, 1]), 0.0)  # 2.5 only: ignored
    assert b.output(7) == 0
    b.feed(bytes([P.DIGITAL_MESSAGE | 0, 0x00, 0x01]), 0.0)  # port 0 bit 7: works
    assert b.output(7) == 1
    out = b.feed(bytes([P.SET_PIN_MODE, 2, P.PULLUP]), 0.0)
    assert strings(out) == ["Unknown pin mode"] and b.pin_mode(2) != "PULLUP"
    assert b.feed(P.sysex(P.ARE_YOU_THERE), 0.0) == b""  # FirmataExpress only


def test_firmata_express_model_unchanged():
    b = FirmataBoard(board="uno", firmware="FirmataExpress")
    assert b.host_opened(0.0) == b""
    b.feed(bytes([P.SET_PIN_MODE, 7, P.OUTPUT, P.SET_DIGITAL_PIN_VALUE, 7, 1]), 0.0)
    assert b.output(7) == 1
    b.feed(bytes([P.SET_PIN_MODE, 2, P.PULLUP]), 0.0)
    assert b.pin_mode(2) == "PULLUP"


@pytest.mark.parametrize(
    "board,servo,pwm,taken",
    [
        ("uno", 9, 10, 1),
        ("uno", 2, 9, 1),
        ("nano", 4, 10, 1),
        ("mega", 22, 45, 5),
    ],
)
def test_servo_timer_conflict_names_both_pins(board, servo, pwm, taken):
    pm = pinmap.from_dict(
        {
            "board": board,
            "servos": [{"name": "pan", "pin": servo}],
            "pwm_outputs": [{"name": "lamp", "pin": pwm}],
        }
    )
    with pytest.raises(pinmap.PinMapError) as e:
        pm.check_board_model()
    msg = str(e.value)
    assert msg.startswith(f"pin {pwm} (PWM output 'lamp')") and f"on pin {servo}" in msg
    assert f"Timer{taken}" in msg


def test_motor_pwm_on_a_servo_timer_and_the_mega_past_12_servos():
    pm = pinmap.from_dict(
        {
            "board": "uno",
            "servos": [{"name": "pan", "pin": 2}],
            "motors": [{"name": "l", "joint": "j", "driver": "dir", "pwm": 9, "dir": 7}],
        }
    )
    with pytest.raises(pinmap.PinMapError, match=r"pin 9 \(motor 'l' PWM\)"):
        pm.check_board_model()
    # a Mega: 12 servos take Timer5 only (pin 11 PWM fine); the 13th takes Timer1 (11, 12)
    servos = [{"name": f"s{i}", "pin": 22 + i} for i in range(12)]
    ok = pinmap.from_dict(
        {"board": "mega", "servos": servos, "pwm_outputs": [{"name": "lamp", "pin": 11}]}
    )
    ok.check_board_model()
    bad = pinmap.from_dict(
        {
            "board": "mega",
            "servos": servos + [{"name": "s12", "pin": 40}],
            "pwm_outputs": [{"name": "lamp", "pin": 11}],
        }
    )
    with pytest.raises(pinmap.PinMapError, match="Timer1"):
        bad.check_board_model()
    # without servos every PWM pin is fine
    pinmap.from_dict(
        {"board": "uno", "pwm_outputs": [{"name": "a", "pin": 9}, {"name": "b", "pin": 10}]}
    ).check_board_model()


def test_pullup_refused_on_a_board_without_it_naming_pin_and_firmware():
    pm = pinmap.from_dict(
        {
            "board": "uno",
            "firmware": "StandardFirmata",
            "digital_inputs": [{"name": "bumper", "pin": 2, "pullup": True}],
        }
    )
    pm.check_board_model()  # StandardFirmata 2.5+ has pull-ups: fine at start
    caps_24 = boards.get("uno").capabilities("StandardFirmata", legacy=True)
    with pytest.raises(pinmap.PinMapError) as e:
        pm.check(
            caps_24,
            boards.get("uno").analog_mapping(),
            source="board on /dev/ttyACM0 (2.4 StandardFirmata.ino)",
        )
    assert str(e.value).startswith(
        "pin 2 (digital input 'bumper'): the internal pull-up needs Firmata 2.5"
    ) and "2.4 StandardFirmata.ino" in str(e.value)


def test_duplicate_joint_names_rejected():
    pm = pinmap.loads(
        "board: uno\nmotors:\n"
        "  - {name: left, joint: left_wheel_joint, driver: dir, pwm: 5, dir: 7}\n"
    )
    duties, rej = wheel_duties(["left_wheel_joint", "left_wheel_joint"], [1.0, -1.0], pm)
    assert duties == [] and rej[0][0] == "duplicate_joint" and "left_wheel_joint" in rej[0][1]


def test_model_reports_each_input_change_until_its_uart_is_full():
    b = FirmataBoard(board="uno", firmware="FirmataExpress", now=0.0)
    b.host_opened(0.0)
    b.feed(bytes([P.SET_PIN_MODE, 2, P.INPUT, P.REPORT_DIGITAL | 0, 1]), 0.0)
    seq = [1, 0] * 20
    for i, level in enumerate(seq):  # one change per ms: the UART keeps up
        b.set_digital_input(2, level, 1.0 + i * 0.001)
    out = b.tick(1.05)
    assert out.count(bytes([P.DIGITAL_MESSAGE | 0])) == 40
    for i, level in enumerate(seq):  # 40 changes within 40 us: the loop
        b.set_digital_input(2, level, 2.0 + i * 1e-6)  # blocks in Serial.write, merges
    reports = b.tick(2.1).count(bytes([P.DIGITAL_MESSAGE | 0]))
    assert 15 <= reports < 40  # ~21 fit the 64-byte TX buffer


def test_tone_takes_timer2_and_needs_firmata_express():
    pm = pinmap.from_dict(
        {
            "board": "uno",
            "tones": [{"name": "buzzer", "pin": 8}],
            "pwm_outputs": [{"name": "lamp", "pin": 11}],
        }
    )
    with pytest.raises(pinmap.PinMapError) as e:
        pm.check_board_model()
    assert str(e.value).startswith("pin 11 (PWM output 'lamp')") and "on pin 8" in str(e.value)
    assert "Timer2" in str(e.value)
    ok = pinmap.from_dict(
        {
            "board": "uno",
            "tones": [{"name": "buzzer", "pin": 8}],
            "pwm_outputs": [{"name": "lamp", "pin": 5}],
        }
    )
    ok.check_board_model()
    assert ok.tones[0].hz(440.4) == 440 and ok.tones[0].hz(5) == 31 and ok.tones[0].hz(0) == 0
    std = pinmap.from_dict(
        {"board": "uno", "firmware": "StandardFirmata", "tones": [{"name": "buzzer", "pin": 8}]}
    )
    with pytest.raises(
        pinmap.PinMapError,
        match=r"pin 8 \(tone output 'buzzer'\): tone\(\) "
        "needs FirmataExpress, the firmware is StandardFirmata",
    ):
        std.check_board_model()


def test_more_servos_than_the_servo_library_drives_are_refused():
    servos = [
        {"name": f"s{i}", "pin": p}
        for i, p in enumerate([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    ]
    pm = pinmap.from_dict({"board": "uno", "servos": servos})
    with pytest.raises(pinmap.PinMapError, match="13 servos; the Servo library drives at most 12"):
        pm.check_board_model()
    pinmap.from_dict({"board": "uno", "servos": servos[:12]}).check_timers()


def test_model_boot_loader_holds_the_sketch_after_an_open():
    b = FirmataBoard(board="uno", firmware="StandardFirmata", now=0.0, boot_delay_s=0.25)
    assert b.host_opened(1.0) == b"" and b.booting
    assert b.next_tick_at() == 1.25
    assert b.feed(bytes([P.REPORT_VERSION]), 1.1) == b""  # eaten by the boot loader
    assert b.stats["bytes_lost_in_boot"] == 1
    assert b.tick(1.2) == b""
    boot = b.tick(1.25)
    assert boot[:3] == bytes([P.REPORT_VERSION, 2, 4]) and not b.booting
    assert b.feed(bytes([P.REPORT_VERSION]), 1.3) == bytes([P.REPORT_VERSION, 2, 4])
    with pytest.raises(ValueError, match="boot_delay_s"):
        FirmataBoard(boot_delay_s=float("nan"))
