"""The ir_range pin-map type: the voltage->distance curve (pure) and firmata_node publishing
sensor_msgs/Range (INFRARED) from an analog pin of the virtual board (real rclpy, real pty)."""

import math

import pytest
from sensor_msgs.msg import Range

from edgebot_common import qos as Q
from edgebot_firmata import pinmap
from edgebot_testing import wait_for

MAP = """board: uno
firmware: StandardFirmata
ir_ranges:
  - {name: ir, channel: 2, frame_id: ir_front_link, rate_hz: 25.0}
  - {name: ir_rear, channel: 3, min_range: 0.17, max_range: 0.5,
     curve: [[0.5, 0.6], [1.0, 0.3], [2.0, 0.15]]}
"""


def test_curve_distance_and_inverse():
    pm = pinmap.loads(MAP)
    ir, rear = pm.ir_ranges
    assert ir.frame_id == "ir_front_link" and ir.rate_hz == 25.0
    for d in (0.11, 0.15, 0.2, 0.33, 0.5, 0.78):  # round trip through the 10-bit ADC
        assert ir.distance(ir.raw(d)) == pytest.approx(d, rel=0.03)
    assert ir.distance(ir.raw(1.5)) == math.inf  # beyond the far end: nothing seen
    assert ir.distance(ir.raw(0.04)) == -math.inf  # nearer than 10 cm: too close
    assert ir.distance(0) == math.inf  # no sensor / 0 V
    assert 0.0 <= ir.volts(math.inf) < ir.volts(2.0) < ir.volts(0.8) == pytest.approx(0.40)
    # a custom curve, and min/max range cutting it
    assert rear.distance(round(1.0 / 5 * 1023)) == pytest.approx(0.3, rel=0.01)
    assert rear.distance(round(0.55 / 5 * 1023)) == math.inf  # ~0.55 m > max_range 0.5
    assert rear.distance(round(1.9 / 5 * 1023)) == -math.inf  # ~0.16 m < min_range 0.17
    # 1/d interpolation: halfway in volts between 0.3 m and 0.15 m is 0.2 m, not 0.225 m
    assert rear.distance(round(1.5 / 5 * 1023)) == pytest.approx(0.2, rel=0.01)


@pytest.mark.parametrize(
    "entry,needle",
    [
        ("{name: ir, channel: 9}", "IR range sensor 'ir': the uno with StandardFirmata has no A9"),
        ("{name: ir, channel: 0, curve: [[1.0, 0.2]]}", "ir_ranges[0] 'ir'.curve"),
        ("{name: ir, channel: 0, curve: [[1.0, 0.2], [0.5, 0.4]]}", "volts must rise"),
        ("{name: ir, channel: 0, curve: [[1.0, 0.2], [.nan, 0.1]]}", "positive finite"),
        ("{name: ir, channel: 0, min_range: 0.5, max_range: 0.2}", "min_range < max_range"),
        ("{name: ir, channel: 0, rate_hz: 0}", "rate_hz = 0"),
        ("{name: ir, channel: 0, vref: 1.0}", "above vref"),
        ("{name: ir, channel: 0, range: 3}", "unknown key(s) ['range']"),
    ],
)
def test_bad_ir_entries_name_the_key(entry, needle):
    with pytest.raises(pinmap.PinMapError) as e:
        pm = pinmap.loads(f"board: uno\nfirmware: StandardFirmata\nir_ranges:\n  - {entry}\n")
        pm.check_board_model()
    assert needle in str(e.value)


def test_ir_sharing_a_pin_with_an_analog_input_is_refused():
    pm = pinmap.loads(
        "board: uno\nanalog_inputs: [{name: light, channel: 2}]\n"
        "ir_ranges: [{name: ir, channel: 2}]\n"
    )
    with pytest.raises(pinmap.PinMapError, match="pin 16 is used twice"):
        pm.check_board_model()


@pytest.fixture
def board(virtual_boards):
    return virtual_boards(board="uno", firmware="StandardFirmata")


def test_node_publishes_ir_range_from_start(procs, ros, board, tmp_path):
    b, link = board
    pm_path = tmp_path / "ir.yaml"
    pm_path.write_text(MAP)
    ir = pinmap.loads(MAP).ir_ranges[0]
    b.set_analog_input(2, ir.raw(0.35))
    b.set_analog_input(3, 0)  # the rear sensor sees nothing
    node = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": link, "pin_map": str(pm_path), "arduino_wait": 0.5},
    )
    front = ros.collect(Range, "ir/range", Q.SENSOR_DATA)
    rear = ros.collect(Range, "ir_rear/range", Q.SENSOR_DATA)
    node.wait_output("pin map applied", timeout=60)
    wait_for(lambda: front and rear, 30, what="ir/range and ir_rear/range")
    m = front[-1]
    assert m.radiation_type == Range.INFRARED and m.header.frame_id == "ir_front_link"
    assert (m.min_range, m.max_range) == pytest.approx((0.10, 0.80))
    assert m.range == pytest.approx(0.35, rel=0.03)
    assert rear[-1].range == math.inf and rear[-1].header.frame_id == "ir_link"
    b.set_analog_input(2, ir.raw(0.05))  # an obstacle closer than 10 cm
    wait_for(lambda: front[-1].range == -math.inf, 20, what="-inf when too close")
    n = len(rear)  # published at its rate, unchanged value
    wait_for(lambda: len(rear) >= n + 5, 20, what="periodic rear range")
    assert node.running()
