"""Connections against real mosquitto: mutual TLS, wrong CA, rogue client certificate,
WebSockets, password + ACL, wrong password, a silent broker; the embedded amqtt broker."""

import json
import socket
import threading
import time

import paho.mqtt.client as mqtt

from edgebot_testing import free_port, wait_for
from mqtt_testing import Collector, prime, start_bridge, stats_of

IMU_ROUTE = {
    "ros_topic": "imu/data",
    "type": "sensor_msgs/msg/Imu",
    "mqtt_topic": "edgebot/{robot_id}/imu",
    "qos": 1,
    "fields": ["angular_velocity.z"],
}


def bridge(procs, tmp_path, port, telemetry=(IMU_ROUTE,), broker=None, params=None, name="bridge"):
    return start_bridge(
        procs,
        tmp_path,
        port,
        telemetry=telemetry,
        extra={"broker": broker or {}},
        params=params,
        name=name,
    )


def imu(z):
    from sensor_msgs.msg import Imu

    m = Imu()
    m.angular_velocity.z = float(z)
    return m


def real(entries):
    """The fed entries (angular_velocity.z 0, 1, ...): the probes of feed() left out."""
    return [e for e in entries if e["data"]["angular_velocity"]["z"] >= 0.0]


def feed(ros, arrived, n=5, topic="imu/data"):
    """Probes (angular_velocity.z < 0) until ``arrived()`` shows one came through the bridge,
    then n messages with angular_velocity.z = 0, 1, ..."""
    from sensor_msgs.msg import Imu

    pub = ros.publisher(Imu, topic)
    ros.wait_subscribers(pub, 1, timeout=60)
    prime(pub, lambda k: imu(-1.0 - k), arrived)
    for i in range(n):
        m = Imu()
        m.angular_velocity.z = float(i)
        pub.publish(m)
        time.sleep(0.02)


def wait_stats(stats, pred, what, timeout=40):
    return wait_for(lambda: stats and pred(stats_of(stats)) and stats_of(stats), timeout, what=what)


def test_mutual_tls_then_wrong_ca_and_rogue_cert(procs, ros, mosquitto, tmp_path, certs):
    from std_msgs.msg import String

    broker = mosquitto(tls=certs)
    sub = Collector(broker.port, ["edgebot/r1/#"])
    good = bridge(
        procs,
        tmp_path,
        broker.tls_port,
        params={
            "broker.tls.ca_file": certs["ca.crt"],
            "broker.tls.cert_file": certs["client.crt"],
            "broker.tls.key_file": certs["client.key"],
        },
        name="tls_ok",
    )
    good.wait_output("TLS)", 60)
    feed(ros, lambda: sub.entries("edgebot/r1/imu"), 5)
    wait_for(lambda: len(real(sub.entries("edgebot/r1/imu"))) >= 5, 30, what="telemetry over TLS")
    good.stop()
    stats = ros.collect(String, "mqtt/stats")
    # a CA that did not sign the broker's certificate: never connects, says why
    bad = bridge(
        procs,
        tmp_path / "x",
        broker.tls_port,
        params={
            "broker.tls.ca_file": certs["wrong_ca.crt"],
            "broker.tls.cert_file": certs["client.crt"],
            "broker.tls.key_file": certs["client.key"],
        },
        name="tls_wrong_ca",
    )
    s = wait_stats(
        stats, lambda s: "certificate" in s["connection"]["last_error"], "wrong-CA error"
    )
    assert not s["connected"] and "TLS" in s["connection"]["last_error"]
    bad.stop()
    stats.clear()
    # our CA is right, but the client certificate is not signed by the broker's CA
    rogue = bridge(
        procs,
        tmp_path / "y",
        broker.tls_port,
        params={
            "broker.tls.ca_file": certs["ca.crt"],
            "broker.tls.cert_file": certs["rogue_client.crt"],
            "broker.tls.key_file": certs["rogue_client.key"],
        },
        name="tls_rogue",
    )
    s = wait_stats(
        stats,
        lambda s: s["connection"]["last_error"] and s["state"] != "connected",
        "rogue-cert error",
    )
    assert not s["connected"] and s["connects"] == 0
    assert "retrying" in rogue.output()
    sub.close()


def test_websockets(procs, ros, mosquitto, tmp_path):
    broker = mosquitto(ws=True)
    sub = Collector(broker.port, ["edgebot/r1/imu"])
    b = bridge(procs, tmp_path, broker.ws_port, broker={"transport": "websockets"})
    b.wait_output("(websockets)", 60)
    feed(ros, lambda: sub.entries(), 5)
    wait_for(lambda: len(real(sub.entries())) >= 5, 30, what="telemetry over WebSockets")
    assert [e["data"]["angular_velocity"]["z"] for e in real(sub.entries())] == [
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
    ]
    sub.close()


ACL = """user robot
topic write edgebot/r1/#
topic read edgebot/r1/cmd/#
user viewer
topic read #
"""


