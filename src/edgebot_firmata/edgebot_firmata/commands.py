"""Command checks and the command timeout of firmata_node (ROS-free, clock injected).

duties, rejects = wheel_duties(names, velocities, pm, mode="velocity")
guard = CommandTimeouts(timeout_s=0.25); guard.touch("motors"); guard.expired()
apply_timeouts(guard, pm, link)      # expired outputs to their safe value, through the link
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from .pinmap import Motor, PinMap
from .supervisor import LinkLost

Reject = tuple[str, str]  # (reason, detail)


def wheel_duties(
    names: Sequence[str], velocities: Sequence[float], pm: PinMap, mode: str = "velocity"
) -> tuple[list[tuple[Motor, float]], list[Reject]]:
    """A wheel_cmd's (names, velocities) -> ([(motor, duty -1..1)], rejections).

    The whole message is refused (no duties) when it is malformed or holds a non-finite
    value: never move on half a command. Unknown joints are skipped, out-of-range values
    clamped; both are reported."""
    rejects: list[Reject] = []
    if len(velocities) != len(names) or not names:
        return [], [
            (
                "malformed_wheel_cmd",
                f"wheel_cmd with {len(names)} names and {len(velocities)} velocities",
            )
        ]
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        return [], [
            (
                "duplicate_joint",
                f"wheel_cmd names joint(s) {dup} more than once: "
                "rejected (which value would be meant?)",
            )
        ]
    duties = []
    for name, v in zip(names, velocities):
        m = pm.motor_for_joint(name)
        if m is None:
            rejects.append(("unknown_joint", f"wheel_cmd joint {name!r} is not in the pin map"))
            continue
        if not math.isfinite(v):
            return [], rejects + [("non_finite", f"wheel_cmd {name} = {v}: rejected")]
        duty = v if mode == "duty" else v / m.max_wheel_speed
        if abs(duty) > 1.0:
            rejects.append(
                (
                    "out_of_range",
                    f"wheel_cmd {name} = {v}: clamped to duty {math.copysign(1.0, duty):+.0f}",
                )
            )
            duty = math.copysign(1.0, duty)
        duties.append((m, duty))
    return duties, rejects


class CommandTimeouts:
    """Which outputs had no command for longer than ``timeout_s``."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic):
        self.timeout_s = timeout_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self.timeouts = 0

    def touch(self, key: str) -> None:
        self._last[key] = self.clock()

    def reset(self) -> None:
        """Forget every command (after a (re)connect or a board reset: nothing is active)."""
        self._last.clear()

    def expired(self) -> list[str]:
        """Keys whose last command is older than the timeout; each is reported once."""
        now = self.clock()
        return [k for k, t in list(self._last.items()) if now - t > self.timeout_s]

    def done(self, key: str) -> None:
        """The output of ``key`` went to its safe value."""
        if self._last.pop(key, None) is not None:
            self.timeouts += 1

    def drop(self, key: str) -> None:
        """Stop watching ``key`` without counting a timeout."""
        self._last.pop(key, None)


def apply_timeouts(guard: CommandTimeouts, pm: PinMap, link) -> None:
    """Command timeout: motors and PWM outputs whose command expired go to their safe value
    (motors 0, a PWM output its ``safe`` duty when it has a ``timeout``; one without stops
    being watched). A lost link ends the pass: nothing is marked done."""
    for key in guard.expired():
        try:
            if key == "motors":
                for m in pm.motors:
                    link.write_motor(m, 0.0)
            else:
                o = next(o for o in pm.pwm_outputs if o.name == key)
                if not o.timeout:
                    guard.drop(key)
                    continue
                link.write_pwm(o, o.safe)
        except LinkLost:
            return
        guard.done(key)
