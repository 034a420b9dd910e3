#!/usr/bin/env python3
"""Simulator figures: real-time factor of the simulator alone and with the whole stack, CPU use
per node during the demo, and time to target over 10 seeds.

    python benchmarks/bench_sim.py [--demo-duration 30] [--seeds 10] [--skip-stack]

Baseline (same run): PyBullet physics alone at 240 Hz, in process. Then physics + camera (render
320x240 at 10 frames per simulated second + JPEG), then the whole demo (`python -m
edgebot_cli.demo`, every node) with per-process CPU sampled with psutil, then 10 seeded
episodes of the `near_ball` scenario on the demo launch file (perception + control path).
Writes benchmarks/results/sim.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sim.json"


def sim_alone(seconds: float, camera: bool) -> dict:
    import cv2

    from edgebot_sim import scenario as S
    from edgebot_sim.world import SimWorld

    w = SimWorld(S.load("open_field").resolved(1))
    try:
        w.set_wheel_velocity(4.0, 6.0)
        steps = int(seconds / w.dt)
        every = int(round(1.0 / (10.0 * w.dt)))
        frames = 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        for k in range(steps):
            w.step()
            if k % 12 == 0:  # what sim_node reads per step at 20-200 Hz
                w.imu()
            if k % 12 == 0:
                w.sonar_range()
            if camera and k % every == 0:
                cv2.imencode(".jpg", w.render()[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
                frames += 1
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    finally:
        w.close()
    return {
        "sim_s": seconds,
        "wall_s": round(wall, 3),
        "rtf": round(seconds / wall, 2),
        "cpu_s": round(cpu, 3),
        "rtf_per_cpu_core": round(seconds / cpu, 2),
        "frames": frames,
    }


def node_name(cmdline: list) -> str:
    for part in cmdline:
        m = re.search(r"/lib/(edgebot_\w+)/(\w+)$", part)
        if m:
            return m.group(2)
    if any("edgebot_cli.demo" in c for c in cmdline):
        return "demo runner (monitor)"
    if any(c.endswith("edgebot_cli.main") or c == "launch" for c in cmdline):
        return "edgebot launch"
    return os.path.basename(cmdline[0]) if cmdline else "?"


def whole_demo(duration: float, out_dir: pathlib.Path) -> dict:
    import psutil

    cmd = [
        sys.executable,
        "-m",
        "edgebot_cli.demo",
        "--duration",
        str(duration),
        "--scenario",
        "open_field",
        "--output",
        str(out_dir),
        "--status-period",
        "1",
    ]
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    seen: dict = {}  # pid -> (name, first cpu, last cpu, first t, last t)
    lines: list = []
    reader = threading.Thread(
        target=lambda: lines.extend(
            line.decode(errors="replace") for line in iter(proc.stdout.readline, b"")
        ),
        daemon=True,
    )
    reader.start()
    load = []
    gate = None  # wall time when simulated time started (the stack is up)
    while proc.poll() is None:
        if gate is None and any("pose=(" in line for line in lines[-5:]):
            gate = time.monotonic()
            for v in seen.values():
                v.append(v[2])  # CPU at the gate
                v.append(gate)
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        now = time.monotonic()
        for p in procs:
            try:
                ct = p.cpu_times()
                c = ct.user + ct.system  # own time only (children are listed too)
                if p.pid not in seen:
                    seen[p.pid] = [node_name(p.cmdline()), c, c, now, now]
                else:
                    seen[p.pid][2], seen[p.pid][4] = c, now
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        load.append(os.getloadavg()[0])
        time.sleep(1.0)
    reader.join(timeout=5)
    summary = json.loads((out_dir / "summary.json").read_text())
    # steady state: from the gate on (start-up CPU -- imports, model loading -- not counted)
    per_node: dict = {}
    for v in seen.values():
        name, c0, c1, t0, t1 = v[:5]
        if len(v) == 7:
            c0, t0 = v[5], v[6]
        if t1 - t0 < 5:
            continue
        d = per_node.setdefault(name, [0.0, 0.0])
        d[0] += c1 - c0
        d[1] = max(d[1], t1 - t0)
    cpu = {k: round(100.0 * c / t, 1) for k, (c, t) in per_node.items() if t > 0}
    cpu_s = sum(c for c, _ in per_node.values())
    # the sim's own real-time factor in steady state (status after the start gate)
    return {
        "duration_s": duration,
        "exit_code": proc.returncode,
        "sim_time_s": summary["sim_time_s"],
        "wall_time_s": summary["wall_time_s"],
        "real_time_factor_overall": summary["real_time_factor"],
        "real_time_factor_running": summary["real_time_factor_running"],
        "startup_wall_s": summary["startup_wall_s"],
        "reached": summary["reached"],
        "time_to_reach_s": summary["time_to_reach_s"],
        "detections_per_s": summary["detections"]["per_s"],
        "telemetry": {k: summary["telemetry"][k] for k in ("sent", "delivered", "lost")},
        "cpu_percent_of_one_core": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        "cpu_total_percent": round(sum(cpu.values()), 1),
        "cpu_seconds_per_sim_second": round(cpu_s / summary["sim_time_s"], 2),
        "rtf_bound_on_free_cores": round(os.cpu_count() * summary["sim_time_s"] / cpu_s, 2),
        "load_average_mean": round(statistics.mean(load), 2) if load else None,
        "status_tail": [line.rstrip() for line in lines if line.startswith("t=")][-3:],
    }


def seeded(n: int, tmp: pathlib.Path) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from edgebot_sim.episodes import EpisodeRunner, run_seeds

    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    cam = sock.getsockname()[1]
    sock.close()
    cmd = [
        shutil.which("edgebot"),
        "launch",
        "edgebot_bringup",
        "demo.launch.yaml",
        "scenario:=near_ball",
        "seed:=0",
        "target_class:=ball",
        "imu:=false",
        "mqtt:=false",
        f"camera_port:={cam}",
        f"arduino_link:={tmp / 'arduino'}",
        "start_publishers:=sonar/range,detections,cmd_vel,wheel_cmd",
    ]
    launch = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    rclpy.init()
    node = rclpy.create_node("bench_sim_episodes")
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    stop = False

    def spin():
        while not stop:
            ex.spin_once(timeout_sec=0.05)

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        runner = EpisodeRunner(node)
        t0 = time.monotonic()
        runner.wait_status(lambda s: s.get("holding", "x") is None, 300, "the stack")
        startup = time.monotonic() - t0
        res = run_seeds(
            runner, list(range(n)), wall_timeout=300, alive=lambda: launch.poll() is None
        )
    finally:
        stop = True
        th.join(timeout=2)
        launch.send_signal(2)
        try:
            launch.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(launch.pid, 9)
        node.destroy_node()
        rclpy.try_shutdown()
    times = [r["time_to_reach_s"] for r in res if r["reached"]]
    return {
        "scenario": "near_ball",
        "seeds": n,
        "reached": len(times),
        "within_time_limit": sum(r["within_limit"] for r in res),
        "time_to_target_s": {
            "mean": round(statistics.mean(times), 2),
            "median": round(statistics.median(times), 2),
            "min": round(min(times), 2),
            "max": round(max(times), 2),
        }
        if times
        else None,
        "startup_wall_s": round(startup, 1),
        "wall_s_per_episode_mean": round(statistics.mean(r["wall_s"] for r in res), 1),
        "runs": res,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alone-seconds", type=float, default=20.0)
    ap.add_argument("--demo-duration", type=float, default=30.0)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--skip-stack", action="store_true", help="only the simulator alone")
    ns = ap.parse_args()
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        }
    }
    print("simulator alone (physics 240 Hz, IMU/sonar reads) ...", flush=True)
    base = sim_alone(ns.alone_seconds, camera=False)
    print(
        f"  physics only: real-time factor {base['rtf']} ({base['rtf_per_cpu_core']} per "
        f"CPU-second of one core)",
        flush=True,
    )
    cam = sim_alone(ns.alone_seconds, camera=True)
    print(
        f"  + camera 320x240 @10 fps + JPEG: real-time factor {cam['rtf']} "
        f"({cam['rtf'] / base['rtf']:.2f}x the physics-only baseline; "
        f"{cam['rtf_per_cpu_core']} per CPU-second)",
        flush=True,
    )
    out["sim_alone"] = {
        "physics_only": base,
        "with_camera": cam,
        "camera_over_physics_ratio": round(cam["rtf"] / base["rtf"], 3),
    }
    if not ns.skip_stack:
        with tempfile.TemporaryDirectory() as d:
            print(f"whole demo stack, {ns.demo_duration:g} s simulated ...", flush=True)
            demo = whole_demo(ns.demo_duration, pathlib.Path(d) / "demo_output")
            print(
                f"  real-time factor with everything running: "
                f"{demo['real_time_factor_running']} (start-up {demo['startup_wall_s']} s "
                f"wall not counted; {demo['real_time_factor_overall']} with it)",
                flush=True,
            )
            print(
                f"  the stack needs {demo['cpu_seconds_per_sim_second']} CPU-s per simulated "
                f"second: real-time factor bound {demo['rtf_bound_on_free_cores']} on "
                f"{os.cpu_count()} free cores (load average during the run "
                f"{demo['load_average_mean']})",
                flush=True,
            )
            for k, v in demo["cpu_percent_of_one_core"].items():
                print(f"  CPU {k:<24} {v:6.1f} %", flush=True)
            out["whole_stack"] = demo
            out["whole_stack"]["rtf_over_sim_alone_ratio"] = round(
                (demo["real_time_factor_running"] or 0.0) / cam["rtf"], 3
            )
            print(f"{ns.seeds} seeded episodes (near_ball) ...", flush=True)
            sd = seeded(ns.seeds, pathlib.Path(d))
            print(
                f"  reached {sd['reached']}/{ns.seeds}; time to target {sd['time_to_target_s']}",
                flush=True,
            )
            out["seeded_runs"] = sd
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
