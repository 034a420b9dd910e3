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
   received by a second process), with Fast DDS's built-in transports vs config/fastdds.xml
   (the profile env.sh and the launch files set), and the in-process conversion numpy -> Image with
   ``edgebot_common.image`` (one buffer copy into an ``array.array``) vs the naive
   ``msg.data = arr.ravel().tolist()`` (a Python int per byte) as the baseline.
4. CPU use of yolo_node (user+sys of its process) over a window while camera_node streams
   640x480 at 10 fps: detection disabled (service yolo/enable false) vs enabled.
5. where the node's time goes (``--only node_pipeline``): camera->detections with the raw and
   the compressed input at imgsz 320 and 640, the node's stage medians from its diagnostics
   (queue = executor thread to worker, decode, inference, publish) and bare inference timed
   between the node runs, round after round.

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

import benchlib

ROOT = benchlib.isolate("edgebot_camera", "edgebot_perception")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import edgebot_testing as et  # noqa: E402

pct = benchlib.pct_nearest


def stats_ms(values):
    return {
        "p50_ms": round(pct(values, 50) * 1e3, 2),
        "p90_ms": round(pct(values, 90) * 1e3, 2),
        "n": len(values),
    }


def frames_640():
    from scenes import rendered

    return [
        cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
        for img, _ in rendered(6, seed=777)
    ]


def time_calls(fn, args_list, n):
    fn(args_list[0])  # warm-up
    fn(args_list[0])
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(args_list[i % len(args_list)])
        out.append(time.perf_counter() - t0)
    return out


def bench_inference(frames, n):
    """The three are timed in turn on the same frame, call after call, so a change in the
    machine's load hits them alike (this machine is shared and noisy)."""
    from edgebot_perception.backends import make_backend
    from edgebot_perception.yolo_math import letterbox, to_blob

    res = {}
    for imgsz in (320, 640):
        be = make_backend("onnxruntime", "", imgsz=imgsz, conf=0.25)
        ul = make_backend("ultralytics", "", imgsz=imgsz, conf=0.25)
        blobs = [to_blob(letterbox(f, imgsz)[0]) for f in frames]
        calls = {
            "onnx_bare_run": (lambda i: be.sess.run(None, {be.input_name: blobs[i]})),
            "onnx_backend_infer": (lambda i: be.infer(frames[i])),
            "ultralytics_torch_infer": (lambda i: ul.infer(frames[i])),
        }
        times = {k: [] for k in calls}
        for i in range(n + 2):
            for k, fn in calls.items():
                t0 = time.perf_counter()
                fn(i % len(frames))
                if i >= 2:  # two warm-up rounds
                    times[k].append(time.perf_counter() - t0)
        res[imgsz] = {k: stats_ms(v) for k, v in times.items()}
        res[imgsz]["onnx_speedup_vs_torch_p50"] = round(
            pct(times["ultralytics_torch_infer"], 50) / pct(times["onnx_backend_infer"], 50), 2
        )
        print(
            f"imgsz {imgsz}: bare ort run p50 {res[imgsz]['onnx_bare_run']['p50_ms']} ms, "
            f"backend infer p50 {res[imgsz]['onnx_backend_infer']['p50_ms']} ms, "
            f"ultralytics/torch p50 {res[imgsz]['ultralytics_torch_infer']['p50_ms']} ms "
            f"(onnx {res[imgsz]['onnx_speedup_vs_torch_p50']}x faster)",
            flush=True,
        )
    return res


def bench_node_latency(frames, helper, procs, n, bare):
    from edgebot_interfaces.msg import Detection2DArray
    from mjpeg_server import MjpegServer

    res = {}
    server = MjpegServer(
        et.free_port(), frame_fn=lambda i: frames[i % len(frames)], fps=2.0, quality=90
    ).start()
    try:
        procs.node(
            "edgebot_camera",
            "camera_node",
            params={"source": server.url, "publish_compressed": False},
        )
        for imgsz in (320, 640):
            lat = []
            lock = threading.Lock()

            def on_det(m):
                now = helper.node.get_clock().now().nanoseconds
                st = m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                with lock:
                    lat.append((now - st) * 1e-9)

            sub = helper.node.create_subscription(Detection2DArray, "detections", on_det, 10)
            yolo = procs.node(
                "edgebot_perception", "yolo_node", params={"imgsz": imgsz}, name=f"yolo{imgsz}"
            )
            et.wait_for(lambda: len(lat) >= 3, 120, what=f"detections\n{yolo.output()[-2000:]}")
            with lock:
                lat.clear()
            et.wait_for(lambda: len(lat) >= n, 60 + n, what="latency samples")
            yolo.stop()
            helper.node.destroy_subscription(sub)
            b = bare[imgsz]["onnx_bare_run"]["p50_ms"]
            s = stats_ms(lat)
            res[imgsz] = {
                "camera_to_detections": s,
                "ratio_p50_vs_bare_inference": round(s["p50_ms"] / b, 3),
            }
            print(
                f"imgsz {imgsz}: camera->detections p50 {s['p50_ms']} ms p90 {s['p90_ms']} ms "
                f"= {res[imgsz]['ratio_p50_vs_bare_inference']}x bare inference",
                flush=True,
            )
    finally:
        server.stop()
    return res


