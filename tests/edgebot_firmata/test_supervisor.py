"""LinkSupervisor, CommandTimeouts and the pure board model, without processes or ptys.

The supervisor is driven with a fake clock and a scripted link object (our own BoardLink
interface, not a serial or ROS mock): connect failures, backoff, a vanished port coming back,
a silent board, a board that reset itself."""

import pytest

from edgebot_common.backoff import Backoff
from edgebot_firmata import protocol as P
from edgebot_firmata.board_model import FirmataBoard
from edgebot_firmata.commands import CommandTimeouts, wheel_duties
from edgebot_firmata.pinmap import PinMapError, loads
from edgebot_firmata.supervisor import LinkLost, LinkSupervisor


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class ScriptedLink:
    """A board link whose connect/probe results the test scripts."""

    def __init__(self, port, world):
        self.port = port
        self.world = world
        self.client = None
        self.firmware_id = "1.2 FirmataExpress.ino"
        self.closed = []
        self.reapplied = 0

    @property
    def connected(self):
        return self.client is not None and not self.world.get("lost")

    def connect(self):
        self.world["attempts"] += 1
        err = self.world.get("connect_error")
        if err is not None:
            raise err
        self.client = object()
        self.world["lost"] = None

    def lost_reason(self):
        if self.client is None:
            return "not connected"
        return self.world.get("lost")

    def probe(self):
        state = self.world.get("probe", "ok")
        if state == "raise":
            raise LinkLost("gone")
        return state

    def reapply(self):
        self.reapplied += 1

    def mark_lost(self, reason):
        self.world["lost"] = reason

    def close(self, reset=True):
        self.closed.append(reset)
        self.client = None


def make_sup(world, clock, port="/dev/ttyACM0", **kw):
    logs, events = [], []
    world.setdefault("attempts", 0)
    world.setdefault("exists", {port})
    sup = LinkSupervisor(
        lambda p: ScriptedLink(p, world),
        port,
        Backoff(0.5, 3.0, jitter=0.0, clock=clock),
        clock=clock,
        exists=lambda p: p in world["exists"],
        log=lambda lvl, text: logs.append((lvl, text)),
        on_connected=lambda link: events.append("connected"),
        on_outputs_reset=lambda: events.append("safe"),
        **kw,
    )
    return sup, logs, events


def test_connects_first_time_and_probes_once_a_second():
    world, clock = {}, Clock()
    sup, logs, events = make_sup(world, clock)
    assert sup.connect_first() and sup.connected
    assert events == ["safe", "connected"] and sup.connects == 1
    world["probe"] = "silent"
    for _ in range(10):  # 10 steps within the same second: one probe
        assert sup.step() == pytest.approx(0.1)
    assert sup._silent == 0
    for _i in range(3):
        clock.t += 1.01
        sup.step()
    assert world["lost"] == "board does not answer (3 pin state queries)"
    sup.step()  # the loss is handled: closed with a reset
    assert sup.link.closed == [True] and events[-1] == "safe"
    assert any("link lost: board does not answer" in t for lvl, t in logs if lvl == "error")


def test_failed_connects_back_off_and_count_reconnects():
    world, clock = {"connect_error": OSError("no such device")}, Clock()
    sup, logs, events = make_sup(world, clock)
    assert not sup.connect_first()
    assert sup.last_error == "OSError: no such device" and logs[0][0] == "warning"
    attempts = world["attempts"]
    sup.step()  # backoff not due: no attempt
    assert world["attempts"] == attempts
    clock.t += 0.51
    sup.step()
    assert world["attempts"] == attempts + 1
    clock.t += 0.51  # the second delay is 1.0 s
    sup.step()
    assert world["attempts"] == attempts + 1
    clock.t += 0.5
    world["connect_error"] = None
    sup.step()
    assert sup.connected and sup.reconnects == 0 and sup.connects == 1
    assert sup.last_error == ""


def test_vanished_port_retried_at_once_when_it_reappears():
    world, clock = {}, Clock()
    sup, logs, events = make_sup(world, clock)
    sup.connect_first()
    world["lost"] = "port vanished"
    world["exists"] = set()
    sup.step()  # lost: closed, backoff scheduled
    world["connect_error"] = OSError("gone")
    clock.t += 0.6
    sup.step()  # fails, port missing
    n = world["attempts"]
    clock.t += 0.01  # well inside the next backoff delay
    sup.step()
    assert world["attempts"] == n
    world["exists"] = {"/dev/ttyACM0"}
    world["connect_error"] = None
    sup.step()  # the port came back: tried at once
    assert world["attempts"] == n + 1 and sup.connected and sup.reconnects == 1


def test_board_reset_reapplies_the_map_outputs_safe_first():
    world, clock = {}, Clock()
    sup, logs, events = make_sup(world, clock)
    sup.connect_first()
    world["probe"] = "reset"
    clock.t += 1.01
    sup.step()
    assert sup.board_resets == 1 and sup.link.reapplied == 1 and events[-1] == "safe"
    assert any("re-applying the pin map" in t for _, t in logs)


