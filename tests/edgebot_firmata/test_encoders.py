"""Quadrature decoding (pure) and the encoders pin-map type."""

import math

import pytest

from edgebot_firmata import pinmap
from edgebot_firmata.encoders import QuadratureDecoder, WheelEncoder

FWD = [(0, 0), (1, 0), (1, 1), (0, 1)]  # A leads B


def feed(dec, seq, t0=0.0, dt=0.001):
    for i, (a, b) in enumerate(seq):
        dec.update(a, b, t0 + i * dt)


def test_counts_both_directions_x4():
    d = QuadratureDecoder()
    feed(d, FWD * 25 + [(0, 0)])  # 100 edges forward (first report: state)
    assert d.count == 100 and d.illegal == 0
    feed(d, list(reversed(FWD)) * 10)  # (0,1),(1,1),(1,0),(0,0): backwards
    assert d.count == 60
    assert d.illegal == 0


def test_repeated_state_no_count_and_a_skipped_state_is_illegal():
    d = QuadratureDecoder()
    feed(d, [(0, 0), (0, 0), (1, 0), (1, 0)])
    assert d.count == 1
    d.update(0, 1, 1.0)  # 10 -> 01: both changed, an edge missed
    assert d.count == 1 and d.illegal == 1
    d.reset()
    d.update(1, 1, 2.0)  # after a reconnect: state only
    assert d.count == 1 and d.illegal == 1


def test_velocity_and_scale():
    w = WheelEncoder(counts_per_rev=400, reversed_=True)
    assert w.velocity(0.0) == 0.0
    feed(w.decoder, FWD * 50 + [(0, 0)])  # 200 counts = half a turn
    assert w.position == pytest.approx(-math.pi)
    assert w.velocity(0.5) == pytest.approx(-math.pi / 0.5)
    assert w.velocity(1.0) == 0.0  # no counts in the last window


def test_encoder_pin_map():
    pm = pinmap.loads(
        "board: uno\nfirmware: StandardFirmata\nencoders:\n"
        "  - {name: left_enc, joint: left_wheel_joint, pin_a: 2, pin_b: 3,"
        " counts_per_rev: 1920}\n"
    )
    pm.check_board_model()
    assert pm.encoders[0].counts_per_rev == 1920.0
    bad = pinmap.loads("board: uno\nencoders:\n  - {name: e, joint: j, pin_a: 2, pin_b: 2}\n")
    with pytest.raises(pinmap.PinMapError, match="pin 2 is used twice"):
        bad.check_board_model()
    with pytest.raises(pinmap.PinMapError, match="counts_per_rev = 0"):
        pinmap.loads("encoders:\n  - {name: e, joint: j, pin_a: 2, pin_b: 3, counts_per_rev: 0}")
    with pytest.raises(pinmap.PinMapError, match="has two encoders"):
        pinmap.loads(
            "encoders:\n  - {name: e, joint: j, pin_a: 2, pin_b: 3}\n"
            "  - {name: f, joint: j, pin_a: 4, pin_b: 7}\n"
        )
