"""Zero loss: the broker stopped for 60 s mid-stream, kill -9 of the bridge mid-stream, and the
spool bound (drop-oldest policy and its counters)."""

import signal
import threading
import time

import pytest

from edgebot_testing import wait_for
from mqtt_testing import Collector, Mosquitto, dedupe, prime, start_bridge, stats_of

ROUTE = {
    "ros_topic": "count",
    "type": "std_msgs/msg/Int64",
    "mqtt_topic": "edgebot/{robot_id}/count",
    "qos": 1,
}


def values(sub):
    """The counted values that reached the consumer, once each (probes, < 0, left out)."""
    return [v for e in dedupe(sub.entries("edgebot/r1/count")) if (v := e["data"]["data"]) >= 0]


class Feeder:
    """Publishes Int64 0, 1, 2, ... on `count` at `rate` Hz in a thread until stopped."""

    def __init__(self, ros, rate=20.0):
        from std_msgs.msg import Int64

        self.pub = ros.publisher(Int64, "count")
        self.Int64 = Int64
        self.rate = rate
        self.n = 0
        self._stop = threading.Event()
        self.t = None

    def ready(self, ros, stats) -> int:
        """Probes (negative values, which values() leaves out) until the bridge counts one:
        its reader matched ours too (wait_subscribers proves only the other direction).
        Returns the bridge's `received` count once it is steady: the base of exact counts."""
        ros.wait_subscribers(self.pub, 1, timeout=30)
        prime(
            self.pub,
            lambda k: self.Int64(data=-1 - k),
            lambda: stats and stats_of(stats).get("received", 0) > 0,
        )
        seen = []

        def steady():  # the same count 0.5 s apart (stats every 0.2 s)
            seen.append(stats_of(stats)["received"])
            return len(seen) >= 2 and seen[-1] == seen[-2]

        wait_for(steady, 30, interval=0.5, what="probe count steady")
        return seen[-1]

    def burst(self, count):
        for _ in range(count):
            self.pub.publish(self.Int64(data=self.n))
            self.n += 1

    def start(self):
        def run():
            while not self._stop.is_set():
                self.burst(1)
                time.sleep(1.0 / self.rate)

        self.t = threading.Thread(target=run, daemon=True)
        self.t.start()

    def stop(self):
        self._stop.set()
        self.t.join(5)


@pytest.mark.long  # a minute of outage: make test-long (the shorter outages run in make test)
def test_broker_down_60s_every_message_once_in_order(procs, ros, tmp_path):
    from std_msgs.msg import String

    broker = Mosquitto(procs, tmp_path / "broker", persistence=True).start()
    # persistent session: the broker keeps our subscription and queues for us across its restart
    sub = Collector(broker.port, ["edgebot/r1/count"], client_id="dedupe-consumer", persistent=True)
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(procs, tmp_path, broker.port, telemetry=[ROUTE])
    feed = Feeder(ros, rate=20.0)
    feed.ready(ros, stats)
    feed.start()
    wait_for(lambda: len(values(sub)) >= 40, 30, what="stream flowing")
    broker.stop()  # SIGINT: mosquitto saves its persistence file
    wait_for(lambda: stats and not stats_of(stats)["connected"], 30, what="bridge sees broker down")
    n0 = feed.n
    time.sleep(60)
    during = feed.n - n0
    # everything published during the outage is kept on disk (~20 Hz x 60 s on a quiet machine)
    s = wait_for(
        lambda: stats_of(stats)["spooled"] >= during and stats_of(stats),
        30,
        what=f"{during} messages of the outage spooled",
    )
    assert during > 100, s
    broker.start()
    wait_for(lambda: stats_of(stats)["connected"], 60, what="bridge reconnected")
    time.sleep(3)
    feed.stop()
    total = feed.n
    wait_for(lambda: len(values(sub)) >= total, 120, what=f"all {total} messages")
    time.sleep(1)
    got = values(sub)
    assert got == list(range(total))  # every message exactly once after dedupe, in order
    raw = sub.entries("edgebot/r1/count")
    seqs = [e["seq"] for e in dedupe(raw)]
    assert seqs == sorted(seqs)
    wait_for(lambda: stats_of(stats)["spooled"] == 0, 30, what="spool drained")
    sub.close()


