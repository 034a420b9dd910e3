"""The rover reaches the target in at least 9 of 10 seeded runs (make test-long; make test runs
three seeds and needs all three), each within the scenario's time limit: the demo launch file started with `edgebot launch` (simulator with the virtual Arduino
and camera, firmata_node, camera_node, yolo_node, base_controller, safety_monitor,
target_follower), one episode per seed through sim/reset so the stack starts once.

Runs at real-time speed: with the camera at 10 frames per simulated second and the detector
on every frame, two cores have no headroom for faster than real time."""

import json
import shutil

import pytest
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_sim.episodes import EpisodeRunner, run_seeds
from edgebot_testing import free_port, wait_for

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


@pytest.mark.timeout(1200)  # ten episodes of the whole loop; slow machines run them in slow motion
@pytest.mark.parametrize(
    "seeds,need",
    [pytest.param(list(range(10)), 9, marks=pytest.mark.long), (list(range(3)), 3)],
    ids=["ten_seeds", "three_seeds"],
)
def test_seeded_runs_reach_the_target(procs, ros, tmp_path, seeds, need):
    edgebot = shutil.which("edgebot")
    launch = procs.start(
        [
            edgebot,
            "launch",
            "edgebot_bringup",
            "demo.launch.yaml",
            "scenario:=near_ball",
            f"seed:={seeds[0]}",
            "target_class:=ball",
            "imu:=false",
            "mqtt:=false",
            f"camera_port:={free_port()}",
            f"arduino_link:={tmp_path / 'arduino'}",
            "start_publishers:=sonar/range,detections,cmd_vel,wheel_cmd",
        ],
        name="demo-launch",
    )
    runner = EpisodeRunner(ros.node)
    states = ros.collect(String, "follower/state", qos.SENSOR_DATA)

    def alive():
        if not launch.running():
            raise RuntimeError(f"the launch ended:\n{launch.output()[-4000:]}")
        return True

    wait_for(
        lambda: alive() and runner.status.get("holding", "x") is None,
        240,
        interval=0.5,
        what="the demo stack to start",
    )
    results = run_seeds(runner, seeds, wall_timeout=480, alive=alive)
    print(json.dumps(results, indent=1))
    ok = [r for r in results if r["within_limit"]]
    assert len(ok) >= need, results
    assert states, "the follower published no state"
    assert alive()
