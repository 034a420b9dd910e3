"""Makes benchmarks/faults (the campaign and its pure analysis) importable."""

import pathlib
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[2]
for p in (_ROOT / "benchmarks" / "faults", _ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