def test_kill_9_mid_stream_then_restart_loses_nothing(procs, ros, mosquitto, tmp_path):
    from std_msgs.msg import String

    broker = mosquitto()
    sub = Collector(broker.port, ["edgebot/r1/count"])
    stats = ros.collect(String, "mqtt/stats")
    # 20 publishes/s to the broker while 300 arrive at once: most wait in the spool
    # (5/s: however slowly a loaded machine feeds the 300, most are still in the spool)
    slow = {"limits": {"max_publish_rate": 5, "max_inflight": 10}}
    b1 = start_bridge(procs, tmp_path, broker.port, telemetry=[ROUTE], extra=slow, name="b1")
    feed = Feeder(ros)
    wait_for(lambda: stats and stats_of(stats)["connected"], 30, what="connected")
    base = feed.ready(ros, stats)
    n = 300
    for _ in range(n):  # 100 Hz: well within what DDS (reliable, depth 10) delivers
        feed.burst(1)
        time.sleep(0.01)
    try:
        wait_for(
            lambda: stats_of(stats).get("received", 0) >= base + n, 30, what="bridge received all"
        )
    except TimeoutError:
        raise AssertionError(f"stats: {stats_of(stats)}") from None
    s = stats_of(stats)
    assert s["spooled"] > 50, s
    b1.signal(signal.SIGKILL)
    b1.wait(10)
    before = len(values(sub))
    assert before < n
    stats.clear()
    b2 = start_bridge(procs, tmp_path, broker.port, telemetry=[ROUTE], name="b2")
    b2.wait_output("from a previous run will be replayed", 60)
    wait_for(lambda: len(values(sub)) >= n, 60, what="all messages after restart")
    time.sleep(1)
    assert values(sub) == list(range(n))
    wait_for(lambda: stats and stats_of(stats)["spooled"] == 0, 30, what="spool drained")
    sub.close()


def test_spool_bound_drops_oldest_with_counters(procs, ros, tmp_path):
    from std_msgs.msg import String

    broker = Mosquitto(procs, tmp_path / "broker", persistence=True).start()
    sub = Collector(broker.port, ["edgebot/r1/count"], client_id="bound-consumer", persistent=True)
    broker.stop()  # the consumer's session survives in the broker's persistence file
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(
        procs,
        tmp_path,
        broker.port,
        telemetry=[ROUTE],
        extra={"spool": {"path": str(tmp_path / "spool.db"), "max_messages": 20}},
    )
    feed = Feeder(ros)
    base = feed.ready(ros, stats)  # probes: spooled first, so the oldest, dropped first
    for _ in range(50):
        feed.burst(1)
        time.sleep(0.01)
    try:
        s = wait_for(
            lambda: stats and stats_of(stats).get("received") == base + 50 and stats_of(stats),
            30,
            what="50 received",
        )
    except TimeoutError:
        raise AssertionError(f"base {base}, stats: {stats_of(stats)}") from None
    assert not s["connected"]
    # policy: the newest 20 are kept, the 30 oldest (and the probes before them) dropped and
    # counted
    assert s["spooled"] == 20 and s["dropped_spool_full"] == 30 + base and s["dropped"] == 30 + base
    broker.start()
    wait_for(lambda: len(values(sub)) >= 20, 60, what="the 20 newest delivered")
    time.sleep(1)
    assert values(sub) == list(range(30, 50))
    wait_for(lambda: stats_of(stats)["spooled"] == 0, 30, what="spool drained")
    sub.close()


