#!/usr/bin/env python3
"""Footprint of the robot's nodes: one process per node against the light nodes composed in one
process (edgebot_common container), side by side in one run (issue 17).

    python benchmarks/bench_footprint.py [--duration 20] [--scenario open_field] [--nodes 5]

1. The demo (``python -m edgebot_cli.demo``, as ``make demo``), once per mode: ``composed:=false``
   (the baseline), composed with the single-threaded executor (the default) and composed with
   rclpy's EventsExecutor. Every process is sampled each second with psutil: peak RSS and PSS
   (PSS shares the pages of common libraries between the processes that map them: the honest
   sum), CPU-seconds from the moment simulated time starts (start-up not counted) per simulated
   second. The robot's nodes are every process but the simulator, the demo runner and the
   launcher (the virtual devices run inside the simulator's process). Start-up: wall time from
   the demo's start until the simulator's start gate opens, i.e. until every topic it waits for
   (sonar/range, imu/data, detections, cmd_vel, wheel_cmd) has a publisher.
   Where the perception nodes run (``--modes composed,composed_camera,composed_perception,
   composed_perception_multi``): camera_node (``compose_camera:=true``) and yolo_node
   (``compose_yolo:=true``) in the light nodes' process as well, with the single-threaded and the
   multi-threaded executor; yolo_node's diagnostics (frames received/processed/dropped,
   inference and stage latencies) are read from /diagnostics during each run.
2. The cost of one more node: 1 and N idle ``listener`` nodes, as N processes and as one
   container; RSS/PSS in total and time until all are in the ROS graph.

Writes benchmarks/results/footprint.json; ``--section NAME`` keeps what the file holds and puts
this run under NAME (a second run, e.g. the perception modes, beside the first).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import benchlib

ROOT = benchlib.isolate()
NOT_ROBOT = {"sim_node", "demo runner", "edgebot launch"}
MB = 1024 * 1024


def proc_name(cmdline: list) -> str:
    for part in cmdline:
        if "__node:=" in part:
            return part.split(":=", 1)[1]
        if part.endswith("/lib/edgebot_sim/sim_node"):
            return "sim_node"
    if any("edgebot_cli.demo" in c for c in cmdline):
        return "demo runner"
    if any(c.endswith("edgebot_cli.main") or c == "launch" for c in cmdline):
        return "edgebot launch"
    return os.path.basename(cmdline[0]) if cmdline else "?"


def _mem(p) -> tuple[int, int]:
    try:
        m = p.memory_full_info()
        return m.rss, m.pss
    except Exception:
        m = p.memory_info()
        return m.rss, m.rss


def demo_run(mode: str, duration: float, scenario: str, out_dir: pathlib.Path) -> dict:
    import psutil

    extra = {
        "separate": ["composed:=false"],
        "composed": ["composed:=true"],
        "composed_events": ["composed:=true", "container_executor:=events"],
        "composed_camera": ["composed:=true", "compose_camera:=true"],
        "composed_perception": ["composed:=true", "compose_camera:=true", "compose_yolo:=true"],
        "composed_perception_multi": [
            "composed:=true",
            "compose_camera:=true",
            "compose_yolo:=true",
            "container_executor:=multi",
        ],
    }[mode]
    cmd = [sys.executable, "-m", "edgebot_cli.demo", "--duration", str(duration)]
    cmd += ["--scenario", scenario, "--output", str(out_dir), "--status-period", "1", *extra]
    yolo = YoloDiag()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    lines: list = []
    threading.Thread(
        target=lambda: lines.extend(
            ln.decode(errors="replace") for ln in iter(proc.stdout.readline, b"")
        ),
        daemon=True,
    ).start()
    seen: dict = {}  # pid -> dict(name, rss, pss, cpu, cpu_gate)
    gate = None
    while proc.poll() is None:
        if gate is None and any("pose=(" in ln for ln in lines[-5:]):
            gate = time.monotonic() - t0
            for v in seen.values():
                v["cpu_gate"] = v["cpu"]
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                ct = p.cpu_times()
                rss, pss = _mem(p)
                v = seen.setdefault(p.pid, {"name": proc_name(p.cmdline()), "rss": 0, "pss": 0})
                v["cpu"] = ct.user + ct.system
                v.setdefault("cpu_gate", None if gate is None else v["cpu"])
                v["rss"], v["pss"] = max(v["rss"], rss), max(v["pss"], pss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        time.sleep(1.0)
    yolo.close()
    summary = json.loads((out_dir / "summary.json").read_text())
    sim_s = summary["sim_time_s"]
    per: dict = {}
    for v in seen.values():
        d = per.setdefault(v["name"], {"rss_mb": 0.0, "pss_mb": 0.0, "cpu_s": 0.0})
        d["rss_mb"] += v["rss"] / MB
        d["pss_mb"] += v["pss"] / MB
        d["cpu_s"] += v["cpu"] - (v["cpu_gate"] if v["cpu_gate"] is not None else 0.0)
    robot = {k: d for k, d in per.items() if k not in NOT_ROBOT}

    def total(ds, key):
        return round(sum(d[key] for d in ds.values()), 1)

    return {
        "mode": mode,
        "exit_code": proc.returncode,
        "processes": len(seen),
        "robot_processes": sum(1 for v in seen.values() if v["name"] not in NOT_ROBOT),
        "per_process": {
            k: {
                "peak_rss_mb": round(d["rss_mb"], 1),
                "peak_pss_mb": round(d["pss_mb"], 1),
                "cpu_s_per_sim_s": round(d["cpu_s"] / sim_s, 3),
            }
            for k, d in sorted(per.items(), key=lambda kv: -kv[1]["rss_mb"])
        },
        "robot_peak_rss_mb": total(robot, "rss_mb"),
        "robot_peak_pss_mb": total(robot, "pss_mb"),
        "robot_cpu_s_per_sim_s": round(total(robot, "cpu_s") / sim_s, 3),
        "stack_cpu_s_per_sim_s": round(total(per, "cpu_s") / sim_s, 3),
        "startup_to_all_topics_s": summary["startup_wall_s"],
        "sim_time_s": sim_s,
        "real_time_factor_running": summary["real_time_factor_running"],
        "result": {
            k: summary[k]
            for k in ("reached", "time_to_reach_s", "distance_left_m", "end_reason", "crashed")
        },
        "detections_per_s": summary["detections"].get("per_s"),
        "yolo": yolo.figures(sim_s),
    }


class YoloDiag:
    """yolo_node's status on /diagnostics during a run: its last counters and the median of its
    inference and stage latencies over the run (one sample per diagnostics message)."""

    def __init__(self):
        from diagnostic_msgs.msg import DiagnosticArray

        from edgebot_common import qos
        from edgebot_common.background import BackgroundNode

        self.lock = threading.Lock()
        self.last: dict = {}
        self.samples: dict = {}
        self.bg = BackgroundNode("footprint_diag")
        self.bg.node.create_subscription(
            DiagnosticArray, "/diagnostics", self._on_diag, qos.SENSOR_DATA
        )

    def _on_diag(self, msg):
        for st in msg.status:
            if not st.name.split(":")[0].strip().endswith("yolo_node"):
                continue
            vals = {kv.key: kv.value for kv in st.values}
            with self.lock:
                self.last = vals
                for k, v in vals.items():
                    if k == "inference_ms" or k.startswith("latency."):
                        try:
                            self.samples.setdefault(k, []).append(float(v))
                        except ValueError:
                            pass

    def close(self):
        self.bg.close()

    def figures(self, sim_s: float) -> dict:
        import statistics

        with self.lock:
            last, samples = dict(self.last), {k: list(v) for k, v in self.samples.items()}

        def num(k):
            try:
                return int(last[k])
            except (KeyError, ValueError):
                return None

        out = {k: num(k) for k in ("received", "processed", "dropped", "errors")}
        out["processed_per_sim_s"] = (
            round(out["processed"] / sim_s, 2) if out["processed"] and sim_s else None
        )
        out["median_ms"] = {
            k: round(statistics.median(v), 2) for k, v in sorted(samples.items()) if v
        }
        out["diagnostics_messages"] = len(samples.get("inference_ms", []))
        return out


def idle_nodes(n: int, composed: bool) -> dict:
    """n idle listeners as n processes or one container: memory and time until all are up."""
    import psutil

    from edgebot_common.background import BackgroundNode
    from edgebot_testing import ros_executable

    names = [f"idle{i}" for i in range(n)]
    tmp = tempfile.mkdtemp(prefix="bench-footprint-")
    if composed:
        f = pathlib.Path(tmp) / "c.yaml"
        nodes = [f"edgebot_common/listener:{x}" for x in names]
        f.write_text(json.dumps({"/**": {"ros__parameters": {"nodes": nodes}}}))
        cmds = [[ros_executable("edgebot_common", "container"), "--ros-args"]]
        cmds[0] += ["-r", "__node:=idle_box", "--params-file", str(f)]
    else:
        exe = ros_executable("edgebot_common", "listener")
        cmds = [[exe, "--ros-args", "-r", f"__node:={x}"] for x in names]
    bg = BackgroundNode("footprint_probe")
    t0 = time.monotonic()
    ps = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    try:
        while not set(names) <= set(bg.node.get_node_names()):
            if time.monotonic() - t0 > 120:
                raise TimeoutError("nodes did not come up")
            time.sleep(0.05)
        up = time.monotonic() - t0
        time.sleep(3.0)  # settle: discovery traffic, lazy imports
        rss = pss = 0
        for p in ps:
            for q in [psutil.Process(p.pid)] + psutil.Process(p.pid).children(recursive=True):
                r, s = _mem(q)
                rss, pss = rss + r, pss + s
    finally:
        for p in ps:
            p.terminate()
        for p in ps:
            p.wait(timeout=30)
        bg.close()
    return {"nodes": n, "rss_mb": round(rss / MB, 1), "pss_mb": round(pss / MB, 1), "up_s": up}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="simulated seconds per run")
    ap.add_argument("--scenario", default="open_field")
    ap.add_argument("--nodes", type=int, default=5, help="idle nodes for the per-node cost")
    ap.add_argument("--modes", default="separate,composed,composed_events")
    ap.add_argument("--no-per-node", action="store_true", help="skip the idle-node cost")
    ap.add_argument("--section", default="", help="keep footprint.json, write this run under it")
    a = ap.parse_args()

    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        for mode in a.modes.split(","):
            r = demo_run(mode, a.duration, a.scenario, pathlib.Path(tmp) / mode)
            runs[mode] = r
            print(
                f"{mode:16s} robot RSS {r['robot_peak_rss_mb']:7.1f} MB  PSS "
                f"{r['robot_peak_pss_mb']:7.1f} MB  robot CPU {r['robot_cpu_s_per_sim_s']:.2f} "
                f"CPU-s/sim-s (stack {r['stack_cpu_s_per_sim_s']:.2f})  start-up "
                f"{r['startup_to_all_topics_s']:.1f} s  processes {r['robot_processes']}  "
                f"reached {r['result']['reached']} at {r['result']['time_to_reach_s']}",
                flush=True,
            )
            for k, v in r["per_process"].items():
                print(f"    {k:24s} {v}", flush=True)
            print(
                f"    detector: {r['detections_per_s']} detections/sim-s, {r['yolo']}", flush=True
            )

    per_node = {}
    for composed in () if a.no_per_node else (False, True):
        key = "composed" if composed else "separate"
        one, many = idle_nodes(1, composed), idle_nodes(a.nodes, composed)
        k = a.nodes - 1
        per_node[key] = {
            "one": one,
            "many": many,
            "rss_mb_per_extra_node": round((many["rss_mb"] - one["rss_mb"]) / k, 1),
            "pss_mb_per_extra_node": round((many["pss_mb"] - one["pss_mb"]) / k, 1),
            "up_s_per_extra_node": round((many["up_s"] - one["up_s"]) / k, 2),
        }
        print(f"per extra idle node, {key}: {per_node[key]}", flush=True)

    base = runs.get("separate")
    ratios = {}
    if base:
        for mode, r in runs.items():
            ratios[mode] = {
                "robot_rss": round(r["robot_peak_rss_mb"] / base["robot_peak_rss_mb"], 3),
                "robot_pss": round(r["robot_peak_pss_mb"] / base["robot_peak_pss_mb"], 3),
                "robot_cpu": round(r["robot_cpu_s_per_sim_s"] / base["robot_cpu_s_per_sim_s"], 3),
                "startup": round(r["startup_to_all_topics_s"] / base["startup_to_all_topics_s"], 3),
            }
        print(f"ratios against one process per node (same run): {ratios}", flush=True)
    result = {
        "machine": benchlib.machine(),
        "args": vars(a),
        "runs": runs,
        "ratios_vs_separate": ratios,
        "per_extra_node": per_node,
    }
    if a.section:
        path = ROOT / "benchmarks" / "results" / "footprint.json"
        kept = json.loads(path.read_text()) if path.exists() else {}
        kept[a.section] = result
        result = kept
    out = benchlib.save("footprint", result)
    print(f"wrote {out}")
    return 0 if all(r["exit_code"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
