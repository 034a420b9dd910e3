#!/usr/bin/env python3
"""Figures of edgebot_imu (issue #5), measured with the real imu_node process against the
virtual MPU-6050 (served over TCP from this process), real rclpy/DDS to a subscriber here.

The virtual IMU runs in its own process (``edgebot virtual-imu``), as with the simulator.

1. sustained publish rate (the node's own published counter, from /diagnostics), the rate one
   Python subscriber here receives, and period jitter at 200 Hz and 500 Hz (direct register reads) and
   at 500 Hz and 1 kHz in FIFO mode (stamps then come from the chip's sample clock, so their
   jitter is ~0 by construction; the rate is the figure): ``imu/data`` received over
   ``--seconds``; rate = messages / span of their header stamps; jitter = |stamp period -
   nominal period| p50/p99 (stamps are taken at read time, so this is the read loop's jitter).
2. end-to-end latency: header stamp (register read) -> message received by the subscriber in
   this process (same clock), p50/p99. Baseline in the same run: one 14-byte register read
   over the virtual bus (the transport alone), so the ratio shows what node + DDS add.
3. fusion step: edgebot_rt's C++ Madgwick ``update_imu`` vs the Python reference
   (``edgebot_common.reference``) per call, in process.

    source env.sh && python benchmarks/bench_imu.py [--seconds 10]

Prints the figures and writes benchmarks/results/imu.json (with the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time

import benchlib  # benchmarks/ is the script's folder

ROOT = benchlib.isolate()

import edgebot_testing as et  # noqa: E402
from edgebot_imu.bus import open_bus  # noqa: E402
from edgebot_imu.mpu6050 import ACCEL_XOUT_H, Mpu6050  # noqa: E402

NS = f"/benchimu{os.getpid()}"  # other sessions may share the random ROS_DOMAIN_ID


pct = benchlib.pct_nearest


def measure_rate(rate_hz: float, seconds: float, helper, fifo: bool = False) -> dict:
    from sensor_msgs.msg import Imu

    from edgebot_common import qos

    got = []
    lock = threading.Lock()

    def on_msg(m):
        t = time.time()
        with lock:
            got.append((m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, t))

    from diagnostic_msgs.msg import DiagnosticArray

    # the subscriber uses SENSOR_DATA like real consumers: under load this Python subscriber
    # drops what it cannot take (best effort, depth 5), so the sustained rate is taken from the
    # node's own published counter (diagnostics); latency from what this subscriber receives
    sub = helper.node.create_subscription(Imu, f"{NS}/imu/data", on_msg, qos.SENSOR_DATA)
    diags = []
    spec_box = []

    def on_diag(m):
        for st in m.status:
            if (
                st.name.startswith("imu_node")
                and st.name.endswith("data")
                and spec_box
                and spec_box[0] in st.hardware_id
            ):
                v = {kv.key: kv.value for kv in st.values}
                diags.append(
                    (time.monotonic(), int(v["published"]), int(v.get("fifo_overflows", 0)))
                )

    dsub = helper.node.create_subscription(
        DiagnosticArray, "/diagnostics", on_diag, qos.DIAGNOSTICS
    )
    import psutil

    procs = et.Procs()
    try:
        spec = start_virtual(procs)
        spec_box.append(spec)
        tmp = tempfile.mkdtemp(prefix="bench-imu-")
        node = procs.node(
            "edgebot_imu",
            "imu_node",
            "-r",
            f"__ns:={NS}",
            params={
                "bus": spec,
                "publish_rate": rate_hz,
                "calibration.file": f"{tmp}/cal.yaml",
                "mpu6050.use_fifo": fifo,
            },
        )
        et.wait_for(lambda: len(got) > 50, 60, what="imu/data")
        time.sleep(1.0)  # settle
        proc = psutil.Process(node.pid)

        def cpu():
            ps = [proc] + proc.children(recursive=True)
            return sum(p.cpu_times().user + p.cpu_times().system for p in ps)

        with lock:
            got.clear()
        c0, w0 = cpu(), time.monotonic()
        d0 = diags[-1] if diags else None
        time.sleep(seconds)
        c1, w1 = cpu(), time.monotonic()
        d1 = diags[-1] if diags else None
        with lock:
            data = list(got)
    finally:
        procs.stop_all()
    helper.node.destroy_subscription(sub)
    helper.node.destroy_subscription(dsub)
    published = None
    overflows = None
    if d0 and d1 and d1[0] > d0[0]:
        published = (d1[1] - d0[1]) / (d1[0] - d0[0])
        overflows = d1[2] - d0[2]
    stamps = [s for s, _ in data]
    periods = [b - a for a, b in zip(stamps, stamps[1:])]
    nominal = 1.0 / rate_hz
    jitter = [abs(p - nominal) * 1e6 for p in periods]
    lat = [(r - s) * 1e3 for s, r in data]
    span = stamps[-1] - stamps[0]
    return {
        "target_hz": rate_hz,
        "messages": len(data),
        "rate_hz": (len(data) - 1) / span,
        "jitter_us_p50": pct(jitter, 50),
        "jitter_us_p99": pct(jitter, 99),
        "latency_ms_p50": pct(lat, 50),
        "latency_ms_p99": pct(lat, 99),
        "node_published_hz": published,
        "fifo_overflows": overflows,
        "node_cpu_percent": 100.0 * (c1 - c0) / (w1 - w0),
        "node_cpu_us_per_sample": (c1 - c0) / max(1, len(data)) * 1e6,
    }


def start_virtual(procs) -> str:
    """`edgebot virtual-imu` in its own process (as with the simulator): its bus spec."""
    port = et.free_port()
    v = procs.start(
        ["edgebot", "virtual-imu", "--port", str(port), "--seed", "0"], name="virtual-imu"
    )
    spec = f"tcp://127.0.0.1:{port}"
    v.wait_output(spec, 60)
    return spec


def bus_read_baseline(n: int = 2000) -> dict:
    procs = et.Procs()
    try:
        bus = open_bus(start_virtual(procs))
        Mpu6050(bus).configure()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            bus.read_i2c_block_data(0x68, ACCEL_XOUT_H, 14)
            times.append((time.perf_counter() - t0) * 1e3)
        bus.close()
    finally:
        procs.stop_all()
    return {"reads": n, "read_ms_p50": pct(times, 50), "read_ms_p99": pct(times, 99)}


def fusion_cost(n: int = 20000) -> dict:
    import edgebot_rt as rt

    out = {}
    classes = [("edgebot_rt", rt.Madgwick)]
    try:
        from edgebot_common.reference import Madgwick as PyMadgwick

        classes.append(("python_reference", PyMadgwick))
    except ImportError:
        pass
    for name, cls in classes:
        f = cls(beta=0.05, zeta=0.0)
        f.init_from_accel(0.0, 0.0, 9.81)
        t0 = time.perf_counter()
        for _i in range(n):
            f.update_imu(0.01, -0.02, 0.3, 0.1, 0.2, 9.8, 0.005)
        out[f"{name}_us_per_update"] = (time.perf_counter() - t0) / n * 1e6
    if "python_reference_us_per_update" in out:
        out["speedup_rt_vs_python"] = (
            out["python_reference_us_per_update"] / out["edgebot_rt_us_per_update"]
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    helper = et.RosHelper("bench_imu")
    results = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "seconds_per_rate": args.seconds,
    }
    try:
        base = bus_read_baseline()
        results["baseline_bus_read"] = base
        print(
            f"baseline: one 14-byte read over the virtual bus p50 {base['read_ms_p50']:.3f} ms "
            f"p99 {base['read_ms_p99']:.3f} ms"
        )
        for rate, fifo in ((200.0, False), (500.0, False), (500.0, True), (1000.0, True)):
            r = measure_rate(rate, args.seconds, helper, fifo)
            r["latency_p50_vs_bus_read"] = r["latency_ms_p50"] / base["read_ms_p50"]
            results[f"rate_{int(rate)}" + ("_fifo" if fifo else "")] = r
            pub = r["node_published_hz"]
            print(
                f"{rate:.0f} Hz{' FIFO' if fifo else ''}: node published "
                f"{pub if pub is None else round(pub, 1)} Hz (overflows {r['fifo_overflows']}), "
                f"received {r['rate_hz']:.1f} Hz ({r['messages']} msgs), period "
                f"jitter p50 {r['jitter_us_p50']:.0f} us p99 {r['jitter_us_p99']:.0f} us; "
                f"read->received p50 {r['latency_ms_p50']:.2f} ms p99 "
                f"{r['latency_ms_p99']:.2f} ms ({r['latency_p50_vs_bus_read']:.1f}x a bus read); "
                f"node CPU {r['node_cpu_percent']:.0f}% ({r['node_cpu_us_per_sample']:.0f} us/sample)"
            )
        fc = fusion_cost()
        results["fusion"] = fc
        print("fusion: " + ", ".join(f"{k} {v:.2f}" for k, v in fc.items()))
    finally:
        helper.close()
    out = ROOT / "benchmarks" / "results" / "imu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
