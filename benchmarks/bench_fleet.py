#!/usr/bin/env python3
"""How CPU and memory grow per robot: several rovers in one simulated world (issue 21).

    python benchmarks/bench_fleet.py [--robots 1 2 3] [--window 30] [--camera-rate 5]
        [--modes composed separate] [--skip-stack] [--skip-alone]

1. The simulator alone (in process, one thread as in sim_node): physics at 240 Hz with N rovers,
   each rover's IMU and sonar read and camera rendered (320x240, PyBullet's CPU renderer, JPEG)
   at 10 and at 5 frames per simulated second. Baseline: N = 1 at 10 fps (today's demo). The
   sim_node is one thread, so 1 / (CPU seconds per simulated second) bounds its real-time
   factor: this is what sets the per-rover camera rate.
2. The whole fleet: launch/fleet.launch.yaml with robots:=N (one sim_node, one broker in
   rover1's bridge; per rover camera_node, yolo_node and either one composed process for its
   light nodes -- composed:=true, the default -- or one process per node, composed:=false;
   ``--modes``), per-process CPU and memory (PSS: shared libraries split between the processes
   that map them, so the sum is the machine's real use) sampled with psutil over ``--window``
   wall seconds after the simulator's start gate; the sim's real-time factor from /sim/status.
   Baseline: N = 1 (the same launch file, one rover, same mode), measured in the same run; the
   modes alternate for each N so that the machine's load drifts over both alike.

Writes benchmarks/results/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib

ROOT = benchlib.isolate()


def sim_alone(n: int, camera_rate: float, seconds: float) -> dict:
    import cv2

    from edgebot_sim import scenario as S
    from edgebot_sim.runner import every
    from edgebot_sim.world import SimWorld

    w = SimWorld(S.load("fleet_field").resolved(0), rovers=n)
    try:
        for i in range(n):
            w.set_wheel_velocity(4.0, 6.0, i)
        n_cam, n_io = every(240.0, camera_rate), every(240.0, 20.0)
        phase = [(i * n_cam) // n for i in range(n)]
        frames = 0
        steps = int(seconds * 240)
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(1, steps + 1):
            w.step()
            for i in range(n):
                if k % n_io == 0:
                    w.imu(i)
                    w.sonar_range(i)
                if (k - phase[i]) % n_cam == 0:
                    cv2.imencode(".jpg", w.render(i)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
                    frames += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        w.close()
    return {
        "robots": n,
        "camera_rate": camera_rate,
        "sim_s": seconds,
        "frames": frames,
        "cpu_s_per_sim_s": round(cpu / seconds, 3),
        "rtf_bound_one_core": round(seconds / cpu, 2),
        "wall_rtf": round(seconds / wall, 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StatusReader:
    """/sim/status in a background rclpy node (the sim's real-time factor and reach)."""

    def __init__(self):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import String

        from edgebot_common import qos

        self.rclpy = rclpy
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node("bench_fleet", context=self.ctx)
        self.status: dict = {}
        self.node.create_subscription(String, "/sim/status", self._on, qos.LATCHED)
        self.ex = SingleThreadedExecutor(context=self.ctx)
        self.ex.add_node(self.node)
        self.stop = False
        self.th = threading.Thread(target=self._spin, daemon=True)
        self.th.start()

    def _on(self, msg):
        try:
            self.status = json.loads(msg.data)
        except ValueError:
            pass

    def _spin(self):
        while not self.stop:
            self.ex.spin_once(timeout_sec=0.05)

    def close(self):
        self.stop = True
        self.th.join(timeout=2)
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.ctx)


MODES = {"composed": "true", "separate": "false"}


def stack(n: int, camera_rate: float, window: float, tmp: pathlib.Path, mode: str) -> dict:
    import psutil

    args = [
        f"composed:={MODES[mode]}",
        "scenario:=fleet_field",
        f"robots:={n}",
        f"rover2:={'true' if n >= 2 else 'false'}",
        f"rover3:={'true' if n >= 3 else 'false'}",
        f"camera_rate:={camera_rate}",
        f"run_dir:={tmp}",
        f"mqtt_port:={free_port()}",
        "speed:=1.0",
    ]
    for k in (1, 2, 3):
        args += [f"rover{k}_camera_port:={free_port()}", f"rover{k}_imu_port:={free_port()}"]
    cmd = [shutil.which("edgebot"), "launch", "edgebot_bringup", "fleet.launch.yaml", *args]
    reader = StatusReader()
    launch = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    root = psutil.Process(launch.pid)
    t_start = time.monotonic()
    try:
        # the start gate opened: simulated time runs (before the physics thread's gate begins,
        # the first status has no wait list either)
        while not (
            reader.status.get("holding", "x") is None
            and reader.status.get("sim_time", 0.0) > 0.0
            and reader.status.get("robots") == n
        ):
            if launch.poll() is not None or time.monotonic() - t_start > 600:
                raise RuntimeError(f"robots={n}: the fleet did not start (exit {launch.poll()})")
            time.sleep(0.5)
        startup = time.monotonic() - t_start
        procs = [root] + root.children(recursive=True)
        for p in procs:
            p.cpu_percent(None)
        sim0, wall0 = reader.status.get("sim_time", 0.0), time.monotonic()
        cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
        pss, rss = [], []
        while time.monotonic() - wall0 < window:
            time.sleep(5.0)
            m_pss = m_rss = 0
            for p in procs:
                try:
                    mi = p.memory_full_info()
                    m_pss, m_rss = m_pss + mi.pss, m_rss + mi.rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            pss.append(m_pss)
            rss.append(m_rss)
        wall = time.monotonic() - wall0
        cpu = 0.0
        for p in procs:
            try:
                cpu += sum(p.cpu_times()[:2]) - cpu0[p.pid]
            except psutil.NoSuchProcess:
                pass
        sim = reader.status.get("sim_time", 0.0) - sim0
        fleet = reader.status.get("fleet") or [reader.status]
        return {
            "robots": n,
            "mode": mode,
            "processes": len(procs),
            "startup_wall_s": round(startup, 1),
            "window_wall_s": round(wall, 1),
            "cpu_percent_of_one_core": round(100.0 * cpu / wall, 1),
            "cpu_s_per_sim_s": round(cpu / sim, 2) if sim > 0 else None,
            "pss_mb": round(statistics.median(pss) / 2**20, 1),
            "rss_sum_mb": round(statistics.median(rss) / 2**20, 1),
            "real_time_factor": round(sim / wall, 2),
            "camera_frames_per_rover": [f.get("camera_frames") for f in fleet],
            "loadavg_1min_end": round(os.getloadavg()[0], 2),
        }
    finally:
        launch.send_signal(signal.SIGINT)
        try:
            launch.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait(10)
        reader.close()