def bench_node_pipeline(frames, helper, procs, n, rounds=2):
    """Where the node's time goes (issue 16): camera_node (MJPEG stream served here, 640x480)
    -> yolo_node -> detections received here, with the raw Image input and with the compressed
    input (JPEG over DDS, decoded by yolo_node at the size the model needs), at imgsz 320 and
    640. Latency = receive time - the frame's grab stamp (same clock). The node's own stage
    medians come from its diagnostics (latency.*_ms). Bare inference (``session.run`` on a
    prepared blob) is timed here between the node runs, round after round, so a change of the
    machine's load hits the baseline and the pipeline alike."""
    from diagnostic_msgs.msg import DiagnosticArray

    from edgebot_interfaces.msg import Detection2DArray
    from edgebot_perception.backends import make_backend
    from edgebot_perception.yolo_math import letterbox, to_blob
    from mjpeg_server import MjpegServer

    sizes, inputs = (320, 640), ("raw", "compressed")
    lat = {(z, i): [] for z in sizes for i in inputs}
    stages = {k: [] for k in lat}
    bare = {z: [] for z in sizes}
    backends = {z: make_backend("onnxruntime", "", imgsz=z, conf=0.25) for z in sizes}
    blobs = {z: [to_blob(letterbox(f, z)[0]) for f in frames] for z in sizes}
    server = MjpegServer(
        et.free_port(), frame_fn=lambda i: frames[i % len(frames)], fps=4.0, quality=90
    ).start()
    diags = []
    helper.node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    try:
        procs.node(
            "edgebot_camera",
            "camera_node",
            "-r",
            "__node:=cam_pipeline",
            params={"source": server.url, "publish_compressed": True, "jpeg_quality": 90},
        )
        per_round = max(5, n // rounds)
        for rnd in range(rounds):
            for z in sizes:
                be = backends[z]
                for i in range(per_round + 2):
                    t0 = time.perf_counter()
                    be.sess.run(None, {be.input_name: blobs[z][i % len(frames)]})
                    if i >= 2:
                        bare[z].append(time.perf_counter() - t0)
                for inp in inputs:
                    got = []

                    def on_det(m, got=got):
                        now = helper.node.get_clock().now().nanoseconds
                        st = m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                        got.append((now - st) * 1e-9)

                    sub = helper.node.create_subscription(
                        Detection2DArray, "detections", on_det, 10
                    )
                    yolo = procs.node(
                        "edgebot_perception",
                        "yolo_node",
                        params={"imgsz": z, "input": inp},
                        name=f"yolo_{z}_{inp}_{rnd}",
                    )
                    et.wait_for(
                        lambda got=got: len(got) >= 3, 120, what=f"detections\n{yolo.output()}"
                    )
                    del got[:]
                    k = len(diags)
                    et.wait_for(lambda got=got: len(got) >= per_round, 60 + n, what="samples")
                    lat[(z, inp)] += got[:per_round]
                    et.wait_for(lambda k=k: len(diags) > k + 1, 30, what="diagnostics")
                    for arr in reversed(diags[k:]):
                        v = {
                            kv.key: kv.value
                            for st in arr.status
                            if st.name == "yolo_node: detector"
                            for kv in st.values
                        }
                        if v:
                            stages[(z, inp)].append(v)
                            break
                    yolo.stop()
                    helper.node.destroy_subscription(sub)
    finally:
        server.stop()
    res = {}
    for z in sizes:
        b = stats_ms(bare[z])
        res[z] = {"bare_inference": b}
        for inp in inputs:
            s = stats_ms(lat[(z, inp)])
            last = stages[(z, inp)][-1] if stages[(z, inp)] else {}
            res[z][inp] = {
                "camera_to_detections": s,
                "ratio_p50_vs_bare_inference": round(s["p50_ms"] / b["p50_ms"], 3),
                "node_stage_medians_ms": {
                    k.removeprefix("latency.").removesuffix("_ms"): float(v)
                    for k, v in last.items()
                    if k.startswith("latency.") and "stamp_to" not in k
                },
                "decode_reduction": int(last.get("decode_reduction", 1)),
            }
            print(
                f"imgsz {z} {inp:10s}: camera->detections p50 {s['p50_ms']} ms (p90 "
                f"{s['p90_ms']}) = {res[z][inp]['ratio_p50_vs_bare_inference']}x bare "
                f"inference {b['p50_ms']} ms; node stages {res[z][inp]['node_stage_medians_ms']}",
                flush=True,
            )
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

# The receiving side is a process of its own too (spinning an executor like every node), so
# both ends run with the transport configuration under test.
SUBSCRIBER = r"""
import json, sys, threading, time, rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image
from edgebot_common import qos
from edgebot_common.image import image_to_numpy
rclpy.init()
node = rclpy.create_node("bench_image_sub")
lat = []
def on_img(m):
    now = node.get_clock().now().nanoseconds
    assert image_to_numpy(m).shape == (480, 640, 3)
    lat.append((now - (m.header.stamp.sec * 10**9 + m.header.stamp.nanosec)) * 1e-9)
node.create_subscription(Image, "bench/image", on_img, qos.IMAGES)
ex = SingleThreadedExecutor()
ex.add_node(node)
threading.Thread(target=ex.spin, daemon=True).start()
n = int(sys.argv[1])
deadline = time.monotonic() + 120 + n
while len(lat) < n and time.monotonic() < deadline:
    time.sleep(0.1)
print("LAT " + json.dumps(lat), flush=True)
"""


def bench_transport(procs, n):
    """640x480 rgb8 Image, publish -> callback between two processes: Fast DDS's built-in
    transports (512 KiB shared-memory segment: the frame goes over UDP loopback in fragments)
    vs config/fastdds.xml (8 MiB segment), alternating runs in the same window."""
    from sensor_msgs.msg import Image

    from edgebot_common.image import numpy_to_image

    configs = {
        "builtin_transports": "",
        "edgebot_fastdds_xml": str(ROOT / "config" / "fastdds.xml"),
    }
    lat = {k: [] for k in configs}
    for _rnd in range(2):
        for name, profile in configs.items():
            env = {"FASTDDS_DEFAULT_PROFILES_FILE": profile}
            m = n // 2
            sub = procs.start(
                [sys.executable, "-c", SUBSCRIBER, str(m)], name=f"sub_{name}", env=env
            )
            pub = procs.start(
                [sys.executable, "-c", PUBLISHER, str(m + 5)], name=f"pub_{name}", env=env
            )
            et.wait_for(
                lambda: "LAT " in sub.output() or not sub.running(),
                180 + n,
                what=f"subscriber ({name})\n{sub.output()[-2000:]}",
            )
            line = [ln for ln in sub.output().splitlines() if ln.startswith("LAT ")][0]
            lat[name] += json.loads(line[4:])
            pub.stop()
            sub.stop()
    arr = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    fast = time_calls(lambda a: numpy_to_image(a, "rgb8"), [arr], 30)

    def naive(a):
        m = Image(height=480, width=640, encoding="rgb8", step=1920)
        m.data = a.ravel().tolist()  # the per-pixel Python path (a list of ints)
        return m

    slow = time_calls(naive, [arr], 3)
    b, x = stats_ms(lat["builtin_transports"]), stats_ms(lat["edgebot_fastdds_xml"])
    res = {
        "publish_to_callback_640x480_rgb8": {
            "builtin_transports": b,
            "edgebot_fastdds_xml": x,
            "speedup_p50": round(b["p50_ms"] / x["p50_ms"], 2),
        },
        "numpy_to_image_ms_p50": round(pct(fast, 50) * 1e3, 3),
        "naive_tolist_ms_p50": round(pct(slow, 50) * 1e3, 1),
        "conversion_speedup": round(pct(slow, 50) / pct(fast, 50), 1),
    }
    print(
        f"640x480 rgb8 publish->callback p50: built-in transports {b['p50_ms']} ms, "
        f"config/fastdds.xml {x['p50_ms']} ms (p90 {x['p90_ms']}, n={x['n']}, "
        f"{res['publish_to_callback_640x480_rgb8']['speedup_p50']}x); numpy_to_image "
        f"{res['numpy_to_image_ms_p50']} ms vs naive tolist {res['naive_tolist_ms_p50']} ms "
        f"({res['conversion_speedup']}x)",
        flush=True,
    )
    return res


def bench_cpu(frames, helper, procs, seconds):
    import psutil
    from std_srvs.srv import SetBool

    from mjpeg_server import MjpegServer

    server = MjpegServer(
        et.free_port(), frame_fn=lambda i: frames[i % len(frames)], fps=10.0
    ).start()
    res = {}
    try:
        procs.node(
            "edgebot_camera",
            "camera_node",
            "-r",
            "__node:=cam_cpu",
            params={"source": server.url, "publish_compressed": False},
        )
        yolo = procs.node(
            "edgebot_perception", "yolo_node", params={"enabled": False}, name="yolo_cpu"
        )
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
                "cpu_percent_of_one_core": round(100 * (c1 - c0) / (t1 - t0), 2)
            }
        print(
            f"yolo_node CPU at 10 fps 640x480: disabled "
            f"{res['disabled']['cpu_percent_of_one_core']} % vs enabled "
            f"{res['enabled']['cpu_percent_of_one_core']} % of one core",
            flush=True,
        )
    finally:
        server.stop()
    return res


