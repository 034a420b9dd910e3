"""Pure logic: the Firmata frame parser, board models and the pin map (no ROS, no ports)."""

import math
import pathlib

import pytest

from edgebot_firmata import boards, pinmap
from edgebot_firmata import protocol as P

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO_MAP = ROOT / "config" / "firmata.yaml"


# --------------------------------------------------------------------------- parser
def test_board_parser_passes_wellformed_frames():
    p = P.board_parser()
    data = bytes([0xE0, 0x64, 0x04, 0x91, 0x01, 0x00]) + P.sysex(P.SONAR_DATA, [12, 85, 0])
    frames = p.feed(data)
    assert [f.raw for f in frames] == [
        bytes([0xE0, 0x64, 0x04]),
        bytes([0x91, 0x01, 0x00]),
        P.sysex(P.SONAR_DATA, [12, 85, 0]),
    ]
    assert p.error_total == 0


def test_board_parser_drops_garbage_and_counts_it():
    p = P.board_parser()
    garbage = bytes([0x05, 0x85, 0xC3, 0x01, 0xF7, 0x33])
    frames = p.feed(garbage + bytes([0xE1, 0x10, 0x00]))
    assert [f.raw for f in frames] == [bytes([0xE1, 0x10, 0x00])]
    assert p.errors["stray_data"] >= 3
    assert p.errors["unknown_command"] == 2


def test_board_parser_truncated_sysex_and_message():
    p = P.board_parser()
    # a sysex cut short by a new command, then a message cut short by another
    frames = p.feed(bytes([0xF0, P.SONAR_DATA, 12, 0xE0, 0x01, 0xE2, 0x7F, 0x07]))
    assert [f.raw for f in frames] == [bytes([0xE2, 0x7F, 0x07])]
    assert p.errors == {"truncated": 2}
    # split across reads: nothing until complete
    assert p.feed(bytes([0xF0, P.SONAR_DATA, 12])) == []
    assert p.pending()
    assert [f.command for f in p.feed(bytes([1, 0, 0xF7]))] == [P.SONAR_DATA]


def test_board_parser_unknown_and_malformed_sysex():
    p = P.board_parser()
    assert p.feed(P.sysex(0x10, [1, 2])) == []  # pymata4 has no handler
    assert p.feed(P.sysex(P.SONAR_DATA, [12, 1])) == []  # wrong length
    assert p.feed(bytes([0xF0, 0xF7])) == []  # empty
    assert p.errors == {"unknown_sysex": 1, "bad_sysex": 2}


def test_parser_sysex_overflow_is_bounded():
    p = P.host_parser()
    frames = p.feed(bytes([0xF0, P.STRING_DATA]) + bytes(500) + bytes([0xF7, 0xF9]))
    assert [f.command for f in frames] == [0xF9]
    assert p.errors == {"sysex_overflow": 1}


def test_host_parser_commands():
    p = P.host_parser()
    frames = p.feed(bytes([0xF4, 5, 3, 0xE5, 0x7F, 0x01, 0xD0, 1, 0xFF, 0xF5, 7, 1]))
    assert [(f.command, f.data) for f in frames] == [
        (0xF4, [5, 3]),
        (0xE5, [0x7F, 1]),
        (0xD0, [1]),
        (0xFF, []),
        (0xF5, [7, 1]),
    ]


def test_seven_bit_helpers_and_capabilities_roundtrip():
    assert P.to7(255) == [0x7F, 0x01] and P.from7([0x7F, 0x01]) == 255
    with pytest.raises(ValueError):
        P.sysex(0x71, [200])
    caps = boards.get("uno").capabilities()
    assert P.parse_capabilities(P.encode_capabilities(caps)) == caps


def test_board_models():
    uno = boards.get("uno")
    caps = uno.capabilities("FirmataExpress")
    assert P.PWM in caps[5] and P.PWM not in caps[4]
    assert P.SONAR in caps[12] and caps[0] == {} and caps[1] == {}
    assert P.SONAR not in uno.capabilities("StandardFirmata")[12]
    assert uno.analog_mapping()[14] == 0 and uno.analog_mapping()[13] == 0x7F
    nano = boards.get("nano")
    assert len(nano.analog) == 8 and P.OUTPUT not in nano.capabilities()[20]
    with pytest.raises(ValueError):
        boards.get("due")


