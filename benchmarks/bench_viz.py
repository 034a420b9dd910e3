#!/usr/bin/env python3
"""Figures of edgebot_viz (issue #10), with the real nodes as processes over DDS.

1. foxglove_bridge CPU while relaying 640x480 JPEG CompressedImage at 15 Hz plus sensor_msgs/Imu
   at 200 Hz to one WebSocket client, against a baseline process that only takes the same two
   streams through raw rclpy subscriptions (the unavoidable DDS receive cost), same run.
2. added latency ROS publish -> WebSocket receive (IMU stream, stamp in header vs. client
   receive time), against DDS publish -> rclpy subscriber in another context (same run).
3. mcap_recorder: BagWriter throughput in MB/s (zstd, lz4, none) on the same message mix,
   against plain sequential file writes of the same bytes; and the recorder process CPU at the
   load of (1).

    source env.sh && python benchmarks/bench_viz.py [--quick]

Prints the figures and writes benchmarks/results/viz.json (with the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import tempfile
import threading
import time

import benchlib

ROOT = benchlib.isolate()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from sensor_msgs.msg import CompressedImage, Imu  # noqa: E402

import edgebot_testing as et  # noqa: E402
from edgebot_common import qos as Q  # noqa: E402
from edgebot_viz.bag_writer import BagWriter  # noqa: E402
from foxglove_ws_client import FoxgloveClient  # noqa: E402

BASELINE_SUB = r"""
import rclpy
from sensor_msgs.msg import CompressedImage, Imu
from edgebot_common import qos
rclpy.init()
n = rclpy.create_node("baseline_sub")
count = [0]
def cb(data):
    count[0] += 1
