"""The demo counts the same thing as the bridge: QoS 1 telemetry publishes acknowledged by the
broker vs distinct ones (by seq) an independent subscriber received (issue 18: "sent 584,
delivered 598")."""

import json
import types

from edgebot_cli.demo.monitor import first_seq
from edgebot_cli.demo.summary import format_summary, telemetry_figures


def msg(topic, payload, props=None):
    return types.SimpleNamespace(topic=topic, payload=payload, properties=props)


def test_first_seq_of_messages_batches_and_cdr():
    assert first_seq(msg("t", json.dumps({"seq": 7, "stamp": 1, "data": {}}).encode())) == 7
    assert first_seq(msg("t", json.dumps({"batch": [{"seq": 9}, {"seq": 10}]}).encode())) == 9
    assert (
        first_seq(msg("t", b"\x00\x01cdr", types.SimpleNamespace(UserProperty=[("seq", "12")])))
        == 12
    )
    assert first_seq(msg("status", b"online")) is None
    assert first_seq(msg("errors", json.dumps({"count": 3, "by_reason": {}}).encode())) is None


def test_qos1_figures_compare_like_with_like():
    stats = {
        "sent": 584,
        "delivered": 580,
        "by_topic": {
            "edgebot/sim1/odom": {"qos": 1, "messages": 300, "acknowledged": 298},
            "edgebot/sim1/imu": {"qos": 0, "messages": 250, "acknowledged": 250},
            "edgebot/sim1/follower_state": {"qos": 1, "messages": 4, "acknowledged": 4},
        },
    }
    # the subscriber also saw the status topic, error reports, a resend, and 2 newer odom
    counter = {
        "count": 598,
        "topics": {},
        "distinct": {
            "edgebot/sim1/odom": 300,
            "edgebot/sim1/imu": 250,
            "edgebot/sim1/follower_state": 4,
        },
    }
    t = telemetry_figures(stats, counter)
    assert (t["qos1_acknowledged"], t["qos1_received"], t["qos1_lost"]) == (302, 304, 0)
    counter["distinct"]["edgebot/sim1/odom"] = 290
    assert telemetry_figures(stats, counter)["qos1_lost"] == 8
    assert "qos1_acknowledged" not in telemetry_figures({"sent": 1}, {"count": 1, "topics": {}})


def test_summary_line_names_what_is_counted():
    s = {
        "scenario": "x",
        "seed": 1,
        "target": {"class": "ball"},
        "reached": False,
        "time_limit_s": 10,
        "distance_left_m": 1,
        "sim_time_s": 1,
        "wall_time_s": 1,
        "startup_wall_s": 1,
        "real_time_factor_running": 1,
        "detections": {"messages": 0, "per_s": 0, "objects_by_class": {}},
        "follower": {"seconds_by_state": {}},
        "stack": {},
        "crashed": [],
        "end_reason": "x",
        "outputs": {"summary": "s", "plot": "p", "recording": "r"},
        "telemetry": {
            "qos1_acknowledged": 302,
            "qos1_received": 302,
            "qos1_lost": 0,
            "sent": 584,
            "delivered": 598,
            "lost": 0,
        },
    }
    assert (
        "telemetry QoS 1: acknowledged by the broker 302, received by an independent "
        "subscriber 302, lost 0" in format_summary(s)
    )
    s["telemetry"].update(qos1_received=307)
    assert (
        "subscriber 307 (5 acknowledged after the bridge's last stats message), lost 0"
        in format_summary(s)
    )
