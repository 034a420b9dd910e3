#!/usr/bin/env python3
"""The Fast DDS profiles under a frozen subscriber, and what they cost camera frames (#18).

For config/fastdds.xml (UDPv4 only, the default) and config/fastdds_shm.xml (shared memory,
opt-in), alternating round by round in the same run:

1. freeze: a publisher of /clock-like messages (rosgraph_msgs/Clock, best effort, ~1 kHz, as
   sim_node's physics thread publishes) times every publish(); ``--victims`` processes
   subscribe to it and publish flat out to a third process (which reads the clock too); the
   victims are SIGSTOPped together for 60 ms, ``--cycles`` times. After each stop the
   publisher's main thread is looked at (/proc/<pid>/task/<pid>/syscall: a futex inside a
   /dev/shm/fastdds_port* mapping is a wait for a port's interprocess lock); when it waits, the
   victims stay frozen ``--hold`` s, so its publish() shows how long it waits for a frozen
   peer. Figures: stops after which it waited, publishes over 0.5 s, the longest publish.
2. frames: a 640x480 bgr8 Image at 10 Hz, publish -> callback between two processes (the
   header stamp against the receive time), p50 / p90.

    python benchmarks/faults/bench_dds.py [--rounds 2] [--cycles 60] [--hold 1.5]
                                          [--victims 3] [--frames 60] [--save]

prints the figures and writes benchmarks/results/dds.json with --save.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import benchlib  # noqa: E402

ROOT = benchlib.ROOT
PROFILES = {
    "udp (config/fastdds.xml)": str(ROOT / "config" / "fastdds.xml"),
    "shm (config/fastdds_shm.xml)": str(ROOT / "config" / "fastdds_shm.xml"),
}

ROLE = r"""
import json, os, sys, threading, time
import rclpy
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String
from edgebot_common import qos
role = sys.argv[1]
rclpy.init()
node = rclpy.create_node("bench_dds_" + role)
if role == "clock":
    pub = node.create_publisher(Clock, "bench_dds/clock", qos.CLOCK)
    print("up", flush=True)
    n = 0
    while True:
        t0 = time.monotonic()
        pub.publish(Clock())
        dt = time.monotonic() - t0
        n += 1
        if dt > 0.02 or n % 500 == 0:
            print(json.dumps({"t": t0, "dt": dt, "n": n}), flush=True)
        time.sleep(0.001)
os.nice(10)
node.create_subscription(Clock, "bench_dds/clock", lambda m: None, qos.CLOCK)
if role == "victim":
    pub = node.create_publisher(String, "bench_dds/flood", qos.RELIABLE)
    threading.Thread(target=rclpy.spin, args=(node,), daemon=True).start()
    msg = String(data="x" * 64)
    print("up", flush=True)
    while True:
        pub.publish(msg)
node.create_subscription(String, "bench_dds/flood", lambda m: None, qos.RELIABLE)
print("up", flush=True)
rclpy.spin(node)
"""

FRAME_PUB = r"""
import sys, time, numpy as np, rclpy
from sensor_msgs.msg import Image
from edgebot_common import qos
from edgebot_common.image import numpy_to_image
rclpy.init()
node = rclpy.create_node("bench_dds_frames")
pub = node.create_publisher(Image, "bench_dds/image", qos.IMAGES)
arr = (np.arange(480 * 640 * 3) % 251).astype(np.uint8).reshape(480, 640, 3)
while pub.get_subscription_count() < 1:
    time.sleep(0.05)
time.sleep(1.0)
for _ in range(int(sys.argv[1])):
    m = numpy_to_image(arr, "bgr8", frame_id="cam")
    t = time.time_ns()
    m.header.stamp.sec, m.header.stamp.nanosec = t // 10**9, t % 10**9
    pub.publish(m)
    time.sleep(0.1)
"""

FRAME_SUB = r"""
import json, sys, time, rclpy
from sensor_msgs.msg import Image
from edgebot_common import qos
rclpy.init()
node = rclpy.create_node("bench_dds_frames_sub")
lat = []
node.create_subscription(
    Image, "bench_dds/image",
    lambda m: lat.append(time.time() - m.header.stamp.sec - m.header.stamp.nanosec * 1e-9),
    qos.IMAGES)
print("up", flush=True)
t_end = time.time() + float(sys.argv[1])
while time.time() < t_end and len(lat) < int(sys.argv[2]):
    rclpy.spin_once(node, timeout_sec=0.1)
print("LAT " + json.dumps(lat), flush=True)
"""


def _start(code: str, args: list, profile: str, out=subprocess.PIPE) -> subprocess.Popen:
    env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=profile, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=out,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )


def _up(p: subprocess.Popen, timeout: float = 60.0) -> None:
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        line = p.stdout.readline()
        if line.strip() == "up":
            return
        if p.poll() is not None:
            raise RuntimeError(f"a helper exited with {p.returncode}")
    raise TimeoutError("a helper did not start")


def _stop(procs) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGCONT)
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)


def _lock_wait(pid: int) -> bool:
    """Is the main thread of ``pid`` blocked on a futex inside a Fast DDS shared-memory port
    (/dev/shm/fastdds_port*): waiting for a port's interprocess lock?"""
    try:
        sc = open(f"/proc/{pid}/task/{pid}/syscall").read().split()
        if sc[0] != "202":  # futex (x86_64)
            return False
        addr = int(sc[1], 16)
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if lo <= addr < hi:
                return len(f) >= 6 and os.path.basename(f[5]).startswith("fastdds_port")
    except (OSError, ValueError, IndexError):
        pass
    return False