n.create_subscription(CompressedImage, "camera/image_raw/compressed", cb, qos.SENSOR_DATA, raw=True)
n.create_subscription(Imu, "imu/data", cb, qos.SENSOR_DATA, raw=True)
print("baseline ready", flush=True)
rclpy.spin(n)
"""


pct = benchlib.pct


def make_jpeg(seed: int = 1) -> bytes:
    """A 640x480 camera-like frame (gradient + shapes + noise) as JPEG quality 80."""
    rng = np.random.default_rng(seed)
    img = np.zeros((480, 640, 3), np.uint8)
    img[:] = np.linspace(40, 200, 640, dtype=np.uint8)[None, :, None]
    cv2.circle(img, (200 + 15 * (seed % 16), 260), 60, (0, 0, 220), -1)
    cv2.rectangle(img, (80, 300), (200, 420), (40, 160, 40), -1)
    img = cv2.add(img, rng.integers(0, 25, img.shape, dtype=np.uint8))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


class Load:
    """Publishes JPEG CompressedImage at 15 Hz and Imu at 200 Hz (stamp = wall time) in threads."""

    def __init__(self, ros: et.RosHelper, jpeg: bytes):
        self.img_pub = ros.publisher(CompressedImage, "camera/image_raw/compressed", Q.SENSOR_DATA)
        self.imu_pub = ros.publisher(Imu, "imu/data", Q.SENSOR_DATA)
        self.jpeg = jpeg
        self.stop = threading.Event()
        self.sent = {"image": 0, "imu": 0}
        self.threads = [
            threading.Thread(target=self._run, args=(15.0, self._image), daemon=True),
            threading.Thread(target=self._run, args=(200.0, self._imu), daemon=True),
        ]

    def start(self):
        for t in self.threads:
            t.start()

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)

    def _run(self, hz, fn):
        period = 1.0 / hz
        nxt = time.monotonic()
        while not self.stop.is_set():
            fn()
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()

    def _stamp(self, header):
        ns = time.time_ns()
        header.stamp.sec, header.stamp.nanosec = divmod(ns, 1_000_000_000)

    def _image(self):
        m = CompressedImage(format="jpeg", data=self.jpeg)
        m.header.frame_id = "camera_link"
        self._stamp(m.header)
        self.img_pub.publish(m)
        self.sent["image"] += 1

    def _imu(self):
        m = Imu()
        m.header.frame_id = "imu_link"
        self._stamp(m.header)
        m.linear_acceleration.z = 9.81
        self.imu_pub.publish(m)
        self.sent["imu"] += 1


def cpu_of(proc: et.Proc, seconds: float) -> float:
    """CPU use of a process tree in % of one core over ``seconds``."""
    p = psutil.Process(proc.pid)

    def total():
        t = 0.0
        for q in [p] + p.children(recursive=True):
            try:
                c = q.cpu_times()
                t += c.user + c.system
            except psutil.NoSuchProcess:
                pass
        return t

    t0, w0 = total(), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (total() - t0) / (time.monotonic() - w0)


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def bench_bridge_and_recorder(seconds: float, jpeg: bytes) -> dict:
    procs = et.Procs()
    ros = et.RosHelper("bench_viz")
    load = Load(ros, jpeg)
    res = {}
    try:
        load.start()
        # -- baseline: raw rclpy subscriptions only ------------------------------------------
        base = procs.start([sys.executable, "-c", BASELINE_SUB], name="baseline_sub")
        base.wait_output("baseline ready", 30)
        ros.wait_subscribers(load.imu_pub, 1, 15)
        time.sleep(2.0)
        res["baseline_cpu_percent"] = cpu_of(base, seconds)
        base.stop()

        # -- DDS-only latency: a subscriber in another rclpy context ------------------------
        lat_dds = []
        other = et.RosHelper("bench_viz_sub")
        other.node.create_subscription(
            Imu,
            "imu/data",
            lambda m: lat_dds.append(time.time_ns() - stamp_ns(m.header)),
            Q.SENSOR_DATA,
        )
        time.sleep(seconds / 2)
        other.close()
        res["dds_latency_ms"] = {
            "p50": pct(lat_dds, 50) / 1e6,
            "p95": pct(lat_dds, 95) / 1e6,
            "p99": pct(lat_dds, 99) / 1e6,
            "n": len(lat_dds),
        }

        # -- bridge with one client ---------------------------------------------------------
        port = et.free_port()
        bridge = procs.node(
            "edgebot_viz", "foxglove_bridge", params={"port": port, "send_buffer_messages": 64}
        )
        bridge.wait_output("Foxglove bridge listening", 30)
        with FoxgloveClient(f"ws://127.0.0.1:{port}") as c:
            s_img = c.subscribe(c.wait_channel("/camera/image_raw/compressed", 20)["id"])
            s_imu = c.subscribe(c.wait_channel("/imu/data", 20)["id"])
            et.wait_for(lambda: c.messages[s_imu] and c.messages[s_img], 20, what="data")
            time.sleep(2.0)
            c.messages[s_img].clear()
            c.messages[s_imu].clear()
            sent0 = dict(load.sent)
            res["bridge_cpu_percent"] = cpu_of(bridge, seconds)
            sent = {k: load.sent[k] - sent0[k] for k in sent0}
            imu_msgs = list(c.messages[s_imu])
            img_msgs = list(c.messages[s_img])
        lat = [
            local - stamp_ns(deserialize_message(payload, Imu).header)
            for _, payload, local in imu_msgs
        ]
        res["bridge_latency_ms"] = {
            "p50": pct(lat, 50) / 1e6,
            "p95": pct(lat, 95) / 1e6,
            "p99": pct(lat, 99) / 1e6,
            "n": len(lat),
        }
        res["bridge_received"] = {"image": len(img_msgs), "imu": len(imu_msgs)}
        res["published"] = sent
        res["image_bytes"] = len(jpeg)
        bridge.stop()

        # -- recorder at the same load ------------------------------------------------------
        with tempfile.TemporaryDirectory() as tmp:
            rec = procs.node(
                "edgebot_viz",
                "mcap_recorder",
                params={
                    "output_dir": tmp,
                    "bag_name": "bench",
                    "topics": '["/camera/image_raw/compressed", "/imu/data"]',
                },
            )
            rec.wait_output("recording /imu/data", 30)
            rec.wait_output("recording /camera/image_raw/compressed", 30)
            time.sleep(2.0)
            res["recorder_cpu_percent"] = cpu_of(rec, seconds)
            rec.stop()
    finally:
        load.close()
        procs.stop_all()
        ros.close()
    return res


def bench_writer(total_mb: float) -> dict:
    imu = Imu()
    imu.header.frame_id = "imu_link"
    imu_bytes = serialize_message(imu)
    # 15 different frames (identical frames would make zstd look unrealistically good)
    frames = [
        serialize_message(CompressedImage(format="jpeg", data=make_jpeg(s))) for s in range(15)
    ]
    # the load's mix: per second 15 images and 200 IMU messages
    second = [
        (
            ("/camera/image_raw/compressed", frames[(i // 14) % 15])
            if i % 14 == 0
            else ("/imu/data", imu_bytes)
        )
        for i in range(210)
    ]
    per_second = sum(len(b) for _, b in second)
    seconds = max(1, int(total_mb * 1e6 / per_second))
    out = {"payload_mb": seconds * per_second / 1e6}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with open(os.path.join(tmp, "plain.bin"), "wb") as f:
            for _ in range(seconds):
                for _, b in second:
                    f.write(b)
            f.flush()
            os.fsync(f.fileno())
        out["plain_write_mb_s"] = out["payload_mb"] / (time.perf_counter() - t0)
        for comp in ("none", "lz4", "zstd"):
            w = BagWriter(os.path.join(tmp, f"bag_{comp}"), compression=comp)
            w.add_topic("/camera/image_raw/compressed", "sensor_msgs/msg/CompressedImage")
            w.add_topic("/imu/data", "sensor_msgs/msg/Imu")
            t = 0
            t0 = time.perf_counter()
            for _ in range(seconds):
                for topic, b in second:
                    t += 5_000_000
                    w.write(topic, b, t)
            w.close()
            fd = os.open(os.path.join(tmp, f"bag_{comp}"), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            dt = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in pathlib.Path(tmp, f"bag_{comp}").glob("*.mcap"))
            out[f"bag_{comp}_mb_s"] = out["payload_mb"] / dt
            out[f"bag_{comp}_file_mb"] = size / 1e6
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (figures less stable)")
    args = ap.parse_args()
    seconds = 4.0 if args.quick else 10.0
    jpeg = make_jpeg()
    res = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1min_at_start": os.getloadavg()[0],
        },
        "load": {
            "image": "640x480 JPEG q80 CompressedImage @ 15 Hz",
            "imu": "Imu @ 200 Hz",
            "measure_s": seconds,
        },
    }
    res["live"] = bench_bridge_and_recorder(seconds, jpeg)
    res["writer"] = bench_writer(100.0 if not args.quick else 30.0)
    live, w = res["live"], res["writer"]
    res["ratios"] = {
        "bridge_cpu_vs_raw_subscriber": live["bridge_cpu_percent"]
        / max(live["baseline_cpu_percent"], 1e-6),
        "recorder_cpu_vs_raw_subscriber": live["recorder_cpu_percent"]
        / max(live["baseline_cpu_percent"], 1e-6),
        "bridge_added_latency_p50_ms": live["bridge_latency_ms"]["p50"]
        - live["dds_latency_ms"]["p50"],
        "bag_zstd_vs_plain_write": w["bag_zstd_mb_s"] / w["plain_write_mb_s"],
        "bag_none_vs_plain_write": w["bag_none_mb_s"] / w["plain_write_mb_s"],
    }
    res["machine"]["loadavg_1min_at_end"] = os.getloadavg()[0]
    print(
        f"machine: {res['machine']['platform']}, {os.cpu_count()} CPUs, load average "
        f"{res['machine']['loadavg_1min_at_start']:.1f} -> {res['machine']['loadavg_1min_at_end']:.1f} "
        "(shared machine: latency tails depend on it)"
    )
    print(
        f"load: {res['load']['image']} ({live['image_bytes'] / 1e3:.0f} kB) + {res['load']['imu']}; "
        f"published {live['published']} in {seconds:.0f} s, client got {live['bridge_received']}"
    )
    print(
        f"CPU (% of one core): raw-subscriber baseline {live['baseline_cpu_percent']:.1f}, "
        f"foxglove_bridge {live['bridge_cpu_percent']:.1f} "
        f"(x{res['ratios']['bridge_cpu_vs_raw_subscriber']:.2f}), "
        f"mcap_recorder {live['recorder_cpu_percent']:.1f} "
        f"(x{res['ratios']['recorder_cpu_vs_raw_subscriber']:.2f})"
    )
    d, b = live["dds_latency_ms"], live["bridge_latency_ms"]
    print(
        f"latency IMU publish -> receive [ms]: DDS only p50 {d['p50']:.2f} p95 {d['p95']:.2f} "
        f"p99 {d['p99']:.2f}; via bridge+WebSocket p50 {b['p50']:.2f} p95 {b['p95']:.2f} "
        f"p99 {b['p99']:.2f} (added p50 {res['ratios']['bridge_added_latency_p50_ms']:.2f} ms)"
    )
    print(
        f"bag writer on {w['payload_mb']:.0f} MB: plain file {w['plain_write_mb_s']:.0f} MB/s; "
        f"MCAP none {w['bag_none_mb_s']:.0f} MB/s, lz4 {w['bag_lz4_mb_s']:.0f} MB/s, "
        f"zstd {w['bag_zstd_mb_s']:.0f} MB/s (x{res['ratios']['bag_zstd_vs_plain_write']:.2f} of plain); "
        f"file sizes none {w['bag_none_file_mb']:.0f} / lz4 {w['bag_lz4_file_mb']:.0f} / "
        f"zstd {w['bag_zstd_file_mb']:.0f} MB"
    )
    out = ROOT / "benchmarks" / "results" / "viz.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
