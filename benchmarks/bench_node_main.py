"""What run_node's signal handling costs: idle CPU of a node spun by run_node (its own signal
handlers, the executor spun in POLL_S slices so the main thread sees a signal) against the same
node under rclpy's plain ``executor.spin()`` with rclpy's signal handlers (the baseline, measured
in the same run), and the time from SIGINT to the process's exit for both.

    python benchmarks/bench_node_main.py [--seconds 20] [--runs 5]

Prints the figures and writes benchmarks/results/node_main.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time

import benchlib
import psutil

NODE = textwrap.dedent("""
    import sys
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String

    class Idle(Node):
        # a typical driver at rest: one 1 Hz timer (diagnostics), nothing else to do
        def __init__(self):
            super().__init__("bench_idle")
            self.pub = self.create_publisher(String, "bench_idle", 10)
            self.create_timer(1.0, lambda: self.pub.publish(String(data="x")))

    if sys.argv[1] == "run_node":
        from edgebot_common.node_main import run_node
        print("ready", flush=True)
        run_node(Idle)
    else:                               # rclpy's own handlers and spin(): the baseline
        rclpy.init()
        node = Idle()
        print("ready", flush=True)
        try:
            rclpy.spin(node)
        except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
            pass
        node.destroy_node()
        rclpy.try_shutdown()
""")


def one(kind: str, seconds: float) -> dict:
    p = subprocess.Popen(
        [sys.executable, "-c", NODE, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(2.0)  # past start-up and discovery
        proc = psutil.Process(p.pid)
        c0, t0 = proc.cpu_times(), time.monotonic()
        time.sleep(seconds)
        c1, t1 = proc.cpu_times(), time.monotonic()
        cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100.0
        s0 = time.monotonic()
        os.kill(p.pid, signal.SIGINT)
        code = p.wait(timeout=30)
        stop_ms = (time.monotonic() - s0) * 1000.0
        return {"cpu_percent": cpu, "sigint_to_exit_ms": stop_ms, "exit_code": code}
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    benchlib.isolate()
    runs = {"run_node": [], "rclpy_spin": []}
    for _ in range(a.runs):  # interleaved, so load changes hit both alike
        for kind in runs:
            runs[kind].append(one(kind, a.seconds))
    summary = {}
    for kind, rs in runs.items():
        summary[kind] = {
            "cpu_percent_median": statistics.median(r["cpu_percent"] for r in rs),
            "sigint_to_exit_ms_median": statistics.median(r["sigint_to_exit_ms"] for r in rs),
            "exit_codes": sorted({r["exit_code"] for r in rs}),
        }
        print(
            f"{kind:11s} idle CPU {summary[kind]['cpu_percent_median']:.2f} %  "
            f"SIGINT -> exit {summary[kind]['sigint_to_exit_ms_median']:.0f} ms  "
            f"exit codes {summary[kind]['exit_codes']}"
        )
    extra = summary["run_node"]["cpu_percent_median"] - summary["rclpy_spin"]["cpu_percent_median"]
    print(f"run_node: {extra:+.2f} % of one core per idle node against rclpy.spin")
    out = benchlib.save(
        "node_main",
        {
            "machine": benchlib.machine(),
            "seconds": a.seconds,
            "runs": runs,
            "summary": summary,
            "extra_cpu_percent_per_node": extra,
        },
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
