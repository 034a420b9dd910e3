"""What every benchmark script shares (imported as ``benchlib`` from benchmarks/).

import benchlib
ROOT = benchlib.isolate()          # tests/ helpers importable, a private ROS domain, localhost
...
benchlib.save("control", {"machine": benchlib.machine(), ...})
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import random
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def isolate(*test_dirs: str) -> pathlib.Path:
    """Make tests/ (and tests/<dir> for each name given) importable and run on a ROS domain of
    our own (101..200, away from the test suites' 1..100), discovery limited to this host."""
    for d in ("",) + test_dirs:
        p = str(ROOT / "tests" / d) if d else str(ROOT / "tests")
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(101, 200)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return ROOT


def machine() -> dict:
    """The machine a figure was measured on (saved with every result)."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_at_save": load,
    }


def pct(xs, p: float) -> float:
    """The ``p``-th percentile (0..100) of ``xs``, linear between the nearest ranks (as
    numpy's default); NaN when empty."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def pct_nearest(values, p: float) -> float:
    """The ``p``-th percentile (0..100) as the nearest-rank sample (a value that was
    measured); NaN when empty."""
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def save(name: str, results: dict) -> pathlib.Path:
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return out
