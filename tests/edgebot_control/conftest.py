"""Makes tests/edgebot_control/control_helpers.py importable (pytest runs with importlib mode)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
