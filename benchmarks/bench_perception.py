#!/usr/bin/env python3
"""Figures of edgebot_camera / edgebot_perception (issue #6), all in one run on the shipped
detector, with 640x480 frames (rendered demo scenes, resized):

1. bare onnxruntime inference (``session.run`` on a prepared blob) vs the backend's whole
   ``infer`` (letterbox + run + decode/NMS) vs the node pipeline's camera-to-detections latency
   (camera_node reading an HTTP MJPEG stream served here -> Image over DDS -> yolo_node ->
   detections received here; latency = receive time - frame stamp taken at grab, same clock),
   at imgsz 320 and 640. Aim: node p50 <= 1.15 x bare inference.
2. onnxruntime backend vs the ultralytics/torch backend on the same model (.onnx vs .pt),
   per frame, imgsz 320 and 640.
3. publish-to-callback time of a 640x480 rgb8 Image between two processes (stamp at publish,
   received in this process), and the in-process conversion numpy -> Image with
   ``edgebot_common.image`` (one buffer copy into an ``array.array``) vs the naive
   ``msg.data = arr.ravel().tolist()`` (a Python int per byte) as the baseline.
4. CPU use of yolo_node (user+sys of its process) over a window while camera_node streams
   640x480 at 10 fps: detection disabled (service yolo/enable false) vs enabled.

    source env.sh && python benchmarks/bench_perception.py [--frames 40]

Prints the figures and writes benchmarks/results/perception.json (with the machine). The
machine is shared (2 cores): figures carry the load average measured at the start.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import threading
import time

import benchlib  # noqa: E402  (benchmarks/ is the script's folder)

ROOT = benchlib.isolate("edgebot_camera", "edgebot_perception")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import edgebot_testing as et  # noqa: E402


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def stats_ms(values):
    return {"p50_ms": round(pct(values, 50) * 1e3, 2), "p90_ms": round(pct(values, 90) * 1e3, 2),
            "n": len(values)}


def frames_640():
    from scenes import rendered
    return [cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
            for img, _ in rendered(6, seed=777)]


def time_calls(fn, args_list, n):
    fn(args_list[0])                               # warm-up
    fn(args_list[0])
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(args_list[i % len(args_list)])
        out.append(time.perf_counter() - t0)
    return out


def bench_inference(frames, n):
    from edgebot_perception.backends import make_backend
    from edgebot_perception.yolo_math import letterbox, to_blob
    res = {}
    for imgsz in (320, 640):
        be = make_backend("onnxruntime", "", imgsz=imgsz, conf=0.25)
        blobs = [to_blob(letterbox(f, imgsz)[0]) for f in frames]
        bare = time_calls(lambda b: be.sess.run(None, {be.input_name: b}), blobs, n)
        full = time_calls(be.infer, frames, n)
        ul = make_backend("ultralytics", "", imgsz=imgsz, conf=0.25)
        torch_t = time_calls(ul.infer, frames, n)
        res[imgsz] = {"onnx_bare_run": stats_ms(bare), "onnx_backend_infer": stats_ms(full),
                      "ultralytics_torch_infer": stats_ms(torch_t),
                      "onnx_speedup_vs_torch_p50": round(pct(torch_t, 50) / pct(full, 50), 2)}
        print(f"imgsz {imgsz}: bare ort run p50 {res[imgsz]['onnx_bare_run']['p50_ms']} ms, "
              f"backend infer p50 {res[imgsz]['onnx_backend_infer']['p50_ms']} ms, "
              f"ultralytics/torch p50 {res[imgsz]['ultralytics_torch_infer']['p50_ms']} ms "
              f"(onnx {res[imgsz]['onnx_speedup_vs_torch_p50']}x faster)", flush=True)
    return res


def bench_node_latency(frames, helper, procs, n, bare):
    from mjpeg_server import MjpegServer

    from edgebot_interfaces.msg import Detection2DArray
    res = {}
    server = MjpegServer(et.free_port(), frame_fn=lambda i: frames[i % len(frames)], fps=2.0,
                         quality=90).start()
    try:
        procs.node("edgebot_camera", "camera_node", params={"source": server.url,
                                                             "publish_compressed": False})
        for imgsz in (320, 640):
            lat = []
            lock = threading.Lock()

            def on_det(m):
                now = helper.node.get_clock().now().nanoseconds
                st = m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                with lock:
                    lat.append((now - st) * 1e-9)
            sub = helper.node.create_subscription(Detection2DArray, "detections", on_det, 10)
            yolo = procs.node("edgebot_perception", "yolo_node", params={"imgsz": imgsz},
                              name=f"yolo{imgsz}")
            et.wait_for(lambda: len(lat) >= 3, 120, what=f"detections\n{yolo.output()[-2000:]}")
            with lock:
                lat.clear()
            et.wait_for(lambda: len(lat) >= n, 60 + n, what="latency samples")
            yolo.stop()
            helper.node.destroy_subscription(sub)
            b = bare[imgsz]["onnx_bare_run"]["p50_ms"]
            s = stats_ms(lat)
            res[imgsz] = {"camera_to_detections": s,
                          "ratio_p50_vs_bare_inference": round(s["p50_ms"] / b, 3)}
            print(f"imgsz {imgsz}: camera->detections p50 {s['p50_ms']} ms p90 {s['p90_ms']} ms "
                  f"= {res[imgsz]['ratio_p50_vs_bare_inference']}x bare inference", flush=True)
    finally:
        server.stop()
    return res


PUBLISHER = r"""
import sys, time, numpy as np, rclpy
from sensor_msgs.msg import Image
from edgebot_common import qos
from edgebot_common.image import numpy_to_image
rclpy.init()
node = rclpy.create_node("bench_image_pub")
pub = node.create_publisher(Image, "bench/image", qos.IMAGES)
arr = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
while pub.get_subscription_count() == 0:
    time.sleep(0.05)
