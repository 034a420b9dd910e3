"""launch/control.launch.yaml through `edgebot launch`, in a namespace: the three nodes
together — teleop drives the wheels through safety_monitor and base_controller, the follower
is gated by the detector heartbeat, the e-stop stops the wheels."""

import json

from geometry_msgs.msg import Twist
from sensor_msgs.msg import JointState, Range
from std_msgs.msg import String
from std_srvs.srv import SetBool

from control_helpers import Streamer, twist
from edgebot_common import qos
from edgebot_testing import wait_for


def test_control_launch_in_a_namespace(procs, ros):
    launch = procs.start(
        ["edgebot", "launch", "edgebot_bringup", "control.launch.yaml", "namespace:=rover1"],
        name="control-launch",
    )
    launch.wait_output("3 process(es) running", timeout=60)
    wc = ros.collect(JointState, "/rover1/wheel_cmd")
    state = ros.collect(String, "/rover1/safety/state", qos.LATCHED)
    fstate = ros.collect(String, "/rover1/follower/state", qos.LATCHED)
    teleop = ros.publisher(Twist, "/rover1/teleop/cmd_vel", qos.COMMANDS)
    sonar = ros.publisher(Range, "/rover1/sonar/range", qos.SENSOR_DATA)
    ros.wait_subscribers(teleop, timeout=60)
    ros.wait_subscribers(sonar, n=2, timeout=60)  # safety_monitor + target_follower
    # no detections at all: the follower is blind and stopped (it does not search)
    wait_for(lambda: fstate and fstate[-1].data == "blind", 60, what="follower blind")
    t = Streamer(ros, teleop, twist(0.2, 0.0))
    # no sonar yet: the firmata heartbeat is missing -> stopped, wheels zero
    wait_for(
        lambda: (
            state and "heartbeat_lost:firmata (never seen)" in json.loads(state[-1].data)["reasons"]
        ),
        60,
        what="firmata heartbeat missing",
    )
    # base_controller publishes wheel_cmd at 50 Hz; our subscription may match after the state
    wait_for(lambda: len(wc) >= 5, 60, what="wheel_cmd from base_controller")
    assert all(v == 0.0 for m in wc for v in m.velocity)
    s = Streamer(ros, sonar, Range(min_range=0.02, max_range=4.0, range=2.0))
    wait_for(lambda: wc and min(wc[-1].velocity) > 5.0, 60, what="teleop drives the wheels")
    st = json.loads(state[-1].data)
    assert st["source"] == "teleop"
    assert any(r.startswith("heartbeat_lost:detector") for r in st["reasons"])
    assert ros.call(SetBool, "/rover1/estop", SetBool.Request(data=True), timeout=60).success
    wait_for(
        lambda: wc[-1].velocity[0] == 0.0 and wc[-1].velocity[1] == 0.0,
        30,
        what="e-stop zeroes the wheels",
    )
    t.stop()
    s.stop()
    launch.stop(timeout=20)
    assert "exited with code" not in launch.output(), launch.output()[-3000:]
