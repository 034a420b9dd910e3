"""Home Assistant discovery through the real bridge, real mosquitto and a real safety_monitor:
the device appears (retained, valid), its states follow ROS, and the e-stop switch and the stop
button, sent as Home Assistant sends them, stop the robot -- through the bridge's common command
path, so what any cloud command is refused for, they are refused for (reasons on the errors
topic): retained deliveries, bad payloads, the rate limit, topics not on the allow-list, and
the switch's OFF unless ``estop_allow_release``."""

import collections
import json

import cv2
import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import BatteryState, CompressedImage
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool

from edgebot_common import qos as Q
from edgebot_interfaces.msg import Detection2D, Detection2DArray
from edgebot_mqtt import ha_discovery as H
from edgebot_testing import wait_for
from mqtt_testing import Collector, publisher, start_bridge

BASE = "edgebot/r1/ha"
DEVICE = "homeassistant/device/edgebot_r1/config"


def _reasons(collector) -> collections.Counter:
    """Rejections per reason, summed over every error report received."""
    out = collections.Counter()
    for p in collector.payloads("edgebot/r1/errors"):
        out.update(json.loads(p)["by_reason"])
    return out


def _twist(v):
    t = Twist()
    t.linear.x = v
    return t


def test_ha_switch_and_button_stop_the_robot(procs, ros, tmp_path, mosquitto):
    broker = mosquitto()
    monitor = procs.node(
        "edgebot_control", "safety_monitor", params={"rate_hz": 50.0, "sources.teleop.timeout": 0.5}
    )
    monitor.wait_output("safety monitor ready", timeout=60)
    ha = Collector(
        broker.port, ["homeassistant/#", f"{BASE}/#", "edgebot/r1/status", "edgebot/r1/errors"]
    )
    # an ON someone published with the retain flag: the broker hands it to the bridge when it
    # subscribes -- not a fresh command, it must not stop the robot
    cmd = publisher(broker.port)
    cmd.publish(f"{BASE}/estop/set", b"ON", qos=1, retain=True).wait_for_publish(10)
    bridge = start_bridge(
        procs,
        tmp_path,
        broker.port,
        extra={
            "home_assistant": {
                "enabled": True,
                "state_period": 0.2,
                "camera_period": 0.2,
                "command_rate": 1.0,
            }
        },
    )
    try:
        # discovery: retained, valid against the schema, available from the status topic
        wait_for(lambda: ha.payloads(DEVICE), 60, what="discovery payload")
        doc = json.loads(ha.payloads(DEVICE)[-1])
        H.validate(DEVICE, doc)
        assert doc["avty_t"] == "edgebot/r1/status"
        wait_for(lambda: b"online" in ha.payloads("edgebot/r1/status"), 30, what="online")
        late = Collector(broker.port, DEVICE)  # a late subscriber gets it: retained
        try:
            wait_for(lambda: late.payloads(DEVICE), 30, what="retained discovery")
            assert late.messages[0].retain
        finally:
            late.close()

        # states follow ROS: e-stop from the latched topic, battery, camera snapshot
        wait_for(lambda: ha.payloads(f"{BASE}/estop")[-1:] == [b"OFF"], 60, what="estop OFF")
        bat = ros.publisher(BatteryState, "battery", Q.SENSOR_DATA)
        cam = ros.publisher(CompressedImage, "camera/image_raw/compressed", Q.LATEST_ONLY)
        img = np.zeros((120, 160, 3), np.uint8)
        img[:, :80] = (0, 0, 255)
        jpeg = CompressedImage(format="jpeg", data=cv2.imencode(".jpg", img)[1].tobytes())

        odom_pub = ros.publisher(Odometry, "odom")
        follower = ros.publisher(String, "follower/state")
        dets = ros.publisher(Detection2DArray, "detections")
        odom = Odometry()
        odom.twist.twist.linear.x, odom.twist.twist.linear.y = 0.3, 0.4

        def feed():
            bat.publish(BatteryState(voltage=7.6, percentage=0.42))
            cam.publish(jpeg)
            odom_pub.publish(odom)
            follower.publish(String(data="track"))
            dets.publish(Detection2DArray(detections=[Detection2D(), Detection2D()]))
            return (
                ha.payloads(f"{BASE}/battery")
                and ha.payloads(f"{BASE}/camera")
                and ha.payloads(f"{BASE}/speed")
                and ha.payloads(f"{BASE}/follower_state")
                and any(float(p) > 0 for p in ha.payloads(f"{BASE}/detections_rate"))
            )

        wait_for(feed, 60, interval=0.1, what="every sensor state")
        assert ha.payloads(f"{BASE}/speed")[-1] == b"0.500"
        assert ha.payloads(f"{BASE}/follower_state")[-1] == b"track"
        assert json.loads(ha.payloads(f"{BASE}/battery")[-1]) == {
            "voltage": 7.6,
            "percentage": 42.0,
        }
        shot = ha.payloads(f"{BASE}/camera")[-1]
        assert shot[:2] == b"\xff\xd8"  # raw JPEG bytes for the camera entity
        decoded = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (120, 160, 3)

        # the robot drives
        out = ros.collect(Twist, "cmd_vel")
        estop = ros.collect(Bool, "estop", Q.LATCHED)
        teleop = ros.publisher(Twist, "teleop/cmd_vel", Q.COMMANDS)
        timer = ros.node.create_timer(0.05, lambda: teleop.publish(_twist(0.3)))
        wait_for(lambda: out and out[-1].linear.x == 0.3, 60, what="robot moving")

        # ... and the retained ON did not stop it: refused as "retained", reported
        wait_for(lambda: _reasons(ha)["retained"] >= 1, 30, what="retained report")
        wait_for(lambda: estop, 30, what="latched estop")
        assert estop[-1].data is False
        # clear it (the bridge sees the empty payload live: a bad_payload)
        cmd.publish(f"{BASE}/estop/set", b"", qos=1, retain=True)

        # Home Assistant turns the e-stop switch on: the robot stops
        wait_for(
            lambda: (
                cmd.publish(f"{BASE}/estop/set", b"ON", qos=1) and estop and estop[-1].data is True
            ),
            30,
            interval=0.5,
            what="estop engaged",
        )
        n = len(out)
        wait_for(lambda: len(out) > n + 20, 30, what="outputs under e-stop")
        assert all(m.linear.x == 0.0 for m in out[n + 5 :])
        wait_for(lambda: ha.payloads(f"{BASE}/estop")[-1:] == [b"ON"], 30, what="state ON")

        # a payload HA would never send is rejected with a reason, the e-stop stays on
        cmd.publish(f"{BASE}/estop/set", b"off", qos=1)
        wait_for(lambda: _reasons(ha)["bad_payload"] >= 2, 30, what="bad_payload report")
        # more than command_rate (1/s, burst 1): the bridge's rate limit, as on any route.
        # Refusals from before (the ON loop above sends 2/s) are all in the reports by now:
        # the bad_payload report just received folds in every rejection counted before it.
        before = _reasons(ha)["rate_limited"]
        for _ in range(5):
            cmd.publish(f"{BASE}/estop/set", b"ON", qos=1)
        # five at once: one token at most, so at least 3 of the burst are refused even if
        # handling them spread over a second
        wait_for(lambda: _reasons(ha)["rate_limited"] - before >= 3, 30, what="burst rate_limited")
        assert _reasons(ha)["rate_limited"] - before <= 5

        # switch OFF: releasing from Home Assistant is not allowed by default -- refused with
        # the reason, the robot stays stopped, HA's switch keeps showing the latched e-stop
        cmd.publish(f"{BASE}/estop/set", b"OFF", qos=1)
        wait_for(lambda: _reasons(ha)["forbidden"] >= 1, 30, what="forbidden report")
        report = next(
            json.loads(p)
            for p in ha.payloads("edgebot/r1/errors")
            if "forbidden" in json.loads(p)["by_reason"]
        )
        assert report["by_topic"].get(f"{BASE}/estop/set")
        n = len(out)
        wait_for(lambda: len(out) > n + 20, 30, what="outputs after the refused OFF")
        assert estop[-1].data is True and all(m.linear.x == 0.0 for m in out[n:])
        assert ha.payloads(f"{BASE}/estop")[-1] == b"ON"

        # released on the robot's side (ROS service): moving again; the stop button engages it
        assert ros.call(SetBool, "estop", SetBool.Request(data=False)).success
        wait_for(lambda: out and out[-1].linear.x == 0.3, 30, what="released")
        wait_for(lambda: ha.payloads(f"{BASE}/estop")[-1:] == [b"OFF"], 30, what="state OFF")
        wait_for(
            lambda: cmd.publish(f"{BASE}/stop/press", b"PRESS", qos=1) and estop[-1].data is True,
            30,
            interval=1.1,
            what="stop button",
        )
        wait_for(lambda: out[-1].linear.x == 0.0, 30, what="stopped by the button")
        timer.cancel()
        cmd.disconnect()
        assert bridge.running() and monitor.running()
    finally:
        ha.close()