time.sleep(1.0)
for i in range(int(sys.argv[1])):
    msg = numpy_to_image(arr, "rgb8", frame_id="bench")
    msg.header.stamp = node.get_clock().now().to_msg()
    pub.publish(msg)
    time.sleep(0.05)
print("done", flush=True)
"""


def bench_transport(helper, procs, n):
    from sensor_msgs.msg import Image

    from edgebot_common import qos
    from edgebot_common.image import image_to_numpy, numpy_to_image
    lat = []

    def on_img(m):
        now = helper.node.get_clock().now().nanoseconds
        a = image_to_numpy(m)
        assert a.shape == (480, 640, 3)
        lat.append((now - (m.header.stamp.sec * 10**9 + m.header.stamp.nanosec)) * 1e-9)
    helper.node.create_subscription(Image, "bench/image", on_img, qos.IMAGES)
    p = procs.start([sys.executable, "-c", PUBLISHER, str(n)], name="bench_image_pub")
    et.wait_for(lambda: "done" in p.output() or not p.running(), 120 + n, what="publisher")
    time.sleep(0.5)
    arr = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    fast = time_calls(lambda a: numpy_to_image(a, "rgb8"), [arr], 30)

    def naive(a):
        m = Image(height=480, width=640, encoding="rgb8", step=1920)
        m.data = a.ravel().tolist()     # the per-pixel Python path (a list of ints)
        return m
    slow = time_calls(naive, [arr], 3)
    res = {"publish_to_callback_640x480_rgb8": stats_ms(lat),
           "numpy_to_image_ms_p50": round(pct(fast, 50) * 1e3, 3),
           "naive_tolist_ms_p50": round(pct(slow, 50) * 1e3, 1),
           "conversion_speedup": round(pct(slow, 50) / pct(fast, 50), 1)}
    print(f"640x480 rgb8 publish->callback p50 {res['publish_to_callback_640x480_rgb8']['p50_ms']}"
          f" ms (n={len(lat)}); numpy_to_image {res['numpy_to_image_ms_p50']} ms vs naive "
          f"tolist {res['naive_tolist_ms_p50']} ms ({res['conversion_speedup']}x)",
          flush=True)
    return res


def bench_cpu(frames, helper, procs, seconds):
    import psutil
    from mjpeg_server import MjpegServer
    from std_srvs.srv import SetBool
    server = MjpegServer(et.free_port(), frame_fn=lambda i: frames[i % len(frames)],
                         fps=10.0).start()
    res = {}
    try:
        procs.node("edgebot_camera", "camera_node", "-r", "__node:=cam_cpu",
                   params={"source": server.url, "publish_compressed": False})
        yolo = procs.node("edgebot_perception", "yolo_node", params={"enabled": False},
                          name="yolo_cpu")
        et.wait_for(lambda: "input camera/image_raw" in yolo.output(), 120, what="yolo up")
        proc = psutil.Process(yolo.pid)
        # the venv's .pth hook re-executes Python once: measure the process that runs the node
        kids = proc.children(recursive=True)
        targets = [proc] + kids

        def cpu():
            return sum(sum(p.cpu_times()[:2]) for p in targets if p.is_running())
        for state in (False, True):
            helper.call(SetBool, "yolo/enable", SetBool.Request(data=state), timeout=60)
            time.sleep(2.0)
            c0, t0 = cpu(), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu(), time.monotonic()
            res["enabled" if state else "disabled"] = {
                "cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2)}
        print(f"yolo_node CPU at 10 fps 640x480: disabled "
              f"{res['disabled']['cpu_percent_of_one_core']} % vs enabled "
              f"{res['enabled']['cpu_percent_of_one_core']} % of one core", flush=True)
    finally:
        server.stop()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=40, help="samples per measurement")
    ap.add_argument("--cpu-seconds", type=float, default=8.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "perception.json"))
    a = ap.parse_args()
    load = os.getloadavg()
    frames = frames_640()
    out = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                       "python": platform.python_version(), "loadavg_at_start": load},
           "frames": "640x480 rendered demo scenes", "model": "edgebot_objects (shipped)"}
    out["inference"] = bench_inference(frames, a.frames)
    helper = et.RosHelper("bench_perception")
    procs = et.Procs()
    try:
        out["node_latency"] = bench_node_latency(frames, helper, procs, a.frames,
                                                 out["inference"])
        procs.stop_all()
        procs = et.Procs()
        out["transport"] = bench_transport(helper, procs, max(100, a.frames))
        procs.stop_all()
        procs = et.Procs()
        out["cpu"] = bench_cpu(frames, helper, procs, a.cpu_seconds)
    finally:
        procs.stop_all()
        helper.close()
    pathlib.Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
