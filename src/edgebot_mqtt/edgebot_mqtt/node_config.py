"""mqtt_bridge's ROS parameters (ROS-free): their specs, and how they override the mapping file."""

from __future__ import annotations

from edgebot_common.params import ParamSpec

SPECS = [
    ParamSpec(
        "config",
        "",
        "bridge mapping YAML (telemetry, commands, services, broker, spool); "
        "empty = defaults + the parameters below",
    ),
    ParamSpec(
        "profile",
        "",
        "broker profile: generic, aws_iot (config/mqtt/<name>.yaml next to "
        "the mapping) or a path; empty = the mapping's own 'profile'",
    ),
    ParamSpec("robot_id", "", "fills {robot_id} in MQTT topics; empty = the mapping's"),
    ParamSpec("broker.host", "", "broker host; empty = from the mapping"),
    ParamSpec(
        "broker.port",
        0,
        "broker port; 0 = from the mapping (embedded: a free port)",
        min=0,
        max=65535,
    ),
    ParamSpec(
        "broker.embedded",
        False,
        "start an embedded amqtt broker (MQTT 3.1.1, plain TCP) in this process and connect to it",
    ),
    ParamSpec(
        "broker.transport",
        "",
        "tcp or websockets; empty = from the mapping",
        choices=["", "tcp", "websockets"],
    ),
    ParamSpec("broker.username", "", "empty = from the mapping"),
    ParamSpec("broker.password", "", "empty = from the mapping"),
    ParamSpec("broker.tls.ca_file", "", "CA bundle (PEM); setting it enables TLS"),
    ParamSpec("broker.tls.cert_file", "", "client certificate (PEM) for mutual TLS"),
    ParamSpec("broker.tls.key_file", "", "client key (PEM) for mutual TLS"),
    ParamSpec("spool.path", "", "SQLite spool file; empty = from the mapping"),
    ParamSpec("stats_period", 1.0, "period of mqtt/stats and diagnostics [s]", min=0.05, max=60.0),
]


def overrides(p: dict) -> dict:
    """ROS parameters -> a mapping merged over the file (empty / 0 = keep the file's)."""
    b: dict = {
        k: p[f"broker.{k}"]
        for k in ("host", "transport", "username", "password", "port")
        if p[f"broker.{k}"]
    }
    if p["broker.embedded"]:
        b["embedded"] = True
    tls = {
        k: p[f"broker.tls.{k}"]
        for k in ("ca_file", "cert_file", "key_file")
        if p[f"broker.tls.{k}"]
    }
    if tls:
        b["tls"] = dict(tls, enabled=True)
    o: dict = {k: p[k] for k in ("profile", "robot_id") if p[k]}
    if b:
        o["broker"] = b
    if p["spool.path"]:
        o["spool"] = {"path": p["spool.path"]}
    return o
