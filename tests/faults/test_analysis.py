"""The fault campaign's pure analysis: the board's pin record, stop and standstill times,
recovery, the invariants and the table -- on synthetic records, no processes."""

import time

import analysis as A
import pytest

from edgebot_firmata import pinmap
from edgebot_firmata.virtual_arduino import VirtualArduino
from edgebot_testing import ROOT


def speed_fns():
    pm = pinmap.load(str(ROOT / "config" / "firmata.yaml"))
    return [pm.motor_for_joint(j) for j in ("left_wheel_joint", "right_wheel_joint")]


def events_for(t, duties):
    """Pin events that set the two motors to ``duties`` at time t (via the pin map)."""
    out = []
    for m, d in zip(speed_fns(), duties):
        for pin, kind, v in m.outputs(d):
            out.append(A.PinEvent(t, pin, "PWM" if kind == "pwm" else "OUTPUT", v))
    return out


def timeline(*steps):
    ev = [e for t, duties in steps for e in events_for(t, duties)]
    return A.wheel_timeline(ev, [m.wheel_speed for m in speed_fns()])


def test_the_log_format_and_a_torn_last_line():
    ev = A.parse_board_log("10.5 5 PWM 128\n10.6 7 OUTPUT 1\nrubbish\n10.7 5 PW")
    assert ev == [A.PinEvent(10.5, 5, "PWM", 128.0), A.PinEvent(10.6, 7, "OUTPUT", 1.0)]


def test_pin_events_become_wheel_speeds_with_the_maps_polarity():
    tl = timeline((1.0, (0.5, 0.5)))
    left, right = tl[-1][1]
    assert left == pytest.approx(7.5, abs=0.06) and right == pytest.approx(7.5, abs=0.06)
    assert A.wheels_at(tl, 0.5) == (0.0, 0.0) and A.wheels_at(tl, 2.0) == tl[-1][1]


def test_wheels_zero_is_the_start_of_a_lasting_zero_not_a_brake_pulse_through_it():
    tl = timeline(
        (0.0, (0.5, 0.5)),
        (1.0, (0.2, 0.2)),
        (1.1, (0.0, 0.0)),
        (1.12, (-0.1, -0.1)),
        (1.2, (0.0, 0.0)),
        (3.0, (0.0, 0.0)),
    )
    assert A.first_zero_after(tl, 0.9) == pytest.approx(1.2)
    assert A.first_zero_after(tl, 2.0) == 2.0  # already at zero
    assert A.first_zero_after(timeline((0.0, (0.5, 0.5))), 0.1) is None
    assert A.moved_between(tl, 1.2, 3.0) is False and A.moved_between(tl, 0.5, 1.15)
    assert A.max_speed_between(tl, 1.0, 1.5) == pytest.approx(3.0, abs=0.06)


def T(sim, v, w=0.0, offset=100.0):
    return A.Truth(sim + offset, sim, v, w)


def test_standstill_moving_and_the_clock_mapping():
    truth = [T(i * 0.05, 0.25 if i * 0.05 < 1.4 else 0.0) for i in range(60)]
    assert A.to_sim(truth, 100.5) == pytest.approx(0.5)
    assert A.to_sim(truth, 100.525) == pytest.approx(0.525)
    assert A.standstill_after(truth, 1.0) == pytest.approx(1.4)
    assert A.standstill_after(truth[:30], 1.0) is None  # not still for STILL_HOLD yet
    assert A.moving_after(truth, 0.0) == 0.0 and A.moving_after(truth, 1.5) is None
    turning = [T(0.0, 0.0, 0.5)]
    assert A.is_moving(turning[0]) and not A.is_still(turning[0])


def record(**kw):
    r = {
        "fault": "kill:yolo_node",
        "needed_to_move": True,
        "recovered": True,
        "standstill_sim_s": 0.6,
        "wheels_zero_s": 0.3,
        "recovery_s": 2.0,
        "limits": {
            "standstill_sim_s": 1.0,
            "wheels_zero_s": 0.375,
            "timeout_name": "base_controller command_timeout",
        },
        "telemetry": {"lost": 0},
    }
    r.update(kw)
    return r


