"""A mission in simulation, the whole robot (real nodes, real DDS, the PyBullet world, the
shipped detector): the scenario mission_behind (the ball starts behind the rover) through
`make demo`'s runner. The mission must complete within the scenario's time limit, the ball's
reported position must be within 0.3 m of the simulator's ground truth, and the report must
reach the MQTT broker. The longer scenarios (mission_obstacle, mission_three) run with
`make demo SCENARIO=...` and in benchmarks/bench_mission.py (10 seeds each)."""

import json
import sys

import pytest

from edgebot_testing import ROOT

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mission_behind_completes_in_time_and_reports_where_the_ball_is(procs, tmp_path):
    out = tmp_path / "demo_output"
    p = procs.start(
        [
            sys.executable,
            "-m",
            "edgebot_cli.demo",
            "--scenario",
            "mission_behind",
            "--stop-when-reached",
            "--until-time-limit",
            "--output",
            str(out),
            "--status-period",
            "5",
            "record:=false",
        ],
        name="demo",
        cwd=str(ROOT),
    )
    assert p.wait(800) == 0, p.output()[-5000:]
    s = json.loads((out / "summary.json").read_text())
    m = s["mission"]
    assert s["end_reason"] == "mission done", (s["end_reason"], m)
    assert m["complete"] and m["outcome"] == "complete", m
    assert m["elapsed_s"] <= s["time_limit_s"], m
    assert [f["class"] for f in m["found"]] == ["ball"], m["found"]
    assert m["found"][0]["error_m"] < 0.3, m["found"]
    assert s["crashed"] == []
    # mission/found went out through the bridge to the broker (edgebot/<robot_id>/mission/found)
    assert s["telemetry"]["by_topic"].get("found", 0) >= 1, s["telemetry"]["by_topic"]
    text = p.output()
    assert "mission=" in text and "found ball #1" in text