def test_password_acl_denial_and_wrong_password(procs, ros, mosquitto, tmp_path):
    from std_msgs.msg import String

    broker = mosquitto(users={"robot": "s3cret", "viewer": "v"}, acl=ACL)
    sub = Collector(broker.port, ["#"], username="viewer", password="v")
    stats = ros.collect(String, "mqtt/stats")
    denied = dict(IMU_ROUTE, mqtt_topic="other_robot/imu")
    b = bridge(
        procs,
        tmp_path,
        broker.port,
        telemetry=[IMU_ROUTE, denied],
        broker={"username": "robot", "password": "s3cret"},
    )
    b.wait_output("connected to", 60)
    feed(ros, lambda: sub.entries("edgebot/r1/imu"), 5)
    wait_for(lambda: len(real(sub.entries("edgebot/r1/imu"))) >= 5, 30, what="allowed telemetry")
    # the denied route: the broker answers PUBACK "not authorized" (mosquitto 2.0 then closes the
    # connection); counted, dropped, not retried; the bridge reconnects
    # ...and the allowed messages still in flight when the refusals were counted drained
    s = wait_stats(
        stats,
        lambda s: s["broker_rejected"] >= 5 and s["connected"] and s["spooled"] == 0,
        "ACL refusals",
    )
    assert s["spooled"] == 0 and "Not authorized" in s["last_refusal"]
    assert s["delivered"] >= 5
    assert sub.payloads("other_robot/imu") == []
    b.stop()
    stats.clear()
    wrong = bridge(
        procs,
        tmp_path / "w",
        broker.port,
        broker={"username": "robot", "password": "nope"},
        name="wrong_pw",
    )
    s = wait_stats(
        stats, lambda s: "refused" in s["connection"]["last_error"], "wrong-password error"
    )
    assert not s["connected"]
    err = s["connection"]["last_error"]
    assert "Bad user name or password" in err or "Not authorized" in err
    wrong.stop()
    sub.close()


def test_silent_broker_spools_and_reports(procs, ros, tmp_path):
    """A server that accepts TCP and never answers: CONNACK timeout, data kept in the spool."""
    from std_msgs.msg import String

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        stats = ros.collect(String, "mqtt/stats")
        bridge(procs, tmp_path, port, broker={"connect_timeout": 1.0})
        feed(ros, lambda: stats and stats_of(stats)["received"] > 0, 5)
        s = wait_stats(
            stats,
            lambda s: "no CONNACK" in s["connection"]["last_error"] and s["spooled"] >= 5,
            "CONNACK timeout and spooled data",
        )
        assert not s["connected"] and s["delivered"] == 0 and s["dropped"] == 0
        assert len(held) >= 1
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        srv.close()


def test_embedded_broker(procs, ros, tmp_path):
    port = free_port()
    b = bridge(procs, tmp_path, 1, params={"broker.embedded": True, "broker.port": port})
    b.wait_output("connected to", 60)
    sub = Collector(port, ["edgebot/r1/#"], protocol=mqtt.MQTTv311)
    wait_for(lambda: sub.payloads("edgebot/r1/status") == [b"online"], 30, what="retained status")
    feed(ros, lambda: sub.entries("edgebot/r1/imu"), 5)
    wait_for(lambda: len(real(sub.entries("edgebot/r1/imu"))) >= 5, 30, what="telemetry via amqtt")
    b.stop()
    assert "Traceback" not in b.output()
    sub.close()


def test_embedded_broker_executable(procs):
    port = free_port()
    p = procs.node("edgebot_mqtt", "embedded_broker", params={}, name="embedded")
    p.stop()
    p = procs.start([p.cmd[0], "--port", str(port)], name="embedded_exe")
    p.wait_output("listening on", 60)
    got = Collector(port, ["t"], protocol=mqtt.MQTTv311)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish("t", json.dumps({"x": 1}), qos=1).wait_for_publish(10)
    wait_for(lambda: got.payloads("t") == [b'{"x": 1}'], 20, what="message through amqtt")
    c.loop_stop()
    got.close()
    assert p.stop() is not None


def test_launch_file_with_embedded_broker(procs, ros, tmp_path):
    """launch/mqtt.launch.yaml through `edgebot launch`, the shipped mapping, embedded broker."""
    import pathlib
    import shutil

    root = pathlib.Path(__file__).resolve().parents[2]
    port = free_port()
    exe = shutil.which("edgebot")
    assert exe, "edgebot launcher not on PATH"
    p = procs.start(
        [
            exe,
            "launch",
            str(root / "launch" / "mqtt.launch.yaml"),
            f"config:={root / 'config' / 'mqtt_bridge.yaml'}",
            "embedded:=true",
            f"broker_port:={port}",
            f"spool:={tmp_path / 'spool.db'}",
            "robot_id:=demo",
        ],
        name="launch_mqtt",
    )
    p.wait_output("connected to", 90)
    sub = Collector(port, ["edgebot/demo/#"], protocol=mqtt.MQTTv311)
    wait_for(lambda: sub.payloads("edgebot/demo/status")[-1:] == [b"online"], 30, what="status")
    from std_msgs.msg import String

    pub = ros.publisher(String, "follower/state")
    ros.wait_subscribers(pub, 1, timeout=60)

    def states():
        return [
            e
            for e in sub.entries("edgebot/demo/follower_state")
            if not e["data"]["data"].startswith("probe")
        ]

    prime(
        pub, lambda k: String(data=f"probe {k}"), lambda: sub.entries("edgebot/demo/follower_state")
    )
    pub.publish(String(data="searching"))
    wait_for(states, 30, what="follower state")
    assert states()[0]["data"] == {"data": "searching"}
    assert "service route(s) left out" in p.output()
    sub.close()
    p.stop()
    assert "Traceback" not in p.output()
