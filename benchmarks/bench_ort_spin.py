#!/usr/bin/env python3
"""What ONNX Runtime's spinning pool threads cost, per yolo_node ``ort_spinning`` setting
(``edgebot_perception.backends.ORT_SPINNING``), on the shipped detector at imgsz 320 and 640,
with 640x480 rendered frames letterboxed as the node does.

``always`` (ONNX Runtime's default: its pool threads spin between the operators of a run and for
tens of ms after it), ``in_run`` (``session.force_spinning_stop``: the spin stops when a run
ends), ``never`` (``session.intra_op.allow_spinning = 0``, yolo_node's default).

1. ``single``: one process, the three sessions interleaved round by round; each round runs
   ``--burst`` frames per session at a camera's frame period (``--period``, 0.1 s = 10 fps):
   the run's p50 and the process's CPU time per frame (user + sys over the burst, the idle
   period after each frame included: what spinning burns). Ratios against ``always`` of the
   same rounds (median of the per-round ratios).
2. ``beside``: two processes with the same setting take turns (A runs, ``--gap`` idle, B runs,
   ...), as two detectors on one robot: the run's p50 against A alone at the same gap, in the
   same round (median of the per-round ratios). Settings interleaved in rounds.
3. ``loaded``: the run's p50 while 0, 1, 2 or 3 other processes keep a core busy each (a robot
   computer running its other nodes), the settings interleaved as in 1.

    source env.sh && python benchmarks/bench_ort_spin.py [--rounds 8]

Prints the figures, writes benchmarks/results/ort_spin.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import benchlib

ROOT = benchlib.isolate("edgebot_perception")

import numpy as np  # noqa: E402

HOG = "import time\nt = time.time()\nwhile time.time() - t < 600: pass"


def settings():
    from edgebot_perception.backends import ORT_SPINNING

    return list(ORT_SPINNING)  # never, in_run, always (as declared)


CHILD = r"""
import sys, time, numpy as np
from edgebot_perception.backends import make_backend
z, setting = int(sys.argv[1]), sys.argv[2]
be = make_backend("onnxruntime", "", imgsz=z, spinning=setting)
sess = be.sess
x = np.load(sys.argv[3])
for _ in range(3):
    sess.run(None, {be.input_name: x})
print("ready", flush=True)
for line in sys.stdin:
    t = time.perf_counter()
    sess.run(None, {be.input_name: x})
    print(time.perf_counter() - t, flush=True)
"""


def blobs(imgsz: int):
    import cv2

    from edgebot_perception.yolo_math import LetterboxBlob
    from scenes import rendered

    lb = LetterboxBlob(imgsz)
    out = []
    for img, _ in rendered(4, seed=777):
        frame = cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
        out.append(lb(frame)[0].copy())
    return out


def sessions(imgsz: int):
    """The input name and an OnnxBackend's session per ort_spinning setting."""
    from edgebot_perception.backends import make_backend

    bes = {k: make_backend("onnxruntime", "", imgsz=imgsz, spinning=k) for k in settings()}
    return next(iter(bes.values())), {k: be.sess for k, be in bes.items()}


def bench_single(imgsz: int, rounds: int, burst: int, period: float) -> dict:
    be, sess = sessions(imgsz)
    xs = blobs(imgsz)
    for s in sess.values():
        for x in xs:
            s.run(None, {be.input_name: x})
    run = {k: [] for k in sess}  # per round: the burst's median run, its CPU per frame
    cpu = {k: [] for k in sess}
    for r in range(rounds):
        names = list(sess)
        names = names[r % len(names) :] + names[: r % len(names)]  # rotate the order
        for k in names:
            time.sleep(period)  # the previous setting's threads settle
            c0, ts = time.process_time(), []
            for i in range(burst):
                t0 = time.perf_counter()
                sess[k].run(None, {be.input_name: xs[i % len(xs)]})
                ts.append(time.perf_counter() - t0)
                time.sleep(max(0.0, period - (time.perf_counter() - t0)))
            cpu[k].append((time.process_time() - c0) / burst)
            run[k].append(float(np.median(ts)))
    res = {}
    base = "always"
    for k in sess:
        res[k] = {
            "run_p50_ms": round(float(np.median(run[k])) * 1e3, 2),
            "cpu_ms_per_frame": round(float(np.median(cpu[k])) * 1e3, 2),
            "cpu_percent_of_one_core": round(100 * float(np.median(cpu[k])) / period, 1),
            # medians of the per-round ratios (the machine's speed drifts between rounds)
            "run_vs_always": round(float(np.median(np.divide(run[k], run[base]))), 3),
            "cpu_vs_always": round(float(np.median(np.divide(cpu[k], cpu[base]))), 3),
        }
    for k, v in res.items():
        print(
            f"imgsz {imgsz} {k:12s}: run p50 {v['run_p50_ms']:6.2f} ms "
            f"(x{v['run_vs_always']}), CPU {v['cpu_ms_per_frame']:6.2f} ms per frame "
            f"(x{v['cpu_vs_always']}; {v['cpu_percent_of_one_core']} % of a core at "
            f"{1 / period:g} fps)",
            flush=True,
        )
    return res