# --------------------------------------------------------------------------- pin map
def test_demo_pin_map_loads_and_fits_the_uno():
    pm = pinmap.load(str(DEMO_MAP))
    pm.check_board_model()
    assert pm.board == "uno" and pm.firmware == "FirmataExpress"
    left = pm.motor_for_joint("left_wheel_joint")
    right = pm.motor_for_joint("right_wheel_joint")
    assert left.pwm == 5 and right.pwm == 6
    assert (pm.sonars[0].trigger, pm.sonars[0].echo) == (12, 10)
    assert pm.pwm_outputs[0].pin == 11  # not 9/10: the pan servo takes Timer1
    assert pm.analog_inputs[0].type == "battery" and pm.analog_inputs[0].channel == 0
    assert "sonar/range" in pm.topics() and "pan/cmd" in pm.topics()


@pytest.mark.parametrize(
    "driver,extra",
    [("in1_in2", {"in1": 7, "in2": 8}), ("dir", {"dir": 7}), ("two_pwm", {"pwm_reverse": 6})],
)
@pytest.mark.parametrize("reversed_", [False, True])
def test_motor_outputs_invert_back_to_duty(driver, extra, reversed_):
    m = pinmap.Motor(
        name="m", joint="j", driver=driver, pwm=5, reversed=reversed_, max_wheel_speed=10.0, **extra
    )
    for duty in (-1.0, -0.5, 0.0, 0.25, 1.0):
        pins = {pin: v for pin, _, v in m.outputs(duty)}
        got = m.duty_from(lambda pin: pins.get(pin, 0))
        assert got == pytest.approx(duty, abs=1.0 / 255)
        assert m.wheel_speed(lambda pin: pins.get(pin, 0)) == pytest.approx(duty * 10, abs=0.05)
    # out of range is clamped, never forwarded
    assert max(v for _, k, v in m.outputs(7.0) if k == "pwm") == 255


def test_servo_pwm_analog_conversions():
    s = pinmap.Servo(name="pan", pin=9, min_angle=-math.pi / 2, max_angle=math.pi / 2)
    assert s.degrees(0.0) == 90 and s.degrees(-10) == 0 and s.degrees(10) == 180
    assert s.angle(90) == pytest.approx(0.0)
    assert pinmap.PwmOutput(name="l", pin=10).value(0.5) == 128
    a = pinmap.AnalogInput(
        name="b",
        channel=0,
        type="battery",
        vref=5.0,
        divider=3.0,
        full_voltage=8.4,
        empty_voltage=6.0,
    )
    assert a.voltage(1023) == pytest.approx(15.0)
    assert a.percentage(7.2) == pytest.approx(0.5)
    assert a.percentage(20) == 1.0 and a.percentage(1) == 0.0


def _map(**sections):
    doc = {"board": "uno", "firmware": "FirmataExpress"}
    doc.update(sections)
    return pinmap.from_dict(doc)


@pytest.mark.parametrize(
    "sections,needle",
    [
        (
            {
                "digital_inputs": [{"name": "a", "pin": 2}],
                "digital_outputs": [{"name": "b", "pin": 2}],
            },
            "pin 2 is used twice",
        ),
        (
            {"pwm_outputs": [{"name": "lamp", "pin": 4}]},
            "pin 4 (PWM output 'lamp'): PWM is not supported",
        ),
        ({"servos": [{"name": "pan", "pin": 1}]}, "pin 1 (servo 'pan'): servo is not supported"),
        (
            {
                "motors": [
                    {"name": "l", "joint": "j", "driver": "in1_in2", "pwm": 7, "in1": 2, "in2": 4}
                ]
            },
            "pin 7 (motor 'l' PWM)",
        ),
        ({"digital_outputs": [{"name": "x", "pin": 25}]}, "pin 25"),
        ({"analog_inputs": [{"name": "x", "channel": 7}]}, "no A7"),
        (
            {
                "analog_inputs": [{"name": "x", "channel": 0}],
                "digital_inputs": [{"name": "y", "pin": 14}],
            },
            "pin 14 is used twice",
        ),
    ],
)
def test_pin_map_checks_name_pin_and_reason(sections, needle):
    pm = _map(**sections)
    with pytest.raises(pinmap.PinMapError) as e:
        pm.check_board_model()
    assert needle in str(e.value)


