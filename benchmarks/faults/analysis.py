"""The fault campaign's pure part (no rclpy, no processes): the board's pin record turned into
wheel speeds, stop and standstill times, recovery, the invariants, the table.

Times: ``mono`` is CLOCK_MONOTONIC seconds (the same clock in every process of the machine: the
board's pin record, the campaign's fault instants, the receipt of ground-truth messages);
``sim`` is the simulator's clock (ground-truth stamps). ``to_sim`` maps one onto the other from
ground-truth samples received.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# a wheel at |speed| below this (rad/s) is at zero: 3.3 % of the motors' 15 rad/s (PWM 8 of
# 255), under a DC motor's breakaway duty. Below it the board may still show the wheel PID's
# residue after a stop (PWM 1-6 for about a second, edgebot_rt's PID braking the coasting
# wheel); every trial records that residue (``residual_rad_s``) so it stays visible.
WHEEL_ZERO = 0.5
# ground truth: standstill below these for STILL_HOLD simulated seconds
STILL_V = 0.01  # m/s
STILL_W = 0.03  # rad/s
STILL_HOLD = 0.3  # s
# the wheels are "at zero" from the first instant after which the board keeps them below
# WHEEL_ZERO for ZERO_HOLD s: a PID braking through zero (a brief reverse pulse) is not a stop
ZERO_HOLD = 0.25  # s
MOVING_V = 0.05  # m/s: "moving" (resumed) above this, or turning above MOVING_W
MOVING_W = 0.15


@dataclass(frozen=True)
class PinEvent:
    mono: float
    pin: int
    mode: str
    value: float


def parse_board_log(text: str) -> list[PinEvent]:
    """``<mono> <pin> <mode> <value>`` lines (edgebot_firmata.virtual_arduino's output log);
    a torn last line (being written) is skipped."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        try:
            out.append(PinEvent(float(parts[0]), int(parts[1]), parts[2], float(parts[3])))
        except ValueError:
            continue
    return out


def wheel_timeline(events: Iterable[PinEvent], speed_fns: Sequence[Callable]) -> list[tuple]:
    """[(mono, (wheel speeds rad/s...))] after every pin change; ``speed_fns`` are
    ``f(read) -> rad/s`` (pinmap Motor.wheel_speed), ``read(pin)`` the pin's last value."""
    pins: dict[int, float] = {}
    read = lambda p: pins.get(p, 0.0)  # noqa: E731
    out = []
    for e in events:
        pins[e.pin] = e.value
        out.append((e.mono, tuple(f(read) for f in speed_fns)))
    return out


def wheels_zero(speeds: Sequence[float]) -> bool:
    return all(abs(s) < WHEEL_ZERO for s in speeds)


def wheels_at(timeline: list[tuple], t: float) -> tuple[float, ...]:
    """Wheel speeds the board outputs at ``t`` (zeros before the first record)."""
    i = bisect.bisect_right([x[0] for x in timeline], t)
    return timeline[i - 1][1] if i else (0.0, 0.0)


def first_zero_after(timeline: list[tuple], t0: float, hold: float = ZERO_HOLD) -> float | None:
    """When the wheels went to zero and stayed there for ``hold`` s (or until the end of the
    record), at or after ``t0`` (``t0`` itself if they already were)."""
    start = t0 if wheels_zero(wheels_at(timeline, t0)) else None
    for t, sp in timeline:
        if t <= t0:
            continue
        if start is not None and t - start >= hold:
            return start
        if wheels_zero(sp):
            start = t if start is None else start
        else:
            start = None
    return start  # zero until the end of the record


def max_speed_between(timeline: list[tuple], t0: float, t1: float) -> float:
    """The largest |wheel speed| the board output between t0 and t1."""
    vals = [abs(x) for x in wheels_at(timeline, t0)]
    vals += [abs(x) for t, sp in timeline if t0 < t <= t1 for x in sp]
    return max(vals) if vals else 0.0


def moved_between(timeline: list[tuple], t0: float, t1: float) -> bool:
    """Did the board drive any wheel between t0 and t1?"""
    if not wheels_zero(wheels_at(timeline, t0)):
        return True
    return any(t0 < t <= t1 and not wheels_zero(sp) for t, sp in timeline)


# -- ground truth ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Truth:
    mono: float  # when received
    sim: float  # its stamp
    v: float  # m/s, forward speed (body)
    w: float  # rad/s


def to_sim(truth: Sequence[Truth], mono: float) -> float | None:
    """The simulated time at monotonic instant ``mono`` (interpolated between samples)."""
    if not truth:
        return None
    ts = [s.mono for s in truth]
    i = bisect.bisect_left(ts, mono)
    if i == 0:
        return truth[0].sim - (truth[0].mono - mono)
    if i >= len(truth):
        return truth[-1].sim + (mono - truth[-1].mono)
    a, b = truth[i - 1], truth[i]
    f = (mono - a.mono) / (b.mono - a.mono) if b.mono > a.mono else 0.0
    return a.sim + f * (b.sim - a.sim)


def is_still(s: Truth) -> bool:
    return abs(s.v) < STILL_V and abs(s.w) < STILL_W


def is_moving(s: Truth) -> bool:
    return abs(s.v) > MOVING_V or abs(s.w) > MOVING_W


def standstill_after(truth: Sequence[Truth], sim0: float) -> float | None:
    """Simulated time of the first standstill after ``sim0`` that lasts STILL_HOLD."""
    start = None
    for s in truth:
        if s.sim < sim0:
            continue
        if is_still(s):
            start = s.sim if start is None else start
            if s.sim - start >= STILL_HOLD:
                return start
        else:
            start = None
    return None


def moving_after(truth: Sequence[Truth], sim0: float) -> float | None:
    for s in truth:
        if s.sim >= sim0 and is_moving(s):
            return s.sim
    return None


def moved_during(truth: Sequence[Truth], sim0: float, sim1: float) -> bool:
    return any(sim0 <= s.sim <= sim1 and is_moving(s) for s in truth)


# -- invariants and table -------------------------------------------------------------------
def violations(r: dict) -> list[str]:
    """The invariants one fault trial broke (``r`` as the campaign records it)."""
    out = []
    lim = r.get("limits", {})
    if r.get("needed_to_move") and lim.get("standstill_sim_s") is not None:
        st = r.get("standstill_sim_s")
        if st is None:
            out.append("never came to a standstill")
        elif st > lim["standstill_sim_s"]:
            out.append(f"standstill after {st:.2f} s > {lim['standstill_sim_s']:g} s simulated")
    if lim.get("wheels_zero_s") is not None:
        wz = r.get("wheels_zero_s")
        if wz is None:
            out.append("the board never set the wheels to zero")
        elif wz > lim["wheels_zero_s"]:
            out.append(
                f"wheels at zero after {wz:.3f} s > {lim['wheels_zero_s']:.3f} s "
                f"(1.5 x {lim.get('timeout_name', 'the command timeout')})"
            )
    if r.get("moved_while_held"):
        out.append(f"moved while {r['moved_while_held']}")
    if r.get("expect_recovery", True) and not r.get("recovered"):
        out.append("did not resume by itself after the fault cleared")
    if r.get("bridge_error"):
        out.append(f"MQTT bridge: {r['bridge_error']}")
    if r.get("leftover_processes"):
        out.append(f"processes left behind: {r['leftover_processes']}")
    lost = (r.get("telemetry") or {}).get("lost")
    if r.get("check_telemetry") and lost:
        out.append(f"{lost} QoS 1 telemetry messages lost")
    if r.get("check_telemetry") and r.get("telemetry_wait"):
        out.append(f"QoS 1 telemetry not accounted: {r['telemetry_wait']}")
    return out


def _p50(xs):
    return round(statistics.median(xs), 3) if xs else None


def table(records: list[dict]) -> list[dict]:
    """One row per fault: stop times (standstill, simulated; wheels zero, wall) p50/max over
    its trials, recovery time p50/max, messages lost, violations."""
    rows: dict[str, dict] = {}
    for r in records:
        if r.get("skipped"):
            continue
        row = rows.setdefault(
            r["fault"],
            {
                "fault": r["fault"],
                "trials": 0,
                "_st": [],
                "_wz": [],
                "_rec": [],
                "lost": None,  # QoS 1 telemetry, in the trials that check it
                "telemetry_sent": None,
                "violations": [],
            },
        )
        row["trials"] += 1
        for key, src in (
            ("_st", "standstill_sim_s"),
            ("_wz", "wheels_zero_s"),
            ("_rec", "recovery_s"),
        ):
            if r.get(src) is not None:
                row[key].append(r[src])
        tel = r.get("telemetry") or {}
        if r.get("check_telemetry") and tel.get("lost") is not None:
            row["lost"] = (row["lost"] or 0) + tel["lost"]
            row["telemetry_sent"] = (row["telemetry_sent"] or 0) + (tel.get("sent") or 0)
        row["violations"] += r.get("violations", [])
    out = []
    for row in rows.values():
        st, wz, rec = row.pop("_st"), row.pop("_wz"), row.pop("_rec")
        row.update(
            {
                "standstill_p50_s": _p50(st),
                "standstill_max_s": max(st) if st else None,
                "wheels_zero_p50_s": _p50(wz),
                "wheels_zero_max_s": max(wz) if wz else None,
                "recovery_p50_s": _p50(rec),
                "recovery_max_s": max(rec) if rec else None,
            }
        )
        out.append(row)
    return out


def _f(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def _tel(r):
    if r.get("lost") is None:
        return "-"
    return f"{r.get('telemetry_sent') or 0} / {r['lost']}"


def markdown(rows: list[dict], command: str) -> str:
    lines = [
        f"Produced by `{command}`. Standstill: simulated seconds from the fault to the rover "
        f"at rest (simulator ground truth); wheels zero: wall seconds from the fault to the "
        f"board's motor pins at zero (the virtual Arduino's own pin record); recovery: wall "
        f"seconds from the fault clearing (node restarted, SIGCONT, e-stop released, hook "
        f"off) to the rover moving again; QoS 1 telemetry: entries the bridge reported sent "
        f"during the trials / of them never received by an independent subscriber (checked in "
        f"the broker and bridge trials, message by message).",
        "",
        "| fault | trials | standstill p50 / max [s] | wheels zero p50 / max [s] | "
        "recovery p50 / max [s] | QoS 1 telemetry sent / lost | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = "ok" if not r["violations"] else "; ".join(sorted(set(r["violations"])))
        lines.append(
            f"| {r['fault']} | {r['trials']} | {_f(r['standstill_p50_s'])} / "
            f"{_f(r['standstill_max_s'])} | {_f(r['wheels_zero_p50_s'], 3)} / "
            f"{_f(r['wheels_zero_max_s'], 3)} | {_f(r['recovery_p50_s'], 1)} / "
            f"{_f(r['recovery_max_s'], 1)} | {_tel(r)} | {verdict} |"
        )
    return "\n".join(lines) + "\n"
