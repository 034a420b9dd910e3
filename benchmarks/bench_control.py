#!/usr/bin/env python3
"""Figures of edgebot_control (issue #7), measured with the real nodes as processes over DDS.

1. command timeout: time from the last ``cmd_vel`` to the first all-zero ``wheel_cmd``
   (base_controller, command_timeout 0.25 s, publish 50 Hz); baseline = the timeout itself.
2. loop period error of base_controller's edgebot_rt loop (200 Hz) while the node runs with a
   cmd_vel stream: idle machine vs. under load (CPU burners on every core); p50/p99/max from
   the loop's own statistics (published in /diagnostics).
3. detection -> cmd_vel latency through target_follower, against a minimal rclpy relay
   (subscribe Detection2DArray, publish Twist) measured in the same run as the baseline.

    source env.sh && python benchmarks/bench_control.py [--quick]

Prints the figures and writes benchmarks/results/control.json (with the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import benchlib

ROOT = benchlib.isolate()

import edgebot_testing as et  # noqa: E402

RELAY = r"""
import rclpy
from geometry_msgs.msg import Twist
from edgebot_interfaces.msg import Detection2DArray
from edgebot_common import qos
rclpy.init()
n = rclpy.create_node("relay")
pub = n.create_publisher(Twist, "follower/cmd_vel", qos.COMMANDS)
def cb(m):
    t = Twist()
    # same sign convention as the follower: target right of centre -> turn right
    t.angular.z = -1.0 if m.detections and m.detections[0].center_x > m.image_width / 2 else 1.0
    pub.publish(t)
