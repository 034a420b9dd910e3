"""The Foxglove bridge's parameters (ROS-free: the node declares them, tests read them)."""

from __future__ import annotations

from edgebot_common.params import ParamSpec

from .filters import check_patterns, check_rate_rules

SPECS = [
    ParamSpec("address", "127.0.0.1", "interface to listen on (0.0.0.0: every interface)"),
    ParamSpec(
        "port", 8765, "WebSocket port (0: any free port, printed at startup)", min=0, max=65535
    ),
    ParamSpec("server_name", "edgebot", "name shown by the Foxglove app"),
    ParamSpec(
        "topic_allowlist",
        [".*"],
        "topics advertised (regexes, fully qualified names)",
        item_type=str,
        check=check_patterns,
    ),
    ParamSpec(
        "topic_denylist",
        ["/parameter_events"],
        "topics never advertised (regexes)",
        item_type=str,
        check=check_patterns,
    ),
    ParamSpec(
        "max_rate",
        0.0,
        "Hz: default per-topic maximum rate sent to clients (0 = unlimited)",
        min=0.0,
        renamed_from=("max_rate_hz",),
    ),
    ParamSpec(
        "topic_rates",
        [""],
        "per-topic maximum rates '<regex>=<Hz>', first match wins",
        item_type=str,
        check=lambda v: check_rate_rules([r for r in v if r]),
    ),
    ParamSpec(
        "send_buffer_messages",
        64,
        "per-client queue of data messages; the oldest is dropped when a slow client falls behind",
        min=1,
        max=100000,
    ),
    ParamSpec(
        "client_publish_allowlist",
        [".*/teleop/cmd_vel"],
        "topics clients may publish to (regexes); empty list: client publishing off",
        item_type=str,
        check=check_patterns,
    ),
    ParamSpec(
        "discovery_period",
        1.0,
        "s: how often the topic list is polled",
        min=0.05,
        max=60.0,
        renamed_from=("discovery_period_s",),
    ),
    ParamSpec(
        "time_rate",
        10.0,
        "Hz: rate of server time messages (the node's ROS clock, sim time "
        "under use_sim_time) for the app's clock; 0 = off",
        min=0.0,
        max=1000.0,
        renamed_from=("time_rate_hz",),
    ),
]
