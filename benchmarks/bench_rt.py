"""edgebot_rt figures: period error of the C++ fixed-rate loop against an rclpy timer and a
Python time.sleep loop at the same rate in the same run, cumulative drift, and the Madgwick
update time of the C++ filter against the pure-Python reference.

    python benchmarks/bench_rt.py                   # 60 s per loop at 1 kHz (the issue's run)
    python benchmarks/bench_rt.py --duration 5      # a quick look
Writes benchmarks/results/rt.json (override with --out).

Each loop runs `duration` seconds in total, split into `rounds` interleaved runs (rotated order)
so that the background load of a shared machine falls on every loop alike. Every loop records
its cycle start times (CLOCK_MONOTONIC) and the same code computes the statistics.

Definitions (the same for every loop): period error = |t_k - t_{k-1} - T| over consecutive
cycle start times; drift = (t_last - t_first) - (cycles - 1) * T (how far the loop fell behind
its nominal schedule; cycles lost count as drift); overrun = an interval of 2 T or more
(a missed cycle). The C++ loops also give phase_err_last_ns_max: how late the last cycle of a
run woke against its absolute deadline start + k T, i.e. whether the schedule itself drifted.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import random
import sys
import time

import numpy as np

import edgebot_rt as rt
from edgebot_common import reference

ROOT = pathlib.Path(__file__).resolve().parents[1]


def bench_cpp(rate, duration, priority):
    runner = rt.LoopRunner(rate, priority, record=int(duration * rate * 1.2) + 100)
    s = runner.run_for(duration)
    return runner.timestamps(), s


def bench_sleep(rate, duration):
    period = 1.0 / rate
    n = int(duration * rate) + 1
    stamps = np.zeros(n, dtype=np.int64)
    mono = time.monotonic_ns
    sleep = time.sleep
    for i in range(n):
        stamps[i] = mono()
        sleep(period)
    return stamps, {}


def bench_rclpy(rate, duration):
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(101, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("bench_rt_timer", context=ctx)
    n = int(duration * rate) + 1
    stamps = np.zeros(n, dtype=np.int64)
    count = [0]
    mono = time.monotonic_ns

    def cb():
        if count[0] < n:
            stamps[count[0]] = mono()
            count[0] += 1

    node.create_timer(1.0 / rate, cb)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    end = time.monotonic() + duration
    try:
        while count[0] < n and time.monotonic() < end:
            ex.spin_once(timeout_sec=0.1)
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
    return stamps[: count[0]], {}


def merge(segments, period_ns):
    """Statistics over several runs of one loop: interval errors pooled, drift summed."""
    errs, cycles, overruns, drift, elapsed = [], 0, 0, 0, 0.0
    for stamps in segments:
        t = np.asarray(stamps, dtype=np.int64)
        if len(t) < 2:
            continue
        d = np.diff(t)
        errs.append(np.abs(d - period_ns))
        cycles += len(t)
        overruns += int(np.count_nonzero(d >= 2 * period_ns))
        drift += int((t[-1] - t[0]) - (len(t) - 1) * period_ns)
        elapsed += float((t[-1] - t[0]) * 1e-9)
    err = np.concatenate(errs)
    return {
        "cycles": cycles,
        "overruns": overruns,
        "period_err_p50_ns": int(np.percentile(err, 50)),
        "period_err_p99_ns": int(np.percentile(err, 99)),
        "period_err_max_ns": int(err.max()),
        "drift_ns": drift,
        "elapsed_s": round(elapsed, 3),
    }


def synthetic_imu(n, seed=1):
    rng = np.random.default_rng(seed)
    rows = np.empty((n, 10))
    rows[:, 0:3] = rng.normal(0.0, 0.3, (n, 3))
    rows[:, 3:6] = rng.normal(0.0, 0.2, (n, 3)) + (0.0, 0.0, 9.81)
    rows[:, 6:9] = rng.normal(0.0, 0.02, (n, 3)) + (0.2, 0.0, -0.4)
    rows[:, 9] = 0.005
    return rows


# Madgwick timings use the CPU time of this thread (time.thread_time), so other load on a shared
# machine does not inflate them; best of a few repeats.
def time_per_call(fn, rows, repeat=3):
    best = math.inf
    for _ in range(repeat):
        t0 = time.thread_time()
        for r in rows:
            fn(*r)
        best = min(best, (time.thread_time() - t0) / len(rows))
    return best


def bench_madgwick(n):
    rows = synthetic_imu(n)
    imu_rows = [tuple(float(v) for v in (*r[0:6], r[9])) for r in rows]
    marg_rows = [tuple(float(v) for v in r) for r in rows]
    out = {}
    for kind, lst, arr in (
        ("imu", imu_rows, np.ascontiguousarray(rows[:, [0, 1, 2, 3, 4, 5, 9]])),
        ("marg", marg_rows, np.ascontiguousarray(rows)),
    ):
        py = reference.Madgwick(0.1, 0.01)
        cpp = rt.Madgwick(0.1, 0.01)
        py_fn = py.update_imu if kind == "imu" else py.update_marg
        cpp_fn = cpp.update_imu if kind == "imu" else cpp.update_marg
        t_py = time_per_call(py_fn, lst)
        t_cpp_call = time_per_call(cpp_fn, lst)
        t_cpp_batch = math.inf
        for _ in range(5):
            f = rt.Madgwick(0.1, 0.01)
            many = f.update_imu_many if kind == "imu" else f.update_marg_many
            t0 = time.thread_time()
            many(arr)
            t_cpp_batch = min(t_cpp_batch, (time.thread_time() - t0) / len(arr))
        out[kind] = {
            "python_reference_ns": round(t_py * 1e9, 1),
            "cpp_per_call_from_python_ns": round(t_cpp_call * 1e9, 1),
            "cpp_in_batch_ns": round(t_cpp_batch * 1e9, 1),
            "speedup_per_call": round(t_py / t_cpp_call, 1),
            "speedup_in_batch": round(t_py / t_cpp_batch, 1),
        }
    return out


def ratio(a, b):
    return round(a / b, 1) if b > 0 else math.inf


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per loop (default 60)")
    ap.add_argument("--rate", type=float, default=1000.0, help="Hz (default 1000)")
    ap.add_argument(
        "--rt-priority",
        type=int,
        default=80,
        help="also run the C++ loop with SCHED_FIFO at this priority (0: skip)",
    )
    ap.add_argument("--rounds", type=int, default=6, help="interleaved rounds (default 6)")
    ap.add_argument("--madgwick-samples", type=int, default=20000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rt.json"))
    args = ap.parse_args(argv)

    res = {
        "benchmark": "rt",
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg(),
        },
        "rate_hz": args.rate,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "loops": {},
    }
    print(
        f"edgebot_rt benchmark: {args.rate:g} Hz, {args.duration:g} s per loop, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    seg = args.duration / args.rounds
    runs = [("cpp_loop", lambda: bench_cpp(args.rate, seg, 0))]
    if args.rt_priority > 0:
        runs.append(("cpp_loop_sched_fifo", lambda: bench_cpp(args.rate, seg, args.rt_priority)))
    runs += [
        ("rclpy_timer", lambda: bench_rclpy(args.rate, seg)),
        ("python_sleep_loop", lambda: bench_sleep(args.rate, seg)),
    ]
    # interleave: each round runs every loop for duration/rounds, in a rotated order, so a
    # change of background load on a shared machine hits all loops alike
    segments = {name: [] for name, _ in runs}
    cpp_extra = {
        name: {"phase_err_last_ns_max": 0, "wake_latency_p99_ns_max": 0}
        for name, _ in runs
        if name.startswith("cpp")
    }
    for r in range(args.rounds):
        order = runs[r % len(runs) :] + runs[: r % len(runs)]
        for name, fn in order:
            stamps, st = fn()
            segments[name].append(stamps)
            if name in cpp_extra:
                e = cpp_extra[name]
                e["phase_err_last_ns_max"] = max(
                    e["phase_err_last_ns_max"], st["phase_err_last_ns"]
                )
                e["wake_latency_p99_ns_max"] = max(
                    e["wake_latency_p99_ns_max"], st["wake_latency_p99_ns"]
                )
                e["rt_priority_applied"] = st["rt_priority_applied"]
                e["mlock_applied"] = st["mlock_applied"]
        print(f"  round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    period_ns = int(round(1e9 / args.rate))
    for name, _ in runs:
        s = merge(segments[name], period_ns)
        s.update(cpp_extra.get(name, {}))
        res["loops"][name] = s
        print(
            f"  {name:20s} cycles {s['cycles']:7d}  period err p50 {s['period_err_p50_ns'] / 1e3:8.1f} us"
            f"  p99 {s['period_err_p99_ns'] / 1e3:8.1f} us  max {s['period_err_max_ns'] / 1e3:9.1f} us"
            f"  overruns {s['overruns']:5d}  drift {s['drift_ns'] / 1e6:9.3f} ms"
            + (
                f"  last wake <= {s['phase_err_last_ns_max'] / 1e3:.1f} us after its deadline"
                if name in cpp_extra
                else ""
            ),
            flush=True,
        )
    cpp = res["loops"]["cpp_loop"]
    res["ratios"] = {
        "rclpy_p99_over_cpp_p99": ratio(
            res["loops"]["rclpy_timer"]["period_err_p99_ns"], cpp["period_err_p99_ns"]
        ),
        "sleep_p99_over_cpp_p99": ratio(
            res["loops"]["python_sleep_loop"]["period_err_p99_ns"], cpp["period_err_p99_ns"]
        ),
        "rclpy_p50_over_cpp_p50": ratio(
            res["loops"]["rclpy_timer"]["period_err_p50_ns"], cpp["period_err_p50_ns"]
        ),
        "sleep_p50_over_cpp_p50": ratio(
            res["loops"]["python_sleep_loop"]["period_err_p50_ns"], cpp["period_err_p50_ns"]
        ),
    }
    fifo = res["loops"].get("cpp_loop_sched_fifo")
    if fifo:
        res["ratios"]["rclpy_p99_over_cpp_fifo_p99"] = ratio(
            res["loops"]["rclpy_timer"]["period_err_p99_ns"], fifo["period_err_p99_ns"]
        )
        res["ratios"]["sleep_p99_over_cpp_fifo_p99"] = ratio(
            res["loops"]["python_sleep_loop"]["period_err_p99_ns"], fifo["period_err_p99_ns"]
        )
    print("  ratios (same run):", res["ratios"], flush=True)
    res["madgwick"] = bench_madgwick(args.madgwick_samples)
    for kind, m in res["madgwick"].items():
        print(
            f"  madgwick {kind}: python {m['python_reference_ns']:.0f} ns, C++ per call from Python "
            f"{m['cpp_per_call_from_python_ns']:.0f} ns ({m['speedup_per_call']}x), C++ in batch "
            f"{m['cpp_in_batch_ns']:.0f} ns ({m['speedup_in_batch']}x)",
            flush=True,
        )
    res["machine"]["loadavg_end"] = os.getloadavg()
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