def bench_beside(imgsz: int, rounds: int, turns: int, gap: float) -> dict:
    import tempfile

    d = tempfile.TemporaryDirectory()
    path = os.path.join(d.name, "blob.npy")
    np.save(path, blobs(imgsz)[0])
    procs = {}
    try:
        for k in settings():
            procs[k] = [
                subprocess.Popen(
                    [sys.executable, "-c", CHILD, str(imgsz), k, path],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
        for pair in procs.values():
            for p in pair:
                if p.stdout.readline().strip() != "ready":
                    raise RuntimeError("inference process did not start")
        alone = {k: [] for k in procs}  # per round: median run of A alone, of A and B
        beside = {k: [] for k in procs}
        for _r in range(rounds):
            for k, pair in procs.items():
                for out, who in ((alone, (0, 0)), (beside, (0, 1))):
                    time.sleep(0.2)  # the previous setting's threads settle
                    ts = []
                    for t in range(turns):
                        p = pair[who[t % 2]]
                        time.sleep(gap)
                        p.stdin.write("x\n")
                        p.stdin.flush()
                        ts.append(float(p.stdout.readline()))
                    out[k].append(float(np.median(ts[2:])))
    finally:
        for pair in procs.values():
            for p in pair:
                p.stdin.close()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        d.cleanup()
    res = {}
    for k in procs:
        res[k] = {
            "alone_run_p50_ms": round(float(np.median(alone[k])) * 1e3, 2),
            "beside_run_p50_ms": round(float(np.median(beside[k])) * 1e3, 2),
            "beside_vs_alone": round(float(np.median(np.divide(beside[k], alone[k]))), 3),
        }
        print(
            f"imgsz {imgsz} {k:12s}: two processes taking turns ({gap * 1e3:g} ms apart): "
            f"run p50 {res[k]['beside_run_p50_ms']} ms vs {res[k]['alone_run_p50_ms']} ms "
            f"alone (x{res[k]['beside_vs_alone']} per round)",
            flush=True,
        )
    return res


def bench_loaded(imgsz: int, rounds: int, burst: int, period: float, hogs=(0, 1, 2, 3)):
    be, sess = sessions(imgsz)
    xs = blobs(imgsz)
    res = {}
    for n in hogs:
        procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]
        try:
            time.sleep(0.5)
            run = {k: [] for k in sess}
            for r in range(rounds):
                names = list(sess)
                names = names[r % len(names) :] + names[: r % len(names)]
                for k in names:
                    for i in range(burst):
                        time.sleep(period)
                        t0 = time.perf_counter()
                        sess[k].run(None, {be.input_name: xs[i % len(xs)]})
                        run[k].append(time.perf_counter() - t0)
        finally:
            for p in procs:
                p.kill()
                p.wait()
        res[f"{n}_busy"] = {k: round(float(np.median(v)) * 1e3, 2) for k, v in run.items()}
        print(
            f"imgsz {imgsz}, {n} other busy processes: run p50 "
            + ", ".join(f"{k} {v} ms" for k, v in res[f"{n}_busy"].items()),
            flush=True,
        )
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--burst", type=int, default=5, help="frames per setting per round")
    ap.add_argument("--period", type=float, default=0.1, help="frame period, s")
    ap.add_argument("--turns", type=int, default=12, help="beside: runs per setting per round")
    ap.add_argument("--gap", type=float, default=0.01, help="beside: idle between runs, s")
    a = ap.parse_args()
    from edgebot_perception.backends import ORT_SPINNING

    res = {
        "machine": benchlib.machine(),
        "loadavg_at_start": os.getloadavg(),
        "settings": ORT_SPINNING,
        "args": vars(a),
    }
    for z in (320, 640):
        res[str(z)] = {
            "single": bench_single(z, a.rounds, a.burst, a.period),
            "beside": bench_beside(z, a.rounds, a.turns, a.gap),
            "loaded": bench_loaded(z, max(2, a.rounds // 2), a.burst, a.period),
        }
    print(f"wrote {benchlib.save('ort_spin', res)}")


if __name__ == "__main__":
    main()
