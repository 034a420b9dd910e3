#!/usr/bin/env python3
"""Figures of edgebot_mqtt (issue #8): the real mqtt_bridge process and a real mosquitto on a
free local port; a paho subscriber in this process counts what reaches the broker.

1. throughput, small telemetry (sensor_msgs/Range -> ~150-byte JSON), QoS 0 and QoS 1:
   N ROS messages published as fast as the path takes them (closed loop: the publisher stays at
   most 300 messages ahead of the MQTT subscriber, below the DDS history depth, so nothing is
   overwritten) -> messages/s arriving at the subscriber. Baselines: the same ROS publisher to a
   trivial rclpy subscriber process (ROS alone), and a bare paho publisher process sending N
   payloads of the same size to the same broker (QoS 0 as fast as possible; QoS 1 with 100 in
   flight, as the bridge).
2. added latency at 100 Hz: ROS publish (header.stamp = wall clock) -> MQTT subscriber, p50/p95,
   minus the bare paho path (payload stamped at publish -> subscriber) and minus ROS alone
   (publish -> trivial rclpy subscriber process), same run.
3. spool drain: a spool filled with N rows while no broker was reachable is drained by the
   link (ROS-free, in this process) -> messages/s, against the arrival rate it must beat
   (the 100 Hz of item 2, and the live throughput of item 1).
4. CPU per 1,000 messages: CPU time (user+sys) of the bridge process during item 1, and of the
   bare paho publisher process.
5. command flood (issue 18): 2,000 valid commands at 500/s on a route limited to 20/s, while
   QoS 1 telemetry flows at 50 Hz, through a bridge with ``limits.max_publish_rate: 100``
   (AWS IoT Core's per-connection limit): error publishes per second and the most publishes
   the bridge made in any 1-s window (errors + telemetry, at the subscriber), against the
   rejection rate (one error publish per rejection: the behaviour before) and the budget.

    source env.sh && python benchmarks/bench_mqtt.py [--n 3000] [--out FILE]
    source env.sh && python benchmarks/bench_mqtt.py --flood-only   # item 5 only

Prints the figures and writes benchmarks/results/mqtt.json, or FILE (with the machine); item 5
also to benchmarks/results/mqtt_flood.json.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import pathlib
import platform
import sys
import tempfile
import threading
import time

import benchlib

ROOT = benchlib.isolate("edgebot_mqtt")

import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402

import edgebot_testing as et  # noqa: E402
from mqtt_testing import Mosquitto, write_mapping  # noqa: E402

WINDOW = 300  # messages in flight between the ROS publisher and the MQTT subscriber


pct = benchlib.pct_nearest


class Counter:
    """Subscriber: arrival time and payload of every message on a topic filter."""

    def __init__(self, port, topic):
        self.lock = threading.Lock()
        self.got = []
        self.c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            protocol=mqtt.MQTTv5,
            client_id=f"bench-counter-{os.getpid()}-{id(self)}",
        )
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", port)
        self.c.subscribe(topic, qos=1)
        self.c.loop_start()
        time.sleep(0.5)

    def _on(self, c, u, m):
        t = time.time()
        with self.lock:
            self.got.append((t, m.payload))

    def reset(self):
        with self.lock:
            self.got = []

    def wait(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    break
            time.sleep(0.01)
        with self.lock:
            return list(self.got)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


BARE_PUBLISHER = r"""
import sys, time, paho.mqtt.client as mqtt
port, n, qos, size = (int(a) for a in sys.argv[1:5])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id=f"bench-bare-{qos}")
c.max_inflight_messages_set(100)
c.connect("127.0.0.1", port)
c.loop_start()
time.sleep(0.3)
print("ready", flush=True)
sys.stdin.readline()
pad = "x" * max(0, size - 40)
for i in range(n):
    c.publish("bench/bare", '{"seq":%d,"t":%.6f,"p":"%s"}' % (i, time.time(), pad), qos=qos)
while c._out_messages:
    time.sleep(0.01)