def freeze(profile: str, cycles: int, hold_s: float, victims: int) -> dict:
    """``cycles`` stops of the victims for 60 ms each; when the publisher is then found waiting
    for a port lock (/proc), the victims stay frozen ``hold_s`` so that its publish() shows how
    long it waits for them."""
    clock = _start(ROLE, ["clock"], profile)
    others = [_start(ROLE, ["reader"], profile)] + [
        _start(ROLE, ["victim"], profile) for _ in range(victims)
    ]
    procs = [clock, *others]
    try:
        for p in procs:
            _up(p)
        lines: list[dict] = []
        threading.Thread(
            target=lambda: [lines.append(json.loads(ln)) for ln in clock.stdout], daemon=True
        ).start()
        time.sleep(2.0)  # discovery, the flood flowing
        t_first, waits = time.monotonic(), []
        for k in range(cycles):
            for v in others[1:]:
                os.kill(v.pid, signal.SIGSTOP)
            time.sleep(0.06)
            if _lock_wait(clock.pid):
                waits.append(k + 1)
                time.sleep(hold_s)
            for v in others[1:]:
                os.kill(v.pid, signal.SIGCONT)
            time.sleep(0.04)
        time.sleep(2.5)  # a publish still blocked reports when it returns
        slow = [x for x in lines if x["t"] >= t_first and x["dt"] > 0.02]
        n = [x["n"] for x in lines]
        return {
            "stops": cycles,
            "victims": victims,
            "publishes": (max(n) - min(n)) if n else 0,
            "stops_with_a_lock_wait": waits,
            "publishes_over_0.5_s": sorted(round(x["dt"], 3) for x in slow if x["dt"] > 0.5),
            "longest_publish_s": round(max((x["dt"] for x in slow), default=0.0), 4),
        }
    finally:
        _stop(procs)


def frames(profile: str, n: int) -> list:
    sub = _start(FRAME_SUB, [30 + n * 0.2, n], profile)
    pub = None
    try:
        _up(sub)
        pub = _start(FRAME_PUB, [n], profile, out=subprocess.DEVNULL)
        out = sub.communicate(timeout=60 + n * 0.3)[0]
        line = [ln for ln in out.splitlines() if ln.startswith("LAT ")]
        return json.loads(line[0][4:]) if line else []
    finally:
        _stop([p for p in (sub, pub) if p is not None])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cycles", type=int, default=60)
    ap.add_argument("--hold", type=float, default=1.5, help="s frozen once a lock wait is seen")
    ap.add_argument("--victims", type=int, default=3)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--save", action="store_true")
    ns = ap.parse_args(argv)
    benchlib.isolate()
    load0 = os.getloadavg()[0]
    res = {k: {"freeze": [], "frame_latency_s": []} for k in PROFILES}
    for _ in range(ns.rounds):
        for name, path in PROFILES.items():
            res[name]["freeze"].append(freeze(path, ns.cycles, ns.hold, ns.victims))
            res[name]["frame_latency_s"] += frames(path, ns.frames)[3:]  # past the first
    out = {"machine": benchlib.machine(), "load_at_start": round(load0, 1), "profiles": {}}
    for name, r in res.items():
        lat = r["frame_latency_s"]
        fr = r["freeze"]
        summary = {
            "stops": sum(f["stops"] for f in fr),
            "stops_with_a_lock_wait": sum(len(f["stops_with_a_lock_wait"]) for f in fr),
            "publishes_over_0.5_s": sorted(x for f in fr for x in f["publishes_over_0.5_s"]),
            "longest_publish_s": max(f["longest_publish_s"] for f in fr),
            "frame_p50_ms": round(benchlib.pct(lat, 50) * 1e3, 1) if lat else None,
            "frame_p90_ms": round(benchlib.pct(lat, 90) * 1e3, 1) if lat else None,
            "frames": len(lat),
            "rounds": fr,
        }
        out["profiles"][name] = summary
        print(
            f"{name}: after {summary['stops_with_a_lock_wait']} of {summary['stops']} stops of "
            f"{ns.victims} flooding subscribers the publisher waited for a frozen peer's "
            f"shared-memory lock; publishes over 0.5 s: {summary['publishes_over_0.5_s']}, "
            f"longest {summary['longest_publish_s']:.3f} s; 640x480 frame publish->callback "
            f"p50 {summary['frame_p50_ms']} ms, p90 {summary['frame_p90_ms']} ms "
            f"(n={summary['frames']})",
            flush=True,
        )
    print(f"load average at start {load0:.1f}, at the end {os.getloadavg()[0]:.1f}")
    if ns.save:
        print(benchlib.save("dds", out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
