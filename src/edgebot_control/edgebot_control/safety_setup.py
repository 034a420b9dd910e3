"""safety_monitor's parameters, wiring and reports, free of rclpy.

The node declares :data:`SPECS`, then hands a ``declare(specs) -> values`` callable to
:func:`load`, which declares the per-source and per-heartbeat parameters
(``sources.<name>.topic/priority/timeout``, ``heartbeats.<name>.topic/type/timeout/blocks``),
checks them and returns a :class:`Setup` (the :class:`~edgebot_control.safety.SafetyLogic`
inputs and the topics to subscribe). :class:`StateReporter` decides when ``safety/state`` is
published and what it says; :func:`diag_report` is the node's diagnostic status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgebot_common.msg_dict import get_message_class
from edgebot_common.params import ParameterError, ParamSpec

from .safety import ACTIVE, IDLE, LIMITED, STOPPED, Heartbeat, Output, SafetyConfig, Source


def names_check(v):
    if any(not isinstance(n, str) or not n or "." in n or "/" in n for n in v):
        return "names must be non-empty strings without '.' or '/'"
    if len(set(v)) != len(v):
        return "names must be unique"
    return None


def type_check(v):
    try:
        get_message_class(v)
    except ValueError as e:
        return str(e)
    return None


SPECS = [
    ParamSpec(
        "rate_hz",
        20.0,
        "rate of cmd_vel output (zero when stopped or idle) [Hz]",
        min=1.0,
        max=1000.0,
    ),
    ParamSpec(
        "max_linear",
        1.0,
        "commands with |linear.x| above this are rejected [m/s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "max_angular",
        4.0,
        "commands with |angular.z| above this are rejected [rad/s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "obstacle_distance", 0.25, "forward motion stops when sonar/range is below [m]", min=0.0
    ),
    ParamSpec(
        "obstacle_hysteresis", 0.05, "forward motion resumes above distance + this [m]", min=0.0
    ),
    ParamSpec(
        "range_timeout",
        0.5,
        "an obstacle reading older than this is forgotten [s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec("estop_on_start", False, "start with the e-stop engaged"),
    ParamSpec(
        "estop_state_file",
        "",
        "file the latched e-stop is kept in across restarts "
        "('' = none: a restarted monitor starts released unless estop_on_start)",
    ),
    ParamSpec(
        "source_names",
        ["teleop", "follower"],
        "velocity sources; each has sources.<name>.topic/priority/timeout",
        item_type=str,
        check=names_check,
    ),
    ParamSpec(
        "heartbeat_names",
        [],
        "supervised topics; each has heartbeats.<name>.topic/type/timeout/blocks",
        type=list,
        item_type=str,
        check=names_check,
    ),
]

DEFAULT_PRIORITY = {"teleop": 100, "follower": 10}


def source_specs(name: str, index: int) -> list[ParamSpec]:
    return [
        ParamSpec(f"sources.{name}.topic", f"{name}/cmd_vel", "geometry_msgs/Twist topic"),
        ParamSpec(
            f"sources.{name}.priority", DEFAULT_PRIORITY.get(name, 50 - index), "higher wins"
        ),
        ParamSpec(
            f"sources.{name}.timeout",
            0.5,
            "ignored when older than this [s]",
            min=0.0,
            min_exclusive=True,
        ),
    ]


def _blocks_check(v, names):
    return None if all(b in names for b in v) else f"must name sources of {names}"


def heartbeat_specs(name: str, source_names: Sequence[str]) -> list[ParamSpec]:
    names = list(source_names)
    return [
        ParamSpec(
            f"heartbeats.{name}.topic",
            "",
            "topic whose messages are the heartbeat",
            check=lambda v: None if v else "must not be empty",
        ),
        ParamSpec(
            f"heartbeats.{name}.type",
            "",
            "its message type, e.g. sensor_msgs/msg/Range",
            check=type_check,
        ),
        ParamSpec(
            f"heartbeats.{name}.timeout",
            1.0,
            "lost when silent this long [s]",
            min=0.0,
            min_exclusive=True,
        ),
        ParamSpec(
            f"heartbeats.{name}.blocks",
            [],
            "sources stopped when lost (empty: all)",
            type=list,
            item_type=str,
            check=lambda v: _blocks_check(v, names),
        ),
    ]


@dataclass
class Setup:
    cfg: SafetyConfig
    sources: list[tuple[Source, str]]  # (source, its topic)
    heartbeats: list[tuple[Heartbeat, str, str]]  # (heartbeat, topic, message type)

    def summary(self) -> str:
        return (
            f"sources {[(s.name, s.priority, t) for s, t in self.sources]}, "
            f"heartbeats {[(h.name, t) for h, t, _ in self.heartbeats]}"
        )


def load(p: dict, declare: Callable[[list[ParamSpec]], dict]) -> Setup:
    """``p``: the values of :data:`SPECS`; ``declare`` declares (and validates) more specs."""
    sources = []
    for i, name in enumerate(p["source_names"]):
        sp = declare(source_specs(name, i))
        sources.append(
            (
                Source(name, sp[f"sources.{name}.priority"], sp[f"sources.{name}.timeout"]),
                sp[f"sources.{name}.topic"],
            )
        )
    prios = [s.priority for s, _ in sources]
    if len(set(prios)) != len(prios):
        raise ParameterError("sources.*.priority", prios, "priorities must be distinct")
    heartbeats = []
    for name in p["heartbeat_names"]:
        hp = declare(heartbeat_specs(name, p["source_names"]))
        hb = Heartbeat(
            name, hp[f"heartbeats.{name}.timeout"], tuple(hp[f"heartbeats.{name}.blocks"])
        )
        heartbeats.append((hb, hp[f"heartbeats.{name}.topic"], hp[f"heartbeats.{name}.type"]))
    cfg = SafetyConfig(
        max_linear=p["max_linear"],
        max_angular=p["max_angular"],
        obstacle_distance=p["obstacle_distance"],
        obstacle_hysteresis=p["obstacle_hysteresis"],
        range_timeout=p["range_timeout"],
    )
    return Setup(cfg, sources, heartbeats)


class StateReporter:
    """``safety/state`` goes out when the state, source or reason kinds change, and at least
    once per ``period`` s; a change into a stop or a limit with reasons is also a warning."""

    def __init__(self, period: float = 1.0):
        self.period = period
        self._last_key = None
        self._last_pub = 0.0

    def update(self, now: float, out: Output, estop: bool) -> tuple[dict | None, str | None]:
        """(the state to publish or None, a warning to log or None)."""
        key = (out.state, out.source, tuple(r.split(" ")[0] for r in out.reasons))
        if key == self._last_key and now - self._last_pub < self.period:
            return None, None
        warn = None
        if key != self._last_key and out.reasons and out.state in (STOPPED, LIMITED):
            warn = f"{out.state}: {'; '.join(out.reasons)}"
        self._last_key, self._last_pub = key, now
        state = {"state": out.state, "source": out.source, "reasons": out.reasons, "estop": estop}
        return state, warn


# diagnostic severities by name (the node maps them onto diagnostic_msgs levels)
SEVERITY = {ACTIVE: "ok", IDLE: "ok", LIMITED: "warn", STOPPED: "warn"}


def diag_report(out: Output, logic, rejects: dict, rejected_total: int) -> tuple[str, str, dict]:
    """(severity 'ok'/'warn'/'error', message, key values) of the monitor's state."""
    level = SEVERITY[out.state]
    if any(r.startswith("heartbeat_lost") for r in out.reasons):
        level = "error"
    msg = out.state + (f" ({out.source})" if out.source else "")
    if out.reasons:
        msg += ": " + "; ".join(out.reasons)
    values = {
        "state": out.state,
        "source": out.source,
        "estop": logic.estop,
        "reasons": "; ".join(out.reasons),
        "last_stop_reason": logic.last_stop_reason,
        "range_m": logic.range if logic.range is not None else "none",
        "rejected_total": rejected_total,
    }
    for k, n in logic.stop_counts.items():
        values[f"stops.{k}"] = n
    for k, n in rejects.items():
        values[f"rejected.{k}"] = n
    return level, msg, values