print("done", flush=True)
sys.stdin.readline()
c.loop_stop()
"""


def bare_paho(port, counter, n, qos, payload_size):
    """A bare paho publisher process (same broker, same payload size, 100 in flight)."""
    import subprocess

    counter.reset()
    p = subprocess.Popen(
        [sys.executable, "-c", BARE_PUBLISHER, str(port), str(n), str(qos), str(payload_size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "ready"
        proc = psutil.Process(p.pid)
        c0 = proc.cpu_times()
        start = time.time()
        p.stdin.write("go\n")
        p.stdin.flush()
        got = counter.wait(n, 120)
        c1 = proc.cpu_times()
        p.stdin.write("end\n")
        p.stdin.flush()
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
    span = got[-1][0] - start if got else float("nan")
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    return {
        "received": len(got),
        "msgs_per_s": round(len(got) / span, 1),
        "cpu_ms_per_1000": round(cpu / max(1, len(got)) * 1000 * 1000, 1),
    }


ROS_ONLY_SUBSCRIBER = r"""
import copy, json, sys, time, rclpy
from sensor_msgs.msg import Range
from edgebot_common import qos as Q
n, timeout = int(sys.argv[1]), float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("bench_ros_only")
got = []
prof = copy.copy(Q.RELIABLE); prof.depth = 1000
def cb(m):
    got.append((time.time(), m.header.stamp.sec + m.header.stamp.nanosec * 1e-9))
    if len(got) % 50 == 0:
        print(len(got), flush=True)
node.create_subscription(Range, "range_ros_only", cb, prof)
print("ready", flush=True)
deadline = time.monotonic() + timeout
while len(got) < n and time.monotonic() < deadline:
    rclpy.spin_once(node, timeout_sec=0.1)
