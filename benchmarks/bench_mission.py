#!/usr/bin/env python3
"""Mission figures: completion and mission time over seeded runs of each mission scenario, and
the error of every reported object position against the simulator's ground truth.

    python benchmarks/bench_mission.py [--seeds 10] [--scenarios mission_behind,...]

Each run is `python -m edgebot_cli.demo --scenario S --seed k --stop-when-reached
--until-time-limit` (every node, real DDS, the shipped detector; no recording), read back from
its summary.json, each in a DDS domain of its own. Baseline (same session): the follower's `near_ball` run (reach one ball in
view) on the same machine, so mission times are also quoted as a ratio to it. Writes
benchmarks/results/mission.json (and prints a table).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mission.json"
SCENARIOS = ("mission_behind", "mission_obstacle", "mission_three")


def isolated_env() -> dict:
    """A DDS domain of its own for each run: demos started by others on this machine in the
    default domain would otherwise feed this run's nodes their odometry and detections."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(random.SystemRandom().randrange(110, 230))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return env


def run(scenario: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-mission-") as tmp:
        out = pathlib.Path(tmp) / "out"
        t0 = time.monotonic()
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "edgebot_cli.demo",
                "--scenario",
                scenario,
                "--seed",
                str(seed),
                "--stop-when-reached",
                "--until-time-limit",
                "--output",
                str(out),
                "record:=false",
            ],
            cwd=ROOT,
            env=isolated_env(),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.monotonic() - t0
        try:
            s = json.loads((out / "summary.json").read_text())
        except (OSError, ValueError):
            return {
                "scenario": scenario,
                "seed": seed,
                "error": p.stdout[-2000:] + p.stderr[-2000:],
            }
    m = s.get("mission") or {}
    return {
        "scenario": scenario,
        "seed": seed,
        "exit_code": p.returncode,
        "end_reason": s["end_reason"],
        "complete": bool(m.get("complete")),
        "outcome": m.get("outcome"),
        "mission_time_s": m.get("elapsed_s"),
        "time_limit_s": s["time_limit_s"],
        "within_limit": bool(m.get("complete") and m.get("elapsed_s", 1e9) <= s["time_limit_s"]),
        "errors_m": {f"{f['class']}#{f['index']}": f["error_m"] for f in m.get("found", [])},
        "max_error_m": m.get("max_error_m"),
        "avoided": m.get("avoided"),
        "given_up": m.get("given_up"),
        "time_to_reach_s": s.get("time_to_reach_s"),
        "rtf_running": s.get("real_time_factor_running"),
        "wall_s": round(wall, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--output", default=str(RESULTS))
    ap.add_argument(
        "--merge",
        action="append",
        default=[],
        help="a results JSON of an earlier session whose runs (and baseline) join this one's",
    )
    ns = ap.parse_args()
    runs = []
    baseline = None
    for f in ns.merge:
        old = json.loads(pathlib.Path(f).read_text())
        runs += old["runs"]
        baseline = baseline or old.get("baseline_near_ball_follower")
    if not ns.no_baseline:
        baseline = run("near_ball", 1)
        print(f"baseline near_ball (follower): reached at {baseline.get('time_to_reach_s')} s")
    for scenario in ns.scenarios.split(","):
        for seed in range(ns.first_seed, ns.first_seed + ns.seeds):
            r = run(scenario, seed)
            runs.append(r)
            print(json.dumps(r), flush=True)
    table = {}
    for scenario in dict.fromkeys(r["scenario"] for r in runs):
        rs = [r for r in runs if r["scenario"] == scenario and "error" not in r]
        ok = [r for r in rs if r["within_limit"]]
        errs = [e for r in rs for e in r["errors_m"].values() if e is not None]
        times = [r["mission_time_s"] for r in ok]
        table[scenario] = {
            "runs": len(rs),
            "completed_within_limit": len(ok),
            "mission_time_s_median": round(statistics.median(times), 1) if times else None,
            "mission_time_s_max": max(times) if times else None,
            "position_error_m_median": round(statistics.median(errs), 3) if errs else None,
            "position_error_m_max": max(errs) if errs else None,
            "positions_within_0.3m": f"{sum(e <= 0.3 for e in errs)}/{len(errs)}",
            "rtf_running_median": round(statistics.median([r["rtf_running"] or 0 for r in rs]), 2)
            if rs
            else None,
        }
        base = (baseline or {}).get("time_to_reach_s")
        if base and times:
            table[scenario]["time_vs_follower_near_ball"] = round(
                statistics.median(times) / base, 2
            )
    for k, v in table.items():
        print(k, json.dumps(v))
    result = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "baseline_near_ball_follower": baseline,
        "summary": table,
        "runs": runs,
    }
    pathlib.Path(ns.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {ns.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