def test_pin_map_error_propagates_from_the_first_connect():
    world, clock = {"connect_error": PinMapError("pin 44 (PWM output 'lamp')")}, Clock()
    sup, _, _ = make_sup(world, clock)
    with pytest.raises(PinMapError):
        sup.connect_first()


def test_auto_detect_tries_each_candidate():
    world, clock = {}, Clock()
    tried = []

    class Picky(ScriptedLink):
        def connect(self):
            tried.append(self.port)
            if self.port != "/dev/ttyUSB0":
                raise OSError("not a Firmata board")
            super().connect()

    sup = LinkSupervisor(
        lambda p: Picky(p, world),
        "",
        Backoff(0.5, 3.0, clock=clock),
        clock=clock,
        candidates=lambda: ["/dev/ttyACM0", "/dev/ttyUSB0"],
    )
    world["attempts"] = 0
    assert sup.connect_first() and sup.port == "/dev/ttyUSB0"
    assert tried == ["/dev/ttyACM0", "/dev/ttyUSB0"]


def test_command_timeouts_with_an_injected_clock():
    clock = Clock()
    g = CommandTimeouts(0.25, clock=clock)
    g.touch("motors")
    g.touch("lamp")
    clock.t += 0.2
    assert g.expired() == []
    clock.t += 0.1
    assert sorted(g.expired()) == ["lamp", "motors"]
    g.done("motors")
    g.drop("lamp")
    assert g.expired() == [] and g.timeouts == 1
    g.touch("motors")
    g.reset()
    clock.t += 1.0
    assert g.expired() == []


PM = loads(
    "board: uno\nmotors:\n"
    "  - {name: left, joint: left_wheel_joint, driver: dir, pwm: 5, dir: 7}\n"
    "  - {name: right, joint: right_wheel_joint, driver: dir, pwm: 6, dir: 4}\n"
)


def test_wheel_duties_checks():
    duties, rej = wheel_duties(["left_wheel_joint", "right_wheel_joint"], [7.5, 30.0], PM)
    assert [d for _, d in duties] == [0.5, 1.0] and rej[0][0] == "out_of_range"
    assert wheel_duties(["left_wheel_joint"], [], PM)[1][0][0] == "malformed_wheel_cmd"
    duties, rej = wheel_duties(["left_wheel_joint", "right_wheel_joint"], [1.0, float("nan")], PM)
    assert duties == [] and rej[-1][0] == "non_finite"
    duties, rej = wheel_duties(["front", "left_wheel_joint"], [1.0, -0.5], PM, mode="duty")
    assert [d for _, d in duties] == [-0.5] and rej[0][0] == "unknown_joint"


def test_board_model_pure_feed_and_tick():
    b = FirmataBoard(board="uno", firmware="FirmataExpress", now=0.0)
    assert b.host_opened(0.0) == b""  # FirmataExpress stays quiet at boot
    out = b.feed(P.sysex(P.REPORT_FIRMWARE), 0.0)
    assert out[:4] == bytes([P.START_SYSEX, P.REPORT_FIRMWARE, 1, 2])
    out = b.feed(bytes([P.SET_PIN_MODE, 3, P.PWM, P.ANALOG_MESSAGE | 3, 100, 0]), 0.0)
    assert b.output(3) == 100 and b.pin_mode(3) == "PWM"
    b.set_analog_input(0, 700)
    b.feed(bytes([P.REPORT_ANALOG | 0, 1]), 0.0)
    out = b.tick(0.02)  # one sampling interval (19 ms) later
    assert bytes([P.ANALOG_MESSAGE | 0, 700 & 0x7F, 700 >> 7]) in out
    assert b.next_tick_at() == pytest.approx(0.038)
    b.feed(bytes([P.SET_PIN_MODE, 2, P.PULLUP, P.REPORT_DIGITAL | 0, 1]), 0.0)
    b.set_digital_input(2, False)
    assert b.tick(0.021) == bytes([P.DIGITAL_MESSAGE | 0, 0, 0])
    b.feed(P.sysex(P.KEEP_ALIVE, [1, 0]), 1.0)
    b.tick(2.5)  # silent longer than 1 s: watchdog reset
    assert b.keepalive_expired and b.output(3) == 0 and b.pin_mode(3) == "OUTPUT"


def test_a_board_that_does_not_speak_firmata_gets_a_clear_error():
    """pymata4's 'Invalid Arduino ID reply length' (a silent port, a non-Firmata sketch, the
    wrong baud) becomes one line naming the port, the baud and what was expected."""
    from edgebot_firmata.supervisor import explain_connect_error

    e = explain_connect_error(
        RuntimeError("Invalid Arduino ID reply length"), "/dev/ttyACM0", 115200
    )
    assert isinstance(e, ConnectionError)
    text = str(e)
    assert "/dev/ttyACM0" in text and "115200 baud" in text
    assert "StandardFirmata" in text and "FirmataExpress" in text
    other = OSError(2, "No such file or directory")
    assert explain_connect_error(other, "/dev/ttyACM0", 115200) is other
