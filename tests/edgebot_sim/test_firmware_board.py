"""The simulator's Arduino running the real StandardFirmata (edgebot_sim.firmware_board),
driven over its pty like firmata_node does, without ROS: motor pins -> wheel speeds, the
ray-cast distance -> the IR sensor's voltage -> the firmware's analog report, bumper."""

import math
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "edgebot_avr"))

from firmata_wire import INPUT, OUTPUT, PWM, REPORT_ANALOG, REPORT_DIGITAL, FirmataWire

from edgebot_common.node_main import ConfigError
from edgebot_sim.firmware_board import FirmwareArduinoDevice
from edgebot_testing import ROOT, wait_for

PIN_MAP = str(ROOT / "config" / "firmata_standard.yaml")


@pytest.fixture
def dev():
    d = FirmwareArduinoDevice("StandardFirmata", PIN_MAP, speed=3.0)
    d.start()
    yield d
    d.stop()


def test_motor_pins_drive_the_wheels(dev):
    with FirmataWire(dev.board.port) as fw:
        fw.wait_boot()
        assert dev.wheel_velocities() == (0.0, 0.0)
        for pin in (7, 8, 4, 3):
            fw.pin_mode(pin, OUTPUT)
        fw.pin_mode(5, PWM)
        fw.pin_mode(6, PWM)
        # left forward at 50 %: in1 (D7) high, in2 (D8) low; right (mirrored) in2 (D3) high
        fw.port_write(0, (1 << 7) | (1 << 3))
        fw.analog_write(5, 128)
        fw.analog_write(6, 64)
        left, right = wait_for(
            lambda: (v := dev.wheel_velocities())[0] > 0 and v[1] != 0 and v,
            10,
            what="both wheels turning",
        )
        assert left == pytest.approx(15.0 * 129 / 256, rel=0.01)  # Timer0 fast PWM
        assert right == pytest.approx(15.0 * 65 / 256, rel=0.01)  # reversed motor: +
        fw.analog_write(5, 0)
        wait_for(lambda: dev.wheel_velocities()[0] == 0.0, 10, what="left wheel stopped")


def test_ir_range_and_bumper_reach_the_firmware(dev):
    ir = dev.ir_ranges[0]
    with FirmataWire(dev.board.port) as fw:
        fw.wait_boot()
        fw.send(REPORT_ANALOG | ir.channel, 1)
        dev.set_sonar(0.3)
        wait_for(
            lambda: (
                (raw := fw.last("analog", ir.channel)) is not None
                and abs(ir.distance(raw) - 0.3) < 0.01
            ),
            10,
            what="0.3 m through the ADC",
        )
        dev.set_sonar(math.inf)
        wait_for(
            lambda: ir.distance(fw.last("analog", ir.channel)) == math.inf,
            10,
            what="nothing in range",
        )
        fw.pin_mode(2, INPUT)
        fw.send(REPORT_DIGITAL | 0, 1)
        wait_for(
            lambda: (v := fw.last("digital", 0)) is not None and v & 0b100,
            10,
            what="bumper released (pulled up)",
        )
        dev.set_bumper(True)
        wait_for(lambda: not fw.last("digital", 0) & 0b100, 10, what="bumper pressed (low)")
    assert dev.stats()["arduino_opens"] == 1


def test_pin_map_with_a_sonar_is_refused_for_real_firmware():
    with pytest.raises(ConfigError, match="StandardFirmata cannot time"):
        FirmwareArduinoDevice("StandardFirmata", str(ROOT / "config" / "firmata.yaml"))
    with pytest.raises(ConfigError, match="parameter 'arduino.firmware' = 'Nope'.*make setup"):
        FirmwareArduinoDevice("Nope", PIN_MAP)


def test_wheel_speeds_become_encoder_edges_the_firmware_reports(dev):
    (left, ql), (right, qr) = dev.encoders
    assert (left.pin_a, left.pin_b, right.pin_a, right.pin_b) == (10, 12, 17, 18)
    with FirmataWire(dev.board.port) as fw:
        fw.wait_boot()
        for pin in (10, 12, 17, 18):
            fw.pin_mode(pin, INPUT)
        fw.send(REPORT_DIGITAL | 1, 1)
        fw.send(REPORT_DIGITAL | 2, 1)
        n = fw.count()
        # one revolution per second forward: 120 counts/s; the right encoder is mirrored
        t0a = dev.board.sim_time_s
        dev.set_wheel_speeds({"left_wheel_joint": 2 * math.pi, "right_wheel_joint": 2 * math.pi})
        t0b = dev.board.sim_time_s
        assert ql.rate == pytest.approx(120.0) and qr.rate == pytest.approx(-120.0)
        wait_for(lambda: ql.edges >= 60, 20, what="60 edges on the left encoder")
        # edges at emulated time t1 lie between two reads around it (time runs on meanwhile)
        e1, t1, e2 = ql.edges, dev.board.sim_time_s, ql.edges
        assert e1 <= 120 * (t1 - t0a) + 2 and e2 >= 120 * (t1 - t0b) - 2, (e1, e2, t0a, t0b, t1)
        assert qr.edges < 0
        # the firmware saw the pins move: port 1 reports with D10/D12 changing
        states = {(v >> 2) & 0b101 for _, port, v in fw.messages("digital", n) if port == 1}
        assert len(states) == 4, states
        dev.set_wheel_speeds({"left_wheel_joint": 0.0, "right_wheel_joint": 0.0})
        assert ql.rate == 0.0 and qr.rate == 0.0
