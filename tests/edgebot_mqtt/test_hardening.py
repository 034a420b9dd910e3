"""The fault campaign's MQTT findings (issue 18), against a real mosquitto and a real bridge:
retained commands ignored on every (re)subscribe, a flood of rejected commands reported in
aggregated error reports inside the publish budget, hostile payloads rejected with a reason and
counted, and the connection error cleared on connect."""

import json
import time
from collections import Counter

import paho.mqtt.client as mqtt
import pytest

from edgebot_testing import wait_for
from mqtt_testing import Collector, Mosquitto, publisher, start_bridge, stats_of

CMD_VEL = {
    "mqtt_topic": "edgebot/{robot_id}/cmd/cmd_vel",
    "ros_topic": "teleop/cmd_vel",
    "type": "geometry_msgs/msg/Twist",
    "ranges": {"linear.x": [-0.5, 0.5]},
    "max_size": 100000,
    "max_rate": 20,
}
WHEEL_CMD = {
    "mqtt_topic": "edgebot/{robot_id}/cmd/wheel_cmd",
    "ros_topic": "wheel_cmd",
    "type": "sensor_msgs/msg/JointState",
    "max_rate": 1000,
}


def reported(payloads) -> Counter:
    total = Counter()
    for p in payloads:
        total.update(json.loads(p)["by_reason"])
    return total


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_retained_command_ignored_on_every_subscribe(procs, ros, mosquitto, tmp_path, protocol):
    from std_msgs.msg import String

    broker = mosquitto()
    cli = publisher(broker.port)
    # someone published a motion command with retain: the broker hands it to every subscriber
    cli.publish(
        "edgebot/r1/cmd/cmd_vel", json.dumps({"linear": {"x": 0.2}}), qos=1, retain=True
    ).wait_for_publish(10)
    stats = ros.collect(String, "mqtt/stats")
    extra = {"broker": {"protocol": protocol}}
    for run in range(2):  # a bridge restart subscribes again: delivered again, ignored again
        stats.clear()
        b = start_bridge(
            procs, tmp_path, broker.port, commands=[CMD_VEL], extra=extra, name=f"bridge{run}"
        )
        s = wait_for(
            lambda: (
                stats and stats_of(stats)["rejected_by_reason"].get("retained") and stats_of(stats)
            ),
            60,
            what="the retained command counted",
        )
        assert s["rejected_by_reason"] == {"retained": 1} and s["commands_accepted"] == 0
        b.stop()
    cli.loop_stop()


