"""The latched e-stop survives a safety_monitor restart: kept in ``estop_state_file``
(edgebot_control.estop_latch), read at start, fail-safe when unreadable."""

import json
import signal

from geometry_msgs.msg import Twist
from std_msgs.msg import Bool
from std_srvs.srv import SetBool

from control_helpers import Streamer, twist, wait_twist
from edgebot_common import qos
from edgebot_control import estop_latch
from edgebot_testing import wait_for


def test_no_file_means_never_engaged(tmp_path):
    assert estop_latch.read(str(tmp_path / "none.json"))[0] is None


def test_write_then_read_round_trip(tmp_path):
    path = str(tmp_path / "sub" / "estop.json")  # the folder is created
    estop_latch.write(path, True, "service")
    assert estop_latch.read(path)[0] is True
    assert json.loads(open(path).read())["by"] == "service"
    estop_latch.write(path, False)
    assert estop_latch.read(path)[0] is False
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["estop.json"]  # no temp left


def test_an_unreadable_state_counts_as_engaged(tmp_path):
    for text in ("", "{", '{"estop": "no"}', '{"other": 1}', "[]"):
        p = tmp_path / "estop.json"
        p.write_text(text)
        engaged, note = estop_latch.read(str(p))
        assert engaged is True and "engaged to be safe" in note, text


def start(procs, path, name):
    p = procs.node(
        "edgebot_control",
        "safety_monitor",
        name=name,
        params={"rate_hz": 50.0, "estop_state_file": path},
    )
    p.wait_output("safety monitor ready", timeout=30)
    return p


def test_estop_stays_engaged_across_a_sigkill_and_restart(procs, ros, tmp_path):
    path = str(tmp_path / "estop.json")
    first = start(procs, path, "safety1")
    out = ros.collect(Twist, "cmd_vel")
    estop = ros.collect(Bool, "estop", qos.LATCHED)
    teleop = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(teleop, timeout=30)
    drive = Streamer(ros, teleop, twist(0.2, 0.0))
    # no heartbeats configured: teleop drives until the e-stop
    wait_twist(out, lambda v, w: v == 0.2, what="teleop drives")
    assert ros.call(SetBool, "estop", SetBool.Request(data=True), timeout=30).success
    wait_for(lambda: estop and estop[-1].data is True, 30, what="e-stop engaged")
    first.signal(signal.SIGKILL)
    first.wait(30)
    n = len(estop)
    start(procs, path, "safety2")  # a respawn, same parameters
    # the new monitor announces the latched e-stop and holds zero against the stream
    wait_for(lambda: len(estop) > n, 30, what="the restarted monitor's e-stop state")
    assert estop[-1].data is True
    wait_twist(out, lambda v, w: (v, w) == (0.0, 0.0), what="zero from the restarted monitor")
    m = len(out)
    wait_for(lambda: len(out) > m + 20, 30, what="more output")
    assert all(t.linear.x == 0.0 for t in out[m:])
    # released through the service: driving again, and a later restart starts released
    assert ros.call(SetBool, "estop", SetBool.Request(data=False), timeout=30).success
    wait_twist(out, lambda v, w: v == 0.2, what="teleop drives after the release")
    assert estop_latch.read(path)[0] is False
    drive.stop()