RUNTIMES = (  # (backend, precision, shipped model file)
    ("onnxruntime", "fp32", "edgebot_objects.onnx"),
    ("onnxruntime", "int8", "edgebot_objects_int8.onnx"),
    ("litert", "fp32", "edgebot_objects_float32.tflite"),
    ("litert", "int8", "edgebot_objects_int8.tflite"),
)


def bench_runtimes(frames, n, n_heldout):
    """Issue 16: per backend x precision at imgsz 320 and 640, interleaved call by call (each
    round times every model on the same frame): bare inference (the runtime's own call on a
    prepared input), the backend's infer (letterbox + run + decode/NMS), and mAP50 on a held-out
    set rendered here (edgebot_perception.evaluate, its own seed). Aim: the fastest INT8 path
    >= 1.5x ONNX Runtime FP32 (bare p50) at a mAP50 drop <= 0.02."""
    from edgebot_perception.backends import make_backend, models_dir
    from edgebot_perception.evaluate import EVAL_CONF, HELDOUT_SEED, heldout_set, map50
    from edgebot_perception.yolo_math import letterbox, to_blob

    t0 = time.time()
    scenes = heldout_set(n_heldout)
    print(f"held-out set: {n_heldout} scenes rendered ({time.time() - t0:.0f} s)", flush=True)
    res = {
        "heldout": {"images": n_heldout, "seed": list(HELDOUT_SEED)},
        "loadavg_at_start": os.getloadavg(),
        "rounds": n,
    }
    for imgsz in (320, 640):
        bes, bare, skipped, files = {}, {}, {}, {}
        for backend, prec, f in RUNTIMES:
            key = f"{backend}_{prec}"
            sized = f.replace(".tflite", f"_{imgsz}.tflite")  # static LiteRT files per size
            f = files[key] = sized if (models_dir() / sized).is_file() else f
            be = make_backend(backend, f, imgsz=imgsz, conf=0.25)
            if be.imgsz != imgsz:  # a .tflite is static
                skipped[key] = f"{f} has a static {be.imgsz}x{be.imgsz} input"
                continue
            bes[key] = be
            if backend == "litert":
                xs = [be.prepare(letterbox(fr, imgsz)[0]) for fr in frames]
                bare[key] = lambda i, be=be, xs=xs: be.run(xs[i])
            else:
                xs = [to_blob(letterbox(fr, imgsz)[0]) for fr in frames]
                bare[key] = lambda i, be=be, xs=xs: be.sess.run(None, {be.input_name: xs[i]})
        times = {k: {"bare": [], "infer": []} for k in bes}
        for i in range(n + 2):
            j = i % len(frames)
            for k, be in bes.items():
                t1 = time.perf_counter()
                bare[k](j)
                t2 = time.perf_counter()
                be.infer(frames[j])
                t3 = time.perf_counter()
                if i >= 2:  # two warm-up rounds
                    times[k]["bare"].append(t2 - t1)
                    times[k]["infer"].append(t3 - t2)
        out = {}
        for backend, prec, _ in RUNTIMES:
            k = f"{backend}_{prec}"
            f = files[k]
            if k in skipped:
                out[k] = {"model": f, "skipped": skipped[k]}
                continue
            acc = map50(make_backend(backend, f, imgsz=imgsz, conf=EVAL_CONF), scenes)
            out[k] = {
                "model": f,
                "bare_inference": stats_ms(times[k]["bare"]),
                "backend_infer": stats_ms(times[k]["infer"]),
                "map50": round(acc["map50"], 4),
                "map50_per_class": acc["per_class"],
            }
        ref = out["onnxruntime_fp32"]
        for k, v in out.items():
            if "skipped" in v:
                continue
            v["speedup_bare_p50_vs_onnxruntime_fp32"] = round(
                ref["bare_inference"]["p50_ms"] / v["bare_inference"]["p50_ms"], 2
            )
            # the same, robust to load swings: median over rounds of the in-round ratio
            r = times["onnxruntime_fp32"]["bare"]
            v["speedup_bare_median_round_ratio"] = round(
                float(np.median([a / b for a, b in zip(r, times[k]["bare"])])), 2
            )
            v["map50_drop_vs_onnxruntime_fp32"] = round(ref["map50"] - v["map50"], 4)
            fp32 = out.get(k.replace("int8", "fp32"), {})
            if k.endswith("int8") and "map50" in fp32:
                v["map50_drop_vs_own_fp32"] = round(fp32["map50"] - v["map50"], 4)
            print(
                f"imgsz {imgsz} {k:17s}: bare p50 {v['bare_inference']['p50_ms']:6.2f} ms "
                f"(x{v['speedup_bare_p50_vs_onnxruntime_fp32']} vs ort fp32, per-round "
                f"x{v['speedup_bare_median_round_ratio']}), infer p50 "
                f"{v['backend_infer']['p50_ms']:6.2f} ms, mAP50 {v['map50']:.4f}",
                flush=True,
            )
        int8 = [
            (v["speedup_bare_p50_vs_onnxruntime_fp32"], k)
            for k, v in out.items()
            if k.endswith("int8") and "skipped" not in v
        ]
        best = max(int8)[1] if int8 else None
        out["aim"] = {
            "fastest_int8": best,
            "speedup": out[best]["speedup_bare_p50_vs_onnxruntime_fp32"] if best else None,
            "map50_drop": out[best]["map50_drop_vs_onnxruntime_fp32"] if best else None,
            "met": bool(
                best
                and out[best]["speedup_bare_p50_vs_onnxruntime_fp32"] >= 1.5
                and out[best]["map50_drop_vs_onnxruntime_fp32"] <= 0.02
            ),
        }
        print(f"imgsz {imgsz} aim (fastest INT8 >= 1.5x ort fp32, drop <= 0.02): {out['aim']}")
        res[imgsz] = out
    return res