def growth(runs: list[dict]) -> list[dict]:
    """Ratios against the first run (the baseline) and the increments per added robot. CPU as
    CPU seconds per simulated second: the work a simulated second costs, which a loaded machine
    does not change (it slows the run instead); CPU % of a core is what the machine had to give."""
    b = runs[0]
    for r in runs:
        r["cpu_work_vs_baseline"] = round(r["cpu_s_per_sim_s"] / b["cpu_s_per_sim_s"], 2)
        r["pss_vs_baseline"] = round(r["pss_mb"] / b["pss_mb"], 2)
    out = []
    for a, c in zip(runs, runs[1:]):
        k = c["robots"] - a["robots"]
        out.append(
            {
                "robots": f"{a['robots']}->{c['robots']}",
                "cpu_s_per_sim_s_per_added_robot": round(
                    (c["cpu_s_per_sim_s"] - a["cpu_s_per_sim_s"]) / k, 2
                ),
                "pss_mb_per_added_robot": round((c["pss_mb"] - a["pss_mb"]) / k, 1),
                "processes_per_added_robot": (c["processes"] - a["processes"]) // k,
            }
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robots", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--window", type=float, default=30.0, help="wall seconds measured per run")
    ap.add_argument("--camera-rate", type=float, default=5.0, help="per rover (fleet default)")
    ap.add_argument("--alone-seconds", type=float, default=10.0)
    ap.add_argument("--skip-stack", action="store_true", help="only the simulator alone")
    ap.add_argument("--skip-alone", action="store_true", help="only the whole stack")
    ap.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    ns = ap.parse_args()
    out = {"machine": benchlib.machine()}
    if not ns.skip_alone:
        out.update(bench_alone(ns))
    if not ns.skip_stack:
        runs = {m: [] for m in ns.modes}
        for n in ns.robots:
            for m in ns.modes:
                with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
                    r = stack(n, ns.camera_rate, ns.window, pathlib.Path(tmp), m)
                runs[m].append(r)
                print(f"stack: {json.dumps(r)}", flush=True)
        out["stack"] = {"camera_rate_per_rover": ns.camera_rate}
        for m in ns.modes:
            out["stack"][m] = {"runs": runs[m], "growth": growth(runs[m])}
            for g in out["stack"][m]["growth"]:
                print(f"{m}: per added robot ({g['robots']}): {json.dumps(g)}", flush=True)
    path = benchlib.save("fleet", out)
    print(f"wrote {path}")
    return 0


def bench_alone(ns) -> dict:
    alone = [sim_alone(n, r, ns.alone_seconds) for r in (10.0, 5.0) for n in ns.robots]
    base = alone[0]["cpu_s_per_sim_s"]
    for a in alone:
        a["cpu_vs_one_rover_10fps"] = round(a["cpu_s_per_sim_s"] / base, 2)
        print(
            f"sim alone: {a['robots']} rover(s) at {a['camera_rate']:g} fps: "
            f"{a['cpu_s_per_sim_s']} CPU s per sim s ({a['cpu_vs_one_rover_10fps']}x), "
            f"real-time bound on one core {a['rtf_bound_one_core']}",
            flush=True,
        )
    # one frame's render + JPEG: the 10 fps run's extra CPU over the 5 fps run's, per frame
    by = {(a["robots"], a["camera_rate"]): a["cpu_s_per_sim_s"] for a in alone}
    frame_ms = {
        n: round(1000 * (by[(n, 10.0)] - by[(n, 5.0)]) / (5.0 * n), 1)
        for n in ns.robots
        if (n, 10.0) in by and (n, 5.0) in by
    }
    print(f"render + JPEG per frame (ms) by robots: {frame_ms}", flush=True)
    return {"sim_alone": alone, "frame_ms_by_robots": frame_ms}


if __name__ == "__main__":
    sys.exit(main())