n.create_subscription(Detection2DArray, "detections", cb, qos.LATEST_ONLY)
print("relay ready", flush=True)
rclpy.spin(n)
"""


pct = benchlib.pct


def summary_ms(xs):
    return {
        "n": len(xs),
        "p50_ms": round(pct(xs, 50) * 1e3, 3),
        "p99_ms": round(pct(xs, 99) * 1e3, 3),
        "max_ms": round(max(xs) * 1e3, 3),
        "mean_ms": round(statistics.mean(xs) * 1e3, 3),
    }


def twist(v=0.0, w=0.0):
    from geometry_msgs.msg import Twist

    t = Twist()
    t.linear.x, t.angular.z = float(v), float(w)
    return t


# ----------------------------------------------------------------------------- 1. timeout
def bench_timeout(ros, procs, trials):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import JointState

    from edgebot_common import qos

    p = procs.node(
        "edgebot_control",
        "base_controller",
        params={
            "command_timeout": 0.25,
            "publish_rate_hz": 50.0,
            "use_feedback": False,
            "max_linear_accel": 10.0,
        },
    )
    p.wait_output("base controller running", timeout=60)
    arrivals = []  # (t_recv, all_zero)

    def on_wc(m):
        arrivals.append((time.monotonic(), all(v == 0.0 for v in m.velocity)))

    ros.node.create_subscription(JointState, "wheel_cmd", on_wc, qos.COMMANDS)
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub)
    et.wait_for(lambda: arrivals, 30, what="wheel_cmd")
    lat = []
    for _ in range(trials):
        for _ in range(25):  # 0.5 s of commands at 50 Hz
            pub.publish(twist(0.2, 0.0))
            time.sleep(0.02)
        et.wait_for(lambda: arrivals and not arrivals[-1][1], 10, what="moving")
        t_last = time.monotonic()
        pub.publish(twist(0.2, 0.0))
        n0 = len(arrivals)
        et.wait_for(lambda: any(z for _, z in arrivals[n0:]), 10, what="zero wheels")
        t_zero = next(t for t, z in arrivals[n0:] if z)
        lat.append(t_zero - t_last)
        time.sleep(0.2)
    p.stop()
    s = summary_ms(lat)
    s["command_timeout_ms"] = 250.0
    s["ratio_p50_to_timeout"] = round(pct(lat, 50) / 0.25, 3)
    s["ratio_max_to_timeout"] = round(max(lat) / 0.25, 3)
    return s


# ----------------------------------------------------------------------------- 2. loop jitter
def burners(n):
    code = "import time\nend=time.monotonic()+600\nwhile time.monotonic()<end: pass\n"
    return [
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True) for _ in range(n)
    ]


def loop_stats(ros, procs, seconds, load):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist

    from edgebot_common import qos

    diags = ros.collect(DiagnosticArray, "/diagnostics")
    p = procs.node(
        "edgebot_control",
        "base_controller",
        params={"rate_hz": 200.0, "use_feedback": False},
        name=f"bc-{load}",
    )
    p.wait_output("base controller running", timeout=60)
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub)
    hogs = burners(os.cpu_count() or 1) if load else []
    try:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            pub.publish(twist(0.2, 0.5 if (i // 50) % 2 else -0.5))
            i += 1
            time.sleep(0.02)
        n0 = len(diags)
        et.wait_for(lambda: len(diags) > n0, 10, what="diagnostics")
        vals = None
        for arr in reversed(diags):
            for st in arr.status:
                if st.name.startswith("base_controller:"):
                    vals = {kv.key: kv.value for kv in st.values}
                    break
            if vals:
                break
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        p.stop()
    return {
        "seconds": seconds,
        "cpu_burners": len(hogs),
        "cycles": int(vals["cycles"]),
        "overruns": int(vals["overruns"]),
        "period_err_p50_us": round(float(vals["period_err_p50_ns"]) / 1e3, 2),
        "period_err_p99_us": round(float(vals["period_err_p99_ns"]) / 1e3, 2),
        "period_err_max_us": round(float(vals["period_err_max_ns"]) / 1e3, 2),
        "rt_priority_applied": vals.get("rt_priority_applied"),
    }


# ----------------------------------------------------------------------------- 3. latency
def detection_latency(ros, proc, n):
    from geometry_msgs.msg import Twist

    from edgebot_common import objects, qos
    from edgebot_interfaces.msg import Detection2D, Detection2DArray

    W, H = objects.CAMERA_WIDTH, objects.CAMERA_HEIGHT
    got = []
    sub = ros.node.create_subscription(
        Twist,
        "follower/cmd_vel",
        lambda m: got.append((time.monotonic(), m.angular.z)),
        qos.COMMANDS,
    )
    pub = ros.publisher(Detection2DArray, "detections", qos.RELIABLE)
    ros.wait_subscribers(pub)
    time.sleep(1.0)
    lat = []
    for i in range(n + 5):
        right = i % 2 == 0
        msg = Detection2DArray(image_width=W, image_height=H)
        msg.detections = [
            Detection2D(
                label="ball",
                score=0.9,
                center_x=W * (0.8 if right else 0.2),
                center_y=H / 2,
                size_x=40.0,
                size_y=40.0,
            )
        ]
        n0 = len(got)
        t0 = time.monotonic()
        pub.publish(msg)
        want = (lambda w: w < 0) if right else (lambda w: w > 0)
        t1 = et.wait_for(
            lambda: next((t for t, w in got[n0:] if want(w)), None),
            10,
            what="cmd_vel for the detection",
        )
        if i >= 5:  # warm-up frames excluded
            lat.append(t1 - t0)
        time.sleep(0.1)  # ~10 fps, the demo camera rate
    ros.node.destroy_subscription(sub)
    ros.node.destroy_publisher(pub)
    proc.stop()
    return lat


def bench_latency(ros, procs, n):
    relay = procs.start([sys.executable, "-c", RELAY], name="relay")
    relay.wait_output("relay ready", timeout=60)
    base = detection_latency(ros, relay, n)
    f = procs.node(
        "edgebot_control",
        "target_follower",
        params={"use_sonar": False, "rate_hz": 1.0, "center_tolerance": 0.05},
    )
    f.wait_output("following 'ball'", timeout=60)
    fol = detection_latency(ros, f, n)
    return {
        "relay_baseline": summary_ms(base),
        "target_follower": summary_ms(fol),
        "ratio_p50_follower_to_relay": round(pct(fol, 50) / pct(base, 50), 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer trials (smoke run)")
    ap.add_argument("--parts", default="timeout,loop,latency")
    args = ap.parse_args()
    parts = args.parts.split(",")
    procs = et.Procs()
    ros = et.RosHelper("bench_control")
    res = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        if "timeout" in parts:
            res["command_timeout_to_zero"] = bench_timeout(ros, procs, 5 if args.quick else 20)
            print("timeout->zero:", json.dumps(res["command_timeout_to_zero"]), flush=True)
        if "loop" in parts:
            secs = 4.0 if args.quick else 10.0
            idle = loop_stats(ros, procs, secs, load=False)
            loaded = loop_stats(ros, procs, secs, load=True)
            res["loop_period_error"] = {
                "rate_hz": 200.0,
                "idle": idle,
                "loaded": loaded,
                "ratio_p99_loaded_to_idle": round(
                    loaded["period_err_p99_us"] / max(idle["period_err_p99_us"], 1e-3), 3
                ),
            }
            print("loop idle:", json.dumps(idle), flush=True)
            print("loop loaded:", json.dumps(loaded), flush=True)
        if "latency" in parts:
            res["detection_to_cmd_vel"] = bench_latency(ros, procs, 20 if args.quick else 100)
            print("detection->cmd_vel:", json.dumps(res["detection_to_cmd_vel"]), flush=True)
    finally:
        procs.stop_all()
        ros.close()
    out = ROOT / "benchmarks" / "results" / "control.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.quick:
        out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
