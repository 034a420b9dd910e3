"""Foundation figures: launch-to-discoverable time for a 10-node launch file (vs a 1-node
file in the same run), and `make setup` warm (and, with --cold, cold in a fresh clone).

    python benchmarks/bench_foundation.py [--runs 5] [--cold]

Prints the figures and writes benchmarks/results/foundation.json.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def launch_file(n: int, path: pathlib.Path) -> None:
    lines = ["launch:"]
    for i in range(n):
        lines += [
            "- node:",
            "    pkg: edgebot_common",
            "    exec: talker",
            f"    name: bench_talker_{i}",
            "    param:",
            "    - {name: rate, value: 1.0}",
        ]
    path.write_text("\n".join(lines) + "\n")


def time_to_discover(n: int, runs: int) -> list:
    import rclpy

    rclpy.init()
    node = rclpy.create_node(f"bench_observer_{os.getpid()}")
    out = []
    try:
        with tempfile.TemporaryDirectory() as d:
            f = pathlib.Path(d) / f"n{n}.launch.yaml"
            launch_file(n, f)
            for _ in range(runs):
                want = {f"bench_talker_{i}" for i in range(n)}
                t0 = time.monotonic()
                p = subprocess.Popen(
                    ["edgebot", "launch", str(f)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    while True:
                        rclpy.spin_once(node, timeout_sec=0.01)
                        names = set(node.get_node_names())
                        if want <= names:
                            out.append(time.monotonic() - t0)
                            break
                        if time.monotonic() - t0 > 120:
                            raise RuntimeError("nodes not discovered in 120 s")
                finally:
                    p.send_signal(signal.SIGINT)
                    p.wait(60)
                # let the graph forget them before the next run
                t_end = time.monotonic()
                while want & set(node.get_node_names()) and time.monotonic() - t_end < 20:
                    rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    return out


def time_setup(cwd: pathlib.Path, env=None) -> float:
    t0 = time.monotonic()
    subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=cwd,
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--cold", action="store_true", help="also time setup in a fresh clone (minutes)"
    )
    a = ap.parse_args()
    benchlib.isolate()
    one = time_to_discover(1, a.runs)
    ten = time_to_discover(10, a.runs)
    res = {
        "machine": benchlib.machine(),
        "launch_1_node_discoverable_s": {"median": statistics.median(one), "runs": one},
        "launch_10_nodes_discoverable_s": {"median": statistics.median(ten), "runs": ten},
        "ratio_10_vs_1": statistics.median(ten) / statistics.median(one),
        "setup_warm_s": time_setup(ROOT),
    }
    if a.cold:
        with tempfile.TemporaryDirectory() as d:
            clone = pathlib.Path(d) / "edgebot"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            env = {
                k: v
                for k, v in os.environ.items()
                if k
                not in (
                    "VIRTUAL_ENV",
                    "AMENT_PREFIX_PATH",
                    "CMAKE_PREFIX_PATH",
                    "COLCON_PREFIX_PATH",
                )
            }
            res["setup_cold_s"] = time_setup(clone, env)
            res["setup_warm_after_cold_s"] = time_setup(clone, env)
            shutil.rmtree(clone, ignore_errors=True)
    print(
        f"launch -> all discoverable: 1 node {res['launch_1_node_discoverable_s']['median']:.2f} s, "
        f"10 nodes {res['launch_10_nodes_discoverable_s']['median']:.2f} s "
        f"(x{res['ratio_10_vs_1']:.2f}), median of {a.runs}"
    )
    print(f"make setup warm: {res['setup_warm_s']:.2f} s")
    if "setup_cold_s" in res:
        print(f"make setup cold (fresh clone, pip cache warm): {res['setup_cold_s']:.1f} s")
    benchlib.save("foundation", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