def test_ha_release_when_allowed_and_commands_off_the_allow_list(procs, ros, tmp_path, mosquitto):
    """``estop_allow_release: true``: the switch's OFF releases. A disabled entity's command
    topic (the stop button) and a made-up one are not on the allow-list: refused as
    ``unknown_topic`` like any other command, counted in the same stats."""
    broker = mosquitto()
    monitor = procs.node("edgebot_control", "safety_monitor", params={"rate_hz": 50.0})
    monitor.wait_output("safety monitor ready", timeout=60)
    ha = Collector(broker.port, [f"{BASE}/#", "edgebot/r1/errors", "edgebot/r1/status"])
    stats = ros.collect(String, "mqtt/stats")
    start_bridge(
        procs,
        tmp_path,
        broker.port,
        extra={
            "home_assistant": {
                "enabled": True,
                "estop_allow_release": True,
                "entities": {"stop": False},
                "command_rate": 20.0,
            }
        },
    )
    try:
        estop = ros.collect(Bool, "estop", Q.LATCHED)
        wait_for(lambda: ha.payloads(f"{BASE}/estop")[-1:] == [b"OFF"], 60, what="estop OFF")
        cmd = publisher(broker.port)
        wait_for(
            lambda: cmd.publish(f"{BASE}/estop/set", b"ON", qos=1) and estop and estop[-1].data,
            30,
            interval=0.5,
            what="estop engaged",
        )
        wait_for(
            lambda: cmd.publish(f"{BASE}/estop/set", b"OFF", qos=1) and estop[-1].data is False,
            30,
            interval=0.5,
            what="released from Home Assistant",
        )
        wait_for(lambda: ha.payloads(f"{BASE}/estop")[-1:] == [b"OFF"], 30, what="state OFF")
        cmd.publish(f"{BASE}/stop/press", b"PRESS", qos=1)
        cmd.publish(f"{BASE}/lamp/set", b"ON", qos=1)
        wait_for(lambda: _reasons(ha)["unknown_topic"] >= 2, 30, what="unknown_topic reports")
        by_topic = collections.Counter()
        for p in ha.payloads("edgebot/r1/errors"):
            by_topic.update(json.loads(p)["by_topic"])
        assert by_topic[f"{BASE}/stop/press"] == 1 and by_topic[f"{BASE}/lamp/set"] == 1
        assert estop[-1].data is False

        def counted():
            s = json.loads(stats[-1].data) if stats else {}
            return (
                s.get("rejected_by_reason", {}).get("unknown_topic", 0) >= 2
                and s.get("commands_accepted", 0) >= 2
            )

        wait_for(counted, 30, what="the bridge's stats")
        cmd.disconnect()
    finally:
        ha.close()


