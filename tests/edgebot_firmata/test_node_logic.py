"""firmata_node's ROS-free pieces without processes: parameters -> pin map and baud
(node_config.load_config), command timeouts applied through a link (commands.apply_timeouts),
the diagnostics tasks (status)."""

from types import SimpleNamespace

import pytest

from edgebot_common.params import ParameterError
from edgebot_common.throttle import RejectCounter
from edgebot_firmata import status
from edgebot_firmata.commands import CommandTimeouts, apply_timeouts
from edgebot_firmata.encoders import WheelEncoder
from edgebot_firmata.node_config import SPECS, load_config
from edgebot_firmata.pinmap import PinMapError, loads
from edgebot_firmata.supervisor import LinkLost

MAP = (
    "board: uno\nfirmware: StandardFirmata\nmotors:\n"
    "  - {name: left, joint: left_wheel_joint, driver: dir, pwm: 5, dir: 7}\n"
    "pwm_outputs:\n"
    "  - {name: lamp, pin: 9, safe: 0.25, timeout: true}\n"
    "  - {name: fan, pin: 10, timeout: false}\n"
)


class Clock:
    def __init__(self):
        self.t = 10.0

    def __call__(self):
        return self.t


def params(**kw):
    p = {s.name: s.default for s in SPECS}
    p.update(kw)
    return p


class RecordingLink:
    """The write side of BoardLink, recording what reaches the board."""

    def __init__(self, fail=False):
        self.fail = fail
        self.writes = []

    def write_motor(self, m, duty):
        if self.fail:
            raise LinkLost("gone")
        self.writes.append((m.name, duty))

    def write_pwm(self, o, v):
        if self.fail:
            raise LinkLost("gone")
        self.writes.append((o.name, v))


def test_load_config_reads_the_map_and_picks_the_baud(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text(MAP)
    pm, baud = load_config(params(pin_map=str(f)))
    assert pm.firmware == "StandardFirmata" and baud == 57600
    pm, baud = load_config(params(pin_map=str(f), firmware="FirmataExpress"))
    assert pm.firmware == "FirmataExpress" and baud == 115200
    assert load_config(params(pin_map=str(f), baud=9600))[1] == 9600


def test_frame_prefix_goes_before_the_range_sensors_frames(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text(
        MAP + "sonars: [{name: sonar, trigger: 12, echo: 11}]\n"
        "ir_ranges: [{name: ir, channel: 2, frame_id: ir_front}]\n"
    )
    pm, _ = load_config(params(pin_map=str(f), firmware="FirmataExpress"))
    assert [r.frame_id for r in pm.sonars + pm.ir_ranges] == ["sonar_link", "ir_front"]
    pm, _ = load_config(params(pin_map=str(f), firmware="FirmataExpress", frame_prefix="rover2/"))
    assert [r.frame_id for r in pm.sonars + pm.ir_ranges] == [
        "rover2/sonar_link",
        "rover2/ir_front",
    ]
    spec = next(s for s in SPECS if s.name == "frame_prefix")
    with pytest.raises(ParameterError, match=r"'frame_prefix' = '/r1/': must not start with '/'"):
        spec.validate("/r1/")


def test_load_config_errors_name_parameter_or_file(tmp_path):
    with pytest.raises(ParameterError, match=r"'reconnect.max' = 0.1: must be >= reconnect"):
        load_config(params(**{"reconnect.max": 0.1, "reconnect.initial": 0.5}))
    f = tmp_path / "bad.yaml"
    f.write_text("board: uno\nmotors: [{name: m, pwm: 99}]\n")
    with pytest.raises(PinMapError, match=f"pin map {f}: "):
        load_config(params(pin_map=str(f)))


def test_apply_timeouts_sends_safe_values_once():
    clock = Clock()
    pm = loads(MAP)
    guard = CommandTimeouts(0.25, clock=clock)
    for k in ("motors", "lamp", "fan"):
        guard.touch(k)
    link = RecordingLink()
    apply_timeouts(guard, pm, link)
    assert link.writes == []
    clock.t += 0.3
    apply_timeouts(guard, pm, link)
    assert sorted(link.writes) == [("lamp", 0.25), ("left", 0.0)]
    assert guard.timeouts == 2 and guard.expired() == []  # fan: no timeout, dropped uncounted
    apply_timeouts(guard, pm, link)
    assert len(link.writes) == 2


def test_apply_timeouts_on_a_lost_link_keeps_them_pending():
    clock = Clock()
    guard = CommandTimeouts(0.25, clock=clock)
    guard.touch("motors")
    clock.t += 1.0
    apply_timeouts(guard, loads(MAP), RecordingLink(fail=True))
    assert guard.expired() == ["motors"] and guard.timeouts == 0


def fake_link(stats=None):
    stats = stats if stats is not None else {"rx_frames": 0, "serial_errors": 0}
    return SimpleNamespace(
        firmware_id="2.5 StandardFirmata.ino ", writes=7, stats=lambda: dict(stats)
    )


def fake_sup():
    return SimpleNamespace(
        port="/dev/ttyACM0",
        connects=2,
        reconnects=1,
        board_resets=0,
        last_error="",
        connected=True,
        link=fake_link(),
    )


def test_connection_status():
    sup = fake_sup()
    level, text, values = status.connection(sup, 57600, 1)
    assert (level, text) == (status.OK, "connected")
    assert values["firmware"] == "2.5 StandardFirmata.ino" and values["reconnects"] == 1
    sup.connected, sup.last_error, sup.link = False, "OSError: gone", None
    level, text, values = status.connection(sup, 57600, 1)
    assert level == status.ERROR and text == "disconnected: OSError: gone"
    assert values["firmware"] == "unknown"


def test_link_status_rate_and_rejections():
    stats = {"rx_frames": 50, "serial_errors": 0}
    link = fake_link(stats)
    rejects = RejectCounter(log=lambda _t: None, period_s=5.0)
    rejects.reject("non_finite", "x")
    guard = CommandTimeouts(0.25)
    st = status.LinkStatus(now=0.0)
    level, text, v = st(link, guard, rejects, now=2.0)
    assert (level, text) == (status.OK, "ok")
    assert v["rx_messages_per_s"] == 25.0 and v["rejected_non_finite"] == 1
    assert v["rejected_commands"] == 1 and v["writes"] == 7
    stats.update(rx_frames=60, serial_errors=3)
    level, text, v = st(link, guard, rejects, now=3.0)
    assert (level, text) == (status.WARN, "serial errors seen") and v["rx_messages_per_s"] == 10.0
    level, _text, v = st(None, guard, rejects, now=4.0)
    assert level == status.OK and v["writes"] == 0


def test_encoder_status_warns_on_new_illegal_transitions_only():
    enc = {"left": WheelEncoder(20)}
    st = status.EncoderStatus(enc)
    assert st()[0] == status.OK
    enc["left"].decoder.illegal = 2
    level, text, values = st()
    assert level == status.WARN and text.startswith("2 illegal transitions")
    assert values["left_illegal_transitions"] == 2
    assert st()[0] == status.OK