def test_each_invariant_is_checked():
    assert A.violations(record()) == []
    assert A.violations(record(standstill_sim_s=1.2)) == ["standstill after 1.20 s > 1 s simulated"]
    assert A.violations(record(standstill_sim_s=None)) == ["never came to a standstill"]
    assert A.violations(record(wheels_zero_s=0.5)) == [
        "wheels at zero after 0.500 s > 0.375 s (1.5 x base_controller command_timeout)"
    ]
    assert A.violations(record(wheels_zero_s=None)) == ["the board never set the wheels to zero"]
    assert A.violations(record(moved_while_held="e-stopped")) == ["moved while e-stopped"]
    assert A.violations(record(recovered=False)) == [
        "did not resume by itself after the fault cleared"
    ]
    assert A.violations(record(leftover_processes=["yolo_node 42"])) == [
        "processes left behind: ['yolo_node 42']"
    ]
    assert A.violations(record(telemetry={"lost": 3}, check_telemetry=True)) == [
        "3 QoS 1 telemetry messages lost"
    ]
    assert A.violations(record(telemetry_wait="timed out", check_telemetry=True)) == [
        "QoS 1 telemetry not accounted: timed out"
    ]
    assert A.violations(record(telemetry={"lost": 3}, telemetry_wait="timed out")) == []
    # a node the rover does not need to move: no standstill required
    assert (
        A.violations(
            record(needed_to_move=False, standstill_sim_s=None, limits={"standstill_sim_s": None})
        )
        == []
    )


def test_table_and_markdown():
    recs = [record(standstill_sim_s=s, violations=[]) for s in (0.5, 0.7, 0.9)]
    recs.append(record(fault="estop", standstill_sim_s=0.3, violations=["moved while e-stopped"]))
    rows = A.table(recs)
    assert rows[0]["trials"] == 3 and rows[0]["standstill_p50_s"] == 0.7
    assert rows[0]["standstill_max_s"] == 0.9 and rows[0]["violations"] == []
    md = A.markdown(rows, "make faults")
    assert "| kill:yolo_node | 3 | 0.70 / 0.90 | 0.300 / 0.300 | 2.0 / 2.0 | - | ok |" in md
    assert "| estop | 1 |" in md and "moved while e-stopped |" in md and "`make faults`" in md


def test_table_sums_telemetry_only_of_the_trials_that_check_it():
    recs = [
        record(fault="broker", check_telemetry=True, telemetry={"sent": 40, "lost": 0}),
        record(fault="broker", check_telemetry=True, telemetry={"sent": 35, "lost": 2}),
        record(fault="kill:yolo_node", telemetry={"sent": 30, "lost": 1}),  # not checked
    ]
    rows = {r["fault"]: r for r in A.table(recs)}
    assert (rows["broker"]["telemetry_sent"], rows["broker"]["lost"]) == (75, 2)
    assert rows["kill:yolo_node"]["lost"] is None
    md = A.markdown(list(rows.values()), "make faults")
    assert "| 75 / 2 |" in md


def test_the_virtual_arduino_keeps_its_own_pin_record(tmp_path):
    """EDGEBOT_BOARD_OUTPUT_LOG / output_log: every output-pin change, with CLOCK_MONOTONIC."""
    log = tmp_path / "board.log"
    board = VirtualArduino(output_log=str(log))
    t0 = time.monotonic()
    # a host's Firmata: pin 5 to PWM, then duty 100 (analog message: 7-bit halves)
    board.board.feed(bytes([0xF4, 5, 3, 0xE5, 100 & 0x7F, 100 >> 7]), t0)
    board.stop()
    ev = A.parse_board_log(log.read_text())
    assert [(e.pin, e.value) for e in ev if e.pin == 5][-1] == (5, 100.0)
    assert all(t0 - 1 <= e.mono <= time.monotonic() for e in ev)