def test_flood_and_hostile_commands_reported_within_budget(procs, ros, mosquitto, tmp_path):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    broker = mosquitto()
    twists = ros.collect(Twist, "teleop/cmd_vel")
    wheels = ros.collect(JointState, "wheel_cmd")
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(
        procs,
        tmp_path,
        broker.port,
        commands=[CMD_VEL, WHEEL_CMD],
        extra={"limits": {"max_publish_rate": 100, "error_period": 1.0}},
    )
    sub = Collector(broker.port, ["edgebot/r1/errors", "edgebot/r1/status"])
    wait_for(
        lambda: sub.payloads("edgebot/r1/status")[-1:] == [b"online"], 30, what="bridge online"
    )
    cli = publisher(broker.port)
    # valid probes until one reaches ROS on each route (DDS matched both ways)
    probe_js = json.dumps({"name": ["probe_joint"], "velocity": [0.0]})
    wait_for(
        lambda: (
            cli.publish("edgebot/r1/cmd/wheel_cmd", probe_js, qos=1).wait_for_publish(10) or wheels
        ),
        60,
        interval=0.3,
        what="a probe wheel_cmd on ROS",
    )
    wait_for(
        lambda: (
            cli.publish("edgebot/r1/cmd/cmd_vel", '{"linear": {"x": 0.1}}', qos=1).wait_for_publish(
                10
            )
            or twists
        ),
        60,
        interval=0.3,
        what="a probe cmd_vel on ROS",
    )
    time.sleep(1.5)  # past the rate limit's burst used by the probes
    base = stats_of(stats)
    hostile = {
        "not_finite": ("cmd_vel", b'{"linear": {"x": 1' + b"0" * 400 + b"}}"),
        "too_deep": ("cmd_vel", b'{"linear": ' + b"[" * 2000 + b"]" * 2000 + b"}"),
        "bad_string": ("cmd_vel", b'{"linear": {"x": 0.1}, "angular": {"z": "\\ud800"}}'),
        "duplicate_name": (
            "wheel_cmd",
            json.dumps(
                {"name": ["left_wheel_joint", "left_wheel_joint"], "velocity": [1.0, 2.0]}
            ).encode(),
        ),
    }
    for topic, payload in hostile.values():
        cli.publish(f"edgebot/r1/cmd/{topic}", payload, qos=1).wait_for_publish(10)
    # the flood: 2,000 valid commands at ~500/s on a route limited to 20/s
    n = 2000
    t0 = time.monotonic()
    for _i in range(n):
        cli.publish("edgebot/r1/cmd/cmd_vel", json.dumps({"linear": {"x": 0.2}}), qos=0)
        time.sleep(0.002)

    def rejected_since_base():
        s = stats_of(stats)
        return Counter(s["rejected_by_reason"]) - Counter(base["rejected_by_reason"])

    wait_for(
        lambda: (
            sum(rejected_since_base().values())
            + stats_of(stats)["commands_accepted"]
            - base["commands_accepted"]
            >= n + len(hostile)
            and stats_of(stats)["errors_pending"] == 0
        ),
        60,
        what="every command accepted or rejected, every rejection reported",
    )
    elapsed = time.monotonic() - t0  # the flood took at most this long to go through
    rej = rejected_since_base()
    for reason in hostile:
        assert rej[reason] == 1, rej
    accepted = stats_of(stats)["commands_accepted"] - base["commands_accepted"]
    # 20/s over the time it took, + the bucket's 1 s burst
    assert rej["rate_limited"] == n - accepted and 0 < accepted <= 20 * elapsed + 21, (
        accepted,
        elapsed,
    )
    # every rejection is in a report: the counts of all reports add up to the bridge's own count
    wait_for(
        lambda: (
            reported(sub.payloads("edgebot/r1/errors"))
            == Counter(stats_of(stats)["rejected_by_reason"])
        ),
        30,
        what="reports add up to the stats",
    )
    reports = [json.loads(p) for p in sub.payloads("edgebot/r1/errors")]
    # at most one report per error_period (+ the first after a quiet period), far under the
    # 100 publishes/s budget -- instead of one per rejection
    span = reports[-1]["stamp"] - reports[0]["stamp"]
    assert len(reports) <= span / 1.0 + 3, (len(reports), span)
    assert len(reports) < n / 20
    # none of the hostile commands reached ROS
    assert not [w for w in wheels if list(w.name) != ["probe_joint"]]
    assert all(t.linear.x in (0.1, 0.2) for t in twists)
    cli.loop_stop()
    sub.close()


def test_connection_error_cleared_on_connect(procs, ros, tmp_path):
    """`connection.last_error` says why while the broker is away and is empty once connected;
    command rejections never appear in it."""
    from std_msgs.msg import String

    from edgebot_testing import free_port

    port = free_port()
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(procs, tmp_path, port, commands=[CMD_VEL])
    s = wait_for(
        lambda: (
            stats
            and "cannot connect" in stats_of(stats)["connection"]["last_error"]
            and stats_of(stats)
        ),
        60,
        what="connection error while the broker is away",
    )
    assert not s["connected"] and s["connection"]["last_error_at"] is not None
    down_since = s["connection"]["since"]
    broker = Mosquitto(procs, tmp_path / "broker", port=port).start()
    s = wait_for(lambda: stats_of(stats)["connected"] and stats_of(stats), 60, what="connected")
    assert s["connection"]["last_error"] == "" and s["connection"]["last_error_at"] is None
    assert s["connection"]["since"] >= down_since and s["connection"]["state"] == "connected"
    cli = publisher(broker.port, protocol=mqtt.MQTTv5)
    cli.publish("edgebot/r1/cmd/cmd_vel", b"{bad", qos=1).wait_for_publish(10)
    s = wait_for(lambda: stats_of(stats)["rejected"] >= 1 and stats_of(stats), 30, what="rejection")
    assert s["connection"]["last_error"] == "" and s["rejected_by_reason"] == {"malformed_json": 1}
    cli.loop_stop()