def test_remove_clears_the_retained_device(procs, tmp_path, mosquitto):
    """enabled: true publishes the device (retained); a later start with enabled: false,
    remove: true clears it, so a new Home Assistant never sees the robot again."""
    broker = mosquitto()
    bridge = start_bridge(procs, tmp_path, broker.port, extra={"home_assistant": {"enabled": True}})
    first = Collector(broker.port, DEVICE)
    try:
        wait_for(lambda: first.payloads(DEVICE), 60, what="discovery payload")
    finally:
        first.close()
    bridge.stop()
    bridge = start_bridge(
        procs,
        tmp_path,
        broker.port,
        name="mqtt_bridge2",
        extra={"home_assistant": {"enabled": False, "remove": True}},
    )
    watch = Collector(broker.port, DEVICE)
    try:
        wait_for(lambda: watch.payloads(DEVICE)[-1:] == [b""], 60, what="empty payload")
    finally:
        watch.close()
    late = Collector(broker.port, ["homeassistant/#"])
    try:
        # nothing retained is left under the prefix for this robot (probe: our own message)
        pub = publisher(broker.port)
        pub.publish("homeassistant/probe", b"x", qos=1)
        wait_for(lambda: late.payloads("homeassistant/probe"), 30, what="probe")
        assert late.payloads(DEVICE) == []
        pub.disconnect()
    finally:
        late.close()
    assert bridge.running()
