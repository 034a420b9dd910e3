#!/usr/bin/env python3
"""Should yolo_node run in the camera's process? Frame stamp -> detections published, with
yolo_node hosted in the process that publishes the frames (one rclpy context: Fast DDS hands
the frame over in-process, no UDP) against yolo_node in a process of its own (the default),
at imgsz 320, raw 640x480 ``bgr8`` frames and JPEG (``input: compressed``).

Each configuration runs in a fresh process of this script (``--child``), one after another,
the order rotated per round so that a load change hits all alike. In a child, frames go out
one at a time (the next after the detections of the last and a 20 ms pause) and the latency
is the detections' DDS source timestamp minus the frame's stamp (one clock). Against it: the
node's own ``session.run`` p50 from its diagnostics (``latency.run_ms``, the same frames), so
the ratio compares the node with its own bare inference, and the node's stage medians.

Hosted: ``hosted_single`` (one SingleThreadedExecutor thread for the publisher's node and
yolo_node: yolo_node then infers on its worker thread), ``hosted_multi`` (a
MultiThreadedExecutor with 3 threads, ``edgebot_common.executors``'s, as node_main and the
container use: the model runs in the image callback) and ``hosted_multi_rclpy`` (the same with
rclpy's own MultiThreadedExecutor, whose busy loops that module explains).

    source env.sh && python benchmarks/bench_yolo_hosted.py [--rounds 2] [--frames 200]

Prints the figures and writes benchmarks/results/yolo_hosted.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import benchlib

ROOT = benchlib.isolate("edgebot_perception")

import numpy as np  # noqa: E402

CONFIGS = ["apart", "hosted_single", "hosted_multi", "hosted_multi_rclpy"]
INPUTS = ["raw", "compressed"]


def child(config: str, inp: str, imgsz: int, n: int) -> dict:
    import cv2
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import MultiThreadedExecutor as RclpyMultiThreadedExecutor
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CompressedImage, Image

    from edgebot_common import qos
    from edgebot_common.executors import MultiThreadedExecutor
    from edgebot_common.image import numpy_to_image
    from edgebot_interfaces.msg import Detection2DArray
    from scenes import rendered

    frames = [cv2.resize(i, (640, 480)) for i, _ in rendered(6, seed=777)]
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for f in frames]
    params = ["-p", f"imgsz:={imgsz}", "-p", f"input:={inp}", "-p", "image_topic:=bench/img"]
    proc, yolo = None, None
    if config == "apart":
        rclpy.init()
        run = "from edgebot_perception.yolo_node import main; main()"
        proc = subprocess.Popen([sys.executable, "-c", run, "--ros-args", *params])
    else:
        rclpy.init(args=["--ros-args", *params])
        from edgebot_perception.yolo_node import YoloNode

        sys.setswitchinterval(0.001)  # as yolo_node's main()
        yolo = YoloNode()
    node = rclpy.create_node("bench_camera")
    pub = node.create_publisher(Image if inp == "raw" else CompressedImage, "bench/img", qos.IMAGES)
    got, cond, diags = {}, threading.Condition(), []

    def on_det(m, info):
        with cond:
            got[m.header.stamp.sec * 10**9 + m.header.stamp.nanosec] = info["source_timestamp"]
            cond.notify_all()

    node.create_subscription(Detection2DArray, "detections", on_det, 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    if config == "hosted_single":
        ex = SingleThreadedExecutor()
    elif config == "hosted_multi_rclpy":
        ex = RclpyMultiThreadedExecutor(3)
    else:  # apart (the publisher's side only) and hosted_multi: edgebot_common's
        ex = MultiThreadedExecutor(3)
    ex.add_node(node)
    if yolo is not None:
        ex.add_node(yolo)
    threading.Thread(target=ex.spin, daemon=True).start()

    def send(i, timeout=5.0):
        if inp == "raw":
            msg = numpy_to_image(frames[i % 6], "bgr8", frame_id="camera_link")
        else:
            msg = CompressedImage(format="jpeg", data=jpegs[i % 6])
            msg.header.frame_id = "camera_link"
        now = node.get_clock().now()
        msg.header.stamp = now.to_msg()
        pub.publish(msg)
        with cond:
            cond.wait_for(lambda: now.nanoseconds in got, timeout)
            src = got.get(now.nanoseconds)
        return None if src is None else (src - now.nanoseconds) * 1e-9

    try:
        t0 = time.monotonic()
        while send(0, 1.0) is None:
            if time.monotonic() - t0 > 120:
                raise SystemExit("yolo_node never answered")
        for i in range(20):  # warm-up
            send(i)
        lat = []
        for i in range(n):
            r = send(i)
            if r is not None:
                lat.append(r)
            time.sleep(0.02)
        k0 = len(diags)
        t0 = time.monotonic()
        while len(diags) < k0 + 2 and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        vals = {}
        for d in diags:
            for s in d.status:
                if s.name.endswith("detector"):
                    vals = {kv.key: kv.value for kv in s.values}
        stages = {
            k[len("latency.") : -len("_ms")]: float(v)
            for k, v in vals.items()
            if k.startswith("latency.") and k.endswith("_ms")
        }
        p50 = float(np.median(lat)) * 1e3
        run = stages.get("run", float("nan"))
        return {
            "node_p50_ms": round(p50, 2),
            "node_p90_ms": round(float(np.percentile(lat, 90)) * 1e3, 2),
            "own_run_p50_ms": run,
            "node_vs_own_run": round(p50 / run, 3),
            "frames": len(lat),
            "lost": n - len(lat),
            "stage_medians": stages,
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        ex.shutdown(timeout_sec=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--child", nargs=2, metavar=("CONFIG", "INPUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print("RESULT " + json.dumps(child(*a.child, a.imgsz, a.frames)), flush=True)
        os._exit(0)  # skip rclpy's teardown of the hosted node's threads
    res = {
        "machine": benchlib.machine(),
        "loadavg_at_start": os.getloadavg(),
        "args": {k: v for k, v in vars(a).items() if k != "child"},
        "rounds": [],
    }
    keys = [(c, i) for c in CONFIGS for i in INPUTS]
    for r in range(a.rounds):
        out = {}
        for c, i in keys[r % len(keys) :] + keys[: r % len(keys)]:
            cmd = [sys.executable, __file__, "--child", c, i]
            cmd += ["--frames", str(a.frames), "--imgsz", str(a.imgsz)]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise SystemExit(f"{c} {i} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
            out[f"{c}_{i}"] = v = json.loads(line[-1][len("RESULT ") :])
            st = v["stage_medians"]
            print(
                f"round {r + 1} {c:13} {i:10}: node p50 {v['node_p50_ms']} ms, own run "
                f"{v['own_run_p50_ms']} ms, x{v['node_vs_own_run']}; transport "
                f"{st.get('transport')} + wakeup {st.get('wakeup')} ms, lost {v['lost']}",
                flush=True,
            )
        res["rounds"].append(out)
    res["node_vs_own_run"] = {
        k: [rnd[k]["node_vs_own_run"] for rnd in res["rounds"]] for k in res["rounds"][0]
    }
    res["loadavg_at_end"] = os.getloadavg()
    print(f"wrote {benchlib.save('yolo_hosted', res)}")


if __name__ == "__main__":
    main()