PARTS = ("inference", "node_latency", "node_pipeline", "transport", "cpu", "runtimes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=40, help="samples per measurement")
    ap.add_argument("--cpu-seconds", type=float, default=8.0)
    ap.add_argument("--heldout", type=int, default=300, help="held-out scenes for mAP50")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="measure these parts only; the others stay as they are in --out",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "perception.json"))
    a = ap.parse_args()
    load = os.getloadavg()
    frames = frames_640()
    outp = pathlib.Path(a.out)
    out = json.loads(outp.read_text()) if set(a.only) != set(PARTS) and outp.exists() else {}
    out.update(
        {
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "loadavg_at_start": load,
            },
            "frames": "640x480 rendered demo scenes",
            "model": "edgebot_objects (shipped)",
        }
    )
    if "inference" in a.only or "node_latency" in a.only:
        out["inference"] = bench_inference(frames, a.frames)
    if "runtimes" in a.only:
        out["runtimes"] = bench_runtimes(frames, a.frames, a.heldout)
    helper = et.RosHelper("bench_perception")
    procs = et.Procs()
    try:
        if "node_latency" in a.only:
            out["node_latency"] = bench_node_latency(
                frames, helper, procs, a.frames, out["inference"]
            )
            procs.stop_all()
            procs = et.Procs()
        if "node_pipeline" in a.only:
            out["node_pipeline"] = bench_node_pipeline(frames, helper, procs, a.frames)
            procs.stop_all()
            procs = et.Procs()
        if "transport" in a.only:
            out["transport"] = bench_transport(procs, max(100, a.frames))
            procs.stop_all()
            procs = et.Procs()
        if "cpu" in a.only:
            out["cpu"] = bench_cpu(frames, helper, procs, a.cpu_seconds)
    finally:
        procs.stop_all()
        helper.close()
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