def test_message_the_broker_refuses_by_closing_is_dropped_not_looped(
    procs, ros, mosquitto, tmp_path
):
    """mosquitto with max_packet_size closes the connection on a too-large PUBLISH (no PUBACK):
    the bridge isolates that message, drops it after 3 tries and delivers the rest in order."""
    from std_msgs.msg import String

    broker = mosquitto(extra=["max_packet_size 2000"])
    sub = Collector(broker.port, ["edgebot/r1/text"])
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(
        procs,
        tmp_path,
        broker.port,
        telemetry=[
            {
                "ros_topic": "text",
                "type": "std_msgs/msg/String",
                "mqtt_topic": "edgebot/{robot_id}/text",
                "qos": 1,
            }
        ],
    )
    pub = ros.publisher(String, "text")
    ros.wait_subscribers(pub, 1, timeout=30)

    def texts():
        return [
            t
            for e in dedupe(sub.entries("edgebot/r1/text"))
            if not (t := e["data"]["data"]).startswith("probe")
        ]

    prime(pub, lambda k: String(data=f"probe {k}"), lambda: sub.entries("edgebot/r1/text"))
    sent = ["a", "b", "x" * 5000, "c", "d"]
    for text in sent:
        pub.publish(String(data=text))
        time.sleep(0.05)
    wait_for(lambda: len(texts()) >= 4, 60, what="the 4 small ones")
    assert texts() == ["a", "b", "c", "d"]
    s = wait_for(
        lambda: (
            stats
            and stats_of(stats)["dropped_poison"] == 1
            and stats_of(stats)["spooled"] == 0
            and stats_of(stats)
        ),
        60,
        what="poison counted",
    )
    assert s["connected"] and "connection closed" in s["last_refusal"]
    sub.close()


def test_broker_outage_and_kill_9_zero_qos1_loss(procs, ros, tmp_path):
    """The fault campaign's invariant: zero QoS 1 telemetry lost across a broker outage and a
    bridge restart (kill -9, respawned while the broker is still down), counted by an
    independent consumer (a persistent MQTT session, dedupe by seq)."""
    from std_msgs.msg import String

    broker = Mosquitto(procs, tmp_path / "broker", persistence=True).start()
    sub = Collector(
        broker.port, ["edgebot/r1/count"], client_id="campaign-consumer", persistent=True
    )
    stats = ros.collect(String, "mqtt/stats")
    b1 = start_bridge(procs, tmp_path, broker.port, telemetry=[ROUTE], name="b1")
    feed = Feeder(ros)
    base = feed.ready(ros, stats)
    half = 500

    def feed_burst(count):
        for _ in range(count):  # 200 Hz
            feed.burst(1)
            time.sleep(0.005)

    feed_burst(half // 2)  # broker up
    broker.stop()
    wait_for(lambda: not stats_of(stats)["connected"], 30, what="bridge sees broker down")
    feed_burst(half - half // 2)  # broker down: into the spool
    wait_for(lambda: stats_of(stats).get("received", 0) >= base + half, 30, what="b1 took all")
    b1.signal(signal.SIGKILL)
    b1.wait(10)
    stats.clear()
    b2 = start_bridge(procs, tmp_path, broker.port, telemetry=[ROUTE], name="b2")
    b2.wait_output("from a previous run will be replayed", 60)
    base2 = feed.ready(ros, stats)  # b2's reader matched (probes are left out)
    feed_burst(half)  # still down: b2's spool
    wait_for(lambda: stats_of(stats).get("received", 0) >= base2 + half, 30, what="b2 took all")
    broker.start()
    wait_for(lambda: len(values(sub)) >= 2 * half, 90, what=f"all {2 * half} messages")
    time.sleep(1)
    assert values(sub) == list(range(2 * half))  # every one, once after dedupe, in order
    wait_for(lambda: stats_of(stats)["spooled"] == 0, 30, what="spool drained")
    sub.close()