print(json.dumps(got), flush=True)
"""


def ros_only(helper, n, rate=None):
    """Baseline: the same ROS publisher to a trivial rclpy subscriber process (no MQTT):
    messages/s when ``rate`` is None, else per-message latency [ms] at ``rate`` Hz."""
    import subprocess

    from sensor_msgs.msg import Range

    from edgebot_common import qos as Q

    p = subprocess.Popen(
        [sys.executable, "-c", ROS_ONLY_SUBSCRIBER, str(n), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline().strip() == "ready"
        prof = copy.copy(Q.RELIABLE)
        prof.depth = 1000
        pub = helper.node.create_publisher(Range, "range_ros_only", prof)
        helper.wait_subscribers(pub, 1, timeout=30)
        time.sleep(1.0)
        progress = [0]
        result = []

        def read():
            for line in p.stdout:
                line = line.strip()
                if line.startswith("["):
                    result.append(json.loads(line))
                    return
                if line.isdigit():
                    progress[0] = int(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        start = time.time()
        for i in range(n):
            m = Range()
            t = time.time()
            m.header.stamp.sec = int(t)
            m.header.stamp.nanosec = int((t - int(t)) * 1e9)
            pub.publish(m)
            if rate:
                time.sleep(1.0 / rate)
            elif i % 50 == 49:  # the same closed loop as the bridge runs
                deadline = time.monotonic() + 60
                while progress[0] < i + 1 - WINDOW and time.monotonic() < deadline:
                    time.sleep(0.002)
        reader.join(180)
        got = result[0] if result else []
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
    helper.node.destroy_publisher(pub)
    if rate:
        return [(t - st) * 1e3 for t, st in got]
    span = got[-1][0] - start if got else float("nan")
    return {"received": len(got), "msgs_per_s": round(len(got) / span, 1)}


def bridge_throughput(helper, bridge_pid, counter, n, topic):
    from sensor_msgs.msg import Range

    from edgebot_common import qos as Q

    counter.reset()
    prof = copy.copy(Q.RELIABLE)
    prof.depth = 1000
    pub = helper.node.create_publisher(Range, topic, prof)
    helper.wait_subscribers(pub, 1, timeout=30)
    time.sleep(1.0)
    proc = psutil.Process(bridge_pid)
    c0 = proc.cpu_times()
    start = time.time()
    m = Range()
    m.header.frame_id = "sonar_link"
    m.radiation_type = 0
    m.field_of_view, m.min_range, m.max_range = 0.26, 0.02, 4.0
    for i in range(n):
        m.range = 1.0 + i * 1e-4
        pub.publish(m)
        if i % 50 == 49:  # closed loop: stay at most WINDOW ahead (below the DDS history depth)
            counter.wait(i + 1 - WINDOW, 60)
    got = counter.wait(n, 180)
    c1 = proc.cpu_times()
    span = got[-1][0] - start if got else float("nan")
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    sizes = [len(p) for _, p in got[:50]]
    return {
        "received": len(got),
        "msgs_per_s": round(len(got) / span, 1),
        "cpu_ms_per_1000": round(cpu / max(1, len(got)) * 1000 * 1000, 1),
        "payload_bytes": round(sum(sizes) / max(1, len(sizes))),
    }


def latency_bridge(helper, counter, rate, seconds, topic):
    from sensor_msgs.msg import Range

    from edgebot_common import qos as Q

    counter.reset()
    pub = helper.node.create_publisher(Range, topic, Q.RELIABLE)
    helper.wait_subscribers(pub, 1, timeout=30)
    time.sleep(1.0)
    n = int(rate * seconds)
    for _i in range(n):
        m = Range()
        t = time.time()
        m.header.stamp.sec = int(t)
        m.header.stamp.nanosec = int((t - int(t)) * 1e9)
        m.range = 1.0
        pub.publish(m)
        time.sleep(1.0 / rate)
    got = counter.wait(n, 60)
    lat = [(t - json.loads(p)["stamp"]) * 1e3 for t, p in got]
    return lat


def latency_bare(port, counter, rate, seconds):
    counter.reset()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bench-lat")
    c.connect("127.0.0.1", port)
    c.loop_start()
    time.sleep(0.3)
    n = int(rate * seconds)
    for _i in range(n):
        c.publish("bench/bare", json.dumps({"stamp": time.time()}), qos=1)
        time.sleep(1.0 / rate)
    got = counter.wait(n, 60)
    c.loop_stop()
    c.disconnect()
    return [(t - json.loads(p)["stamp"]) * 1e3 for t, p in got]


def drain(port, counter, n, tmp):
    from edgebot_mqtt import encoding
    from edgebot_mqtt.config import parse
    from edgebot_mqtt.link import MqttLink
    from edgebot_mqtt.spool import Spool

    counter.reset()
    cfg = parse(
        {
            "robot_id": "bench_drain",
            "broker": {"host": "127.0.0.1", "port": port},
            "spool": {"path": str(tmp / "drain.db")},
        }
    )
    sp = Spool(cfg.spool.path)
    body = encoding.body({"header": {"stamp": {"sec": 1, "nanosec": 0}}, "range": 1.0})
    t0 = time.perf_counter()
    for _i in range(n):  # what the bridge does per message while offline
        s = sp.next_seq()
        sp.append(s, "bench/bridge/drain", encoding.single(s, body), qos=1)
    fill_s = time.perf_counter() - t0
    link = MqttLink(cfg.broker, cfg.limits, sp, "")
    start = time.time()
    link.start()
    got = counter.wait(n, 180)
    span = got[-1][0] - start if got else float("nan")
    deadline = time.monotonic() + 30
    while sp.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    link.stop()
    left = sp.depth
    sp.close()
    return {
        "messages": n,
        "received": len(got),
        "drain_msgs_per_s": round(len(got) / span, 1),
        "spool_append_per_s": round(n / fill_s, 1),
        "left_in_spool": left,
    }


def save_flood(figures: dict) -> None:
    path = ROOT / "benchmarks" / "results" / "mqtt_flood.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"machine": benchlib.machine(), "command_flood": figures}, indent=2) + "\n"
    )
    print(f"wrote {path}")


def max_per_window(times, window=1.0):
    """The most events in any window of ``window`` seconds (two-pointer sweep)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def command_flood(
    procs, helper, port, tmp, n=2000, rate=500.0, route_rate=20.0, budget=100.0, telemetry_hz=50.0
):
    from sensor_msgs.msg import Range

    from edgebot_common import qos as Q

    mapping = {
        "robot_id": "flood",
        "broker": {"host": "127.0.0.1", "port": port},
        "spool": {"path": str(tmp / "flood_spool.db")},
        "limits": {"max_publish_rate": budget, "error_period": 1.0},
        "command_filter": "bench/flood/cmd/#",
        "errors_topic": "bench/flood/errors",
        "status_topic": "bench/flood/status",
        "telemetry": [
            {
                "ros_topic": "flood_range",
                "type": "sensor_msgs/msg/Range",
                "mqtt_topic": "bench/flood/telemetry",
                "qos": 1,
            }
        ],
        "commands": [
            {
                "mqtt_topic": "bench/flood/cmd/cmd_vel",
                "ros_topic": "flood_cmd_vel",
                "type": "geometry_msgs/msg/Twist",
                "max_rate": route_rate,
            }
        ],
    }
    path = write_mapping(tmp / "flood.yaml", mapping)
    bridge = procs.node("edgebot_mqtt", "mqtt_bridge", params={"config": path}, name="flood_bridge")
    bridge.wait_output("connected to", 60)
    errors = Counter(port, "bench/flood/errors")
    tele = Counter(port, "bench/flood/telemetry")
    pub = helper.node.create_publisher(Range, "flood_range", Q.RELIABLE)
    stop = threading.Event()

    def feed():
        m = Range()
        while not stop.is_set():
            m.range = 1.0
            pub.publish(m)
            time.sleep(1.0 / telemetry_hz)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    tele.wait(int(telemetry_hz), 60)  # telemetry flowing before the flood
    cli = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bench-flood"
    )
    cli.connect("127.0.0.1", port)
    cli.loop_start()
    errors.reset()
    tele.reset()
    payload = json.dumps({"linear": {"x": 0.1}})
    t0 = time.time()
    for i in range(n):
        cli.publish("bench/flood/cmd/cmd_vel", payload, qos=0)
        delay = t0 + (i + 1) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
    flood_s = time.time() - t0
    time.sleep(3.0)  # the last aggregated report
    stop.set()
    t.join(2)
    cli.loop_stop()
    got_err = errors.wait(0, 0)
    got_tel = [x for x in tele.wait(0, 0) if x[0] <= t0 + flood_s]
    reports = [json.loads(p) for _, p in got_err]
    rejected = sum(r["count"] for r in reports)
    in_flood = [x[0] for x in got_err if x[0] <= t0 + flood_s] + [x[0] for x in got_tel]
    errors.close()
    tele.close()
    bridge.stop()
    out = {
        "commands": n,
        "offered_per_s": round(n / flood_s, 1),
        "route_max_rate": route_rate,
        "max_publish_rate": budget,
        "telemetry_hz": telemetry_hz,
        "rejected": rejected,
        "rejections_per_s": round(rejected / flood_s, 1),
        "error_publishes": len(reports),
        "error_publishes_per_s": round(len(reports) / flood_s, 2),
        "ratio_error_publishes_vs_one_per_rejection": round(len(reports) / max(1, rejected), 4),
        "telemetry_delivered_during_flood_per_s": round(len(got_tel) / flood_s, 1),
        "max_publishes_in_any_1s": max_per_window(in_flood),
        "by_reason": dict(
            sum((collections.Counter(r["by_reason"]) for r in reports), collections.Counter())
        ),
    }
    print(
        f"command flood: {n} commands at {out['offered_per_s']:.0f}/s on a {route_rate:g}/s "
        f"route: {rejected} rejected ({out['rejections_per_s']:.0f}/s) -> {len(reports)} error "
        f"publishes ({out['error_publishes_per_s']:.1f}/s, "
        f"{out['ratio_error_publishes_vs_one_per_rejection']:.4f} of one per rejection); most "
        f"publishes in any 1 s (errors + {telemetry_hz:g} Hz telemetry) "
        f"{out['max_publishes_in_any_1s']} (budget {budget:g}/s)",
        flush=True,
    )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--flood-only", action="store_true", help="only item 5 (command flood)")
    ap.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="where to write the JSON results (default benchmarks/results/mqtt.json)",
    )
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    procs = et.Procs()
    helper = None
    try:
        broker = Mosquitto(procs, tmp / "broker").start()
        if args.flood_only:
            helper = et.RosHelper("bench_mqtt")
            save_flood(command_flood(procs, helper, broker.port, tmp))
            return
        mapping = {
            "robot_id": "bench",
            "broker": {"host": "127.0.0.1", "port": broker.port},
            "spool": {"path": str(tmp / "spool.db")},
            "telemetry": [
                {
                    "ros_topic": "range_q0",
                    "type": "sensor_msgs/msg/Range",
                    "mqtt_topic": "bench/bridge/q0",
                    "qos": 0,
                    "ros_depth": 1000,
                },
                {
                    "ros_topic": "range_q1",
                    "type": "sensor_msgs/msg/Range",
                    "mqtt_topic": "bench/bridge/q1",
                    "qos": 1,
                    "ros_depth": 1000,
                },
                {
                    "ros_topic": "range_lat",
                    "type": "sensor_msgs/msg/Range",
                    "mqtt_topic": "bench/bridge/lat",
                    "qos": 1,
                },
            ],
        }
        path = write_mapping(tmp / "map.yaml", mapping)
        bridge = procs.node("edgebot_mqtt", "mqtt_bridge", params={"config": path})
        bridge.wait_output("connected to", 60)
        helper = et.RosHelper("bench_mqtt")
        out = {
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            },
            "n": args.n,
            "broker": "mosquitto 2.0 on 127.0.0.1",
        }
        bare_counter = Counter(broker.port, "bench/bare")
        bridge_counter = Counter(broker.port, "bench/bridge/#")
        print("bridge connected; measuring", flush=True)
        sample = bridge_throughput(helper, bridge.pid, bridge_counter, 10, "range_q1")
        size = sample["payload_bytes"]
        res = {"ros_only": ros_only(helper, args.n)}
        print(
            f"ROS only (rclpy publisher -> rclpy subscriber process): "
            f"{res['ros_only']['msgs_per_s']:.0f} msg/s",
            flush=True,
        )
        for qos in (0, 1):
            bare = bare_paho(broker.port, bare_counter, args.n, qos, size)
            br = bridge_throughput(helper, bridge.pid, bridge_counter, args.n, f"range_q{qos}")
            res[f"qos{qos}"] = {
                "bare_paho": bare,
                "bridge": br,
                "ratio_bridge_vs_bare": round(br["msgs_per_s"] / bare["msgs_per_s"], 3),
                "ratio_bridge_vs_ros_only": round(
                    br["msgs_per_s"] / res["ros_only"]["msgs_per_s"], 3
                ),
            }
            print(
                f"QoS {qos}: bridge {br['msgs_per_s']:.0f} msg/s ({br['received']}/{args.n}), "
                f"bare paho {bare['msgs_per_s']:.0f} msg/s -> ratio {res[f'qos{qos}']['ratio_bridge_vs_bare']:.2f}; "
                f"CPU/1000 msgs: bridge {br['cpu_ms_per_1000']:.0f} ms, bare {bare['cpu_ms_per_1000']:.0f} ms "
                f"({br['payload_bytes']} B payload)",
                flush=True,
            )
        out["throughput"] = res
        lb = latency_bare(broker.port, bare_counter, args.rate, args.seconds)
        lr = latency_bridge(helper, bridge_counter, args.rate, args.seconds, "range_lat")
        lo = ros_only(helper, int(args.rate * args.seconds), rate=args.rate)
        out["latency_ms"] = {
            "rate_hz": args.rate,
            "bare_paho": {"p50": round(pct(lb, 50), 3), "p95": round(pct(lb, 95), 3), "n": len(lb)},
            "bridge": {"p50": round(pct(lr, 50), 3), "p95": round(pct(lr, 95), 3), "n": len(lr)},
            "ros_only": {"p50": round(pct(lo, 50), 3), "p95": round(pct(lo, 95), 3), "n": len(lo)},
            "added_vs_ros_only_p50": round(pct(lr, 50) - pct(lo, 50), 3),
            "added_vs_ros_only_p95": round(pct(lr, 95) - pct(lo, 95), 3),
            "added_p50": round(pct(lr, 50) - pct(lb, 50), 3),
            "added_p95": round(pct(lr, 95) - pct(lb, 95), 3),
        }
        L = out["latency_ms"]
        print(
            f"latency at {args.rate:g} Hz: bridge p50 {L['bridge']['p50']:.2f} ms p95 "
            f"{L['bridge']['p95']:.2f} ms; bare paho p50 {L['bare_paho']['p50']:.2f} p95 "
            f"{L['bare_paho']['p95']:.2f}; ROS only p50 {L['ros_only']['p50']:.2f} p95 "
            f"{L['ros_only']['p95']:.2f}; added vs bare paho p50 {L['added_p50']:.2f} ms, "
            f"p95 {L['added_p95']:.2f} ms; vs ROS only p50 {L['added_vs_ros_only_p50']:.2f}, "
            f"p95 {L['added_vs_ros_only_p95']:.2f}",
            flush=True,
        )
        d = drain(broker.port, bridge_counter, args.n, tmp)
        d["vs_arrival_rate_100hz"] = round(d["drain_msgs_per_s"] / args.rate, 1)
        d["vs_live_qos1_throughput"] = round(
            d["drain_msgs_per_s"] / res["qos1"]["bridge"]["msgs_per_s"], 2
        )
        out["spool_drain"] = d
        print(
            f"spool drain: {d['drain_msgs_per_s']:.0f} msg/s ({d['received']}/{d['messages']}), "
            f"{d['vs_arrival_rate_100hz']}x a {args.rate:g} Hz arrival rate, "
            f"{d['vs_live_qos1_throughput']}x the live QoS 1 rate; spool append {d['spool_append_per_s']:.0f}/s",
            flush=True,
        )
        bare_counter.close()
        bridge_counter.close()
        out["command_flood"] = command_flood(procs, helper, broker.port, tmp)
        save_flood(out["command_flood"])
        out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out_path = args.out or ROOT / "benchmarks" / "results" / "mqtt.json"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {out_path}")
    finally:
        if helper is not None:
            helper.close()
        procs.stop_all()


if __name__ == "__main__":
    main()