def test_sonar_needs_firmata_express():
    pm = pinmap.from_dict(
        {
            "board": "uno",
            "firmware": "StandardFirmata",
            "sonars": [{"name": "sonar", "trigger": 12, "echo": 11}],
        }
    )
    with pytest.raises(pinmap.PinMapError) as e:
        pm.check_board_model()
    assert "pin 12" in str(e.value) and "FirmataExpress" in str(e.value)


@pytest.mark.parametrize(
    "doc,needle",
    [
        ({"bord": "uno"}, "unknown key"),
        ({"board": "due"}, "board = 'due'"),
        ({"firmware": "Express"}, "firmware = 'Express'"),
        ({"sampling_interval_ms": 0}, "sampling_interval_ms"),
        (
            {"motors": [{"name": "l", "joint": "j", "driver": "in1_in2", "pwm": 5, "in1": 7}]},
            "needs 'in2'",
        ),
        ({"motors": [{"name": "l", "joint": "j", "driver": "h", "pwm": 5}]}, "driver = 'h'"),
        (
            {
                "motors": [
                    {
                        "name": "l",
                        "joint": "j",
                        "driver": "dir",
                        "pwm": 5,
                        "dir": 7,
                        "max_wheel_speed": 0,
                    }
                ]
            },
            "max_wheel_speed",
        ),
        ({"servos": [{"name": "s", "pin": "nine"}]}, "servos[0].pin = 'nine'"),
        ({"servos": [{"pin": 9}]}, "missing key(s) ['name']"),
        ({"pwm_outputs": [{"name": "a b", "pin": 9}]}, "must be a ROS topic name"),
        (
            {"pwm_outputs": [{"name": "a", "pin": 9}], "servos": [{"name": "a", "pin": 10}]},
            "used twice",
        ),
        ({"pwm_outputs": [{"name": "a", "pin": 9, "safe": float("nan")}]}, "finite"),
        ({"digital_inputs": {"name": "a"}}, "must be a list"),
    ],
)
def test_malformed_pin_maps_are_rejected_with_a_clear_message(doc, needle):
    with pytest.raises(pinmap.PinMapError) as e:
        pinmap.from_dict(doc)
    assert needle in str(e.value)


def test_load_errors(tmp_path):
    with pytest.raises(pinmap.PinMapError, match="cannot read"):
        pinmap.load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("board: [uno\n")
    with pytest.raises(pinmap.PinMapError, match="not valid YAML"):
        pinmap.load(str(bad))


@pytest.mark.parametrize(
    "text,needle",
    [
        ("sampling_interval_ms: true\n", "sampling_interval_ms = True: must be an integer"),
        ("digital_inputs: [{name: b, pin: 2, pullup: 'yes'}]\n", "pullup = 'yes': must be true"),
        ("servos: [{name: s, pin: 9, colour: red}]\n", "unknown key(s) ['colour']; allowed: ["),
        ("motors: [3]\n", "motors[0]: must be a mapping, got 3"),
        ("pwm_outputs: [{name: l, pin: 9, safe: .inf}]\n", "safe = inf: must be a finite number"),
    ],
)
def test_pin_map_file_errors_name_file_key_value_and_allowed(tmp_path, text, needle):
    f = tmp_path / "robot.yaml"
    f.write_text("board: uno\n" + text)
    with pytest.raises(pinmap.PinMapError) as e:
        pinmap.load(str(f))
    assert str(e.value).startswith(f"pin map {f}: ") and needle in str(e.value)


def test_pin_map_defaults_and_empty_sections():
    pm = pinmap.loads("board: nano\nmotors:\nservos: [{name: pan, pin: 9}]\n")
    assert pm.motors == [] and pm.firmware == "FirmataExpress" and pm.sampling_interval_ms == 19
    s = pm.servos[0]
    assert (s.min_pulse_us, s.max_pulse_us, s.safe) == (544, 2400, None)
    ir = pinmap.loads("ir_ranges: [{name: ir, channel: 1, curve: [[1, 0.5], [2, 0.2]]}]\n")
    assert ir.ir_ranges[0].curve == [[1.0, 0.5], [2.0, 0.2]]
