"""``make demo`` / ``edgebot demo``: the whole robot in simulation, headless.

    python -m edgebot_cli.demo [--duration S] [--scenario NAME] [--seed N] [--speed X]
                               [--output demo_output] [--stop-when-reached] [name:=value ...]

Starts ``launch/demo.launch.yaml`` (simulator + the real driver, perception, control and MQTT
nodes) with the project's launcher, shows a live one-line status (sim time, rover pose,
follower state, detections/s, telemetry sent), and at the end writes ``summary.json`` and
``run.png`` (the rover's path over the world map; detections and follower state over time) to
the output folder and prints the summary. Parts of the stack that are not installed are left
out (and listed in the summary). A node that dies during the run is named in the summary and
the demo exits 1. Empty ``--duration``/``--scenario`` mean the defaults (until Ctrl-C; the
``mission_three`` scenario). ``--duration`` counts simulated seconds (with a wall-clock guard).
``make demo`` without ``DURATION`` passes ``--stop-when-reached --until-time-limit``: the run ends
by itself once the target is reached (a mission scenario: once the mission is done), or at the
scenario's time limit. A scenario with a mission file of its name (``config/missions/``) runs
``mission_node`` (``--mission`` picks another file or ``none``).
"""

from __future__ import annotations

from .run import Demo
from .stack import DEFAULT_SCENARIO, GATE_PUBLISHERS, LAUNCH, STACK, available_stack
from .summary import end_reason

__all__ = [
    "DEFAULT_SCENARIO",
    "GATE_PUBLISHERS",
    "LAUNCH",
    "STACK",
    "Demo",
    "available_stack",
    "end_reason",
    "main",
    "parse_args",
]


def parse_args(argv=None):
    from .run import parse_args as _parse

    return _parse(argv, doc=__doc__)


def main(argv=None) -> int:
    return Demo(parse_args(argv)).run()
