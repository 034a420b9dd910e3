"""mqtt_bridge against a real mosquitto: telemetry round trip, rate limit, batching, CDR,
commands accepted/rejected, MQTT 5 service request/response, stats and diagnostics."""
import json
import time

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edgebot_testing import wait_for
from mqtt_testing import Collector, publisher, start_bridge, stats_of


def test_telemetry_round_trip_rate_limit_batch_and_cdr(procs, ros, mosquitto, tmp_path):
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Imu
    from std_msgs.msg import String
    broker = mosquitto()
    sub = Collector(broker.port, ["edgebot/r1/#"])
    bridge = start_bridge(procs, tmp_path, broker.port, telemetry=[
        {"ros_topic": "imu/data", "type": "sensor_msgs/msg/Imu", "mqtt_topic": "edgebot/{robot_id}/imu",
         "qos": 1, "fields": ["header.stamp", "angular_velocity.z"]},
        {"ros_topic": "imu/data", "type": "sensor_msgs/msg/Imu", "mqtt_topic": "edgebot/{robot_id}/imu_slow",
         "qos": 0, "max_rate": 2},
        {"ros_topic": "imu/data", "type": "sensor_msgs/msg/Imu", "mqtt_topic": "edgebot/{robot_id}/imu_batch",
         "qos": 1, "batch": {"max_messages": 10, "max_delay": 0.3}},
        {"ros_topic": "imu/data", "type": "sensor_msgs/msg/Imu", "mqtt_topic": "edgebot/{robot_id}/imu_cdr",
         "qos": 1, "encoding": "cdr"},
    ])
    wait_for(lambda: sub.payloads("edgebot/r1/status") == [b"online"], 30, what="status online")
    stats = ros.collect(String, "mqtt/stats")
    pub = ros.publisher(Imu, "imu/data")
    ros.wait_subscribers(pub, 4, timeout=30)
    time.sleep(1.0)  # discovery is asymmetric: let the bridge's readers match us too
    n = 50
    for i in range(n):
        m = Imu()
        m.header.stamp.sec = 1000 + i
        m.angular_velocity.z = i * 0.5
        pub.publish(m)
        time.sleep(0.02)  # 50 Hz for 1 s
    wait_for(lambda: len(sub.entries("edgebot/r1/imu")) >= n, 30, what="imu telemetry")
    wait_for(lambda: len(sub.entries("edgebot/r1/imu_batch")) >= n, 30, what="batched telemetry")
    wait_for(lambda: len(sub.payloads("edgebot/r1/imu_cdr")) >= n, 30, what="cdr telemetry")
    e = sub.entries("edgebot/r1/imu")
    assert [x["data"]["angular_velocity"]["z"] for x in e] == [i * 0.5 for i in range(n)]
    assert [x["stamp"] for x in e] == [1000.0 + i for i in range(n)]
    assert set(e[0]["data"]) == {"header", "angular_velocity"}
    seqs = [x["seq"] for x in e]
    assert seqs == sorted(seqs) and len(set(seqs)) == n
    # batching: fewer MQTT messages than ROS messages, every message inside, in order
    batches = sub.payloads("edgebot/r1/imu_batch")
    assert len(batches) < n
    assert [x["data"]["angular_velocity"]["z"] for x in sub.entries("edgebot/r1/imu_batch")] == \
        [i * 0.5 for i in range(n)]
    # raw CDR: a ROS consumer deserialises it, seq in the MQTT 5 user property
    cdr = [m for m in sub.messages if m.topic == "edgebot/r1/imu_cdr"]
    msg = deserialize_message(cdr[7].payload, Imu)
    assert msg.angular_velocity.z == 3.5
    assert dict(cdr[7].properties.UserProperty)["seq"].isdigit()
    # decimation: 50 Hz for ~1 s at max_rate 2 -> a handful, never all
    time.sleep(0.5)
    slow = sub.entries("edgebot/r1/imu_slow")
    assert 1 <= len(slow) <= 6, len(slow)
    wait_for(lambda: stats and stats_of(stats)["decimated"] >= n - 6, 20, what="stats")
    s = stats_of(stats)
    assert s["connected"] and s["delivered"] >= n and s["dropped"] == 0
    sub.close()
    bridge.stop()
    assert "Traceback" not in bridge.output()


def test_commands_accepted_rejected_and_errors(procs, ros, mosquitto, tmp_path):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist
    from std_msgs.msg import String
    broker = mosquitto()
    got = ros.collect(Twist, "teleop/cmd_vel")
    errors = ros.collect(String, "mqtt/errors")
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    start_bridge(procs, tmp_path, broker.port, commands=[
        {"mqtt_topic": "edgebot/{robot_id}/cmd/cmd_vel", "ros_topic": "teleop/cmd_vel",
         "type": "geometry_msgs/msg/Twist", "required": ["linear.x"],
         "ranges": {"linear.x": [-0.5, 0.5], "angular.z": [-2, 2]}, "max_size": 200, "max_rate": 1000},
    ])
    sub = Collector(broker.port, ["edgebot/r1/errors", "edgebot/r1/status"])
    wait_for(lambda: sub.payloads("edgebot/r1/status") == [b"online"], 30, what="bridge online")
    wait_for(lambda: ros.node.count_publishers("teleop/cmd_vel") >= 1
             and ros.node.count_publishers("mqtt/errors") >= 1, 30, what="bridge publishers")
    time.sleep(1.0)  # let DDS match both ways before volatile messages flow
    cli = publisher(broker.port)
    good = json.dumps({"linear": {"x": 0.3}, "angular": {"z": -1.0}})
    bad = {
        "malformed_json": b'{"linear": ',
        "out_of_range": json.dumps({"linear": {"x": 5.0}}).encode(),
        "bad_field": json.dumps({"linear": {"x": "fast"}}).encode(),
        "missing_field": json.dumps({"angular": {"z": 1.0}}).encode(),
        "oversize": json.dumps({"linear": {"x": 0.1}, "pad": "x" * 500}).encode(),
        "not_finite": b'{"linear": {"x": 1e999}}',
    }
    for payload in bad.values():
        cli.publish("edgebot/r1/cmd/cmd_vel", payload, qos=1).wait_for_publish(10)
    cli.publish("edgebot/r1/cmd/self_destruct", b"{}", qos=1).wait_for_publish(10)
    wait_for(lambda: len(sub.payloads("edgebot/r1/errors")) >= len(bad) + 1, 30, what="errors")
    cli.publish("edgebot/r1/cmd/cmd_vel", good, qos=1).wait_for_publish(10)
    wait_for(lambda: got, 30, what="accepted command on ROS")
    time.sleep(1.0)
    assert len(got) == 1 and got[0].linear.x == 0.3 and got[0].angular.z == -1.0
    reasons = [json.loads(p)["reason"] for p in sub.payloads("edgebot/r1/errors")]
    assert sorted(reasons) == sorted(list(bad) + ["unknown_topic"])
    wait_for(lambda: len(errors) >= len(reasons), 20, what="ROS errors")
    assert json.loads(errors[-1].data)["topic"] == "edgebot/r1/cmd/self_destruct"

    def diag_ok():
        for arr in diags:
            for st in arr.status:
                kv = {v.key: v.value for v in st.values}
                if st.name.startswith("mqtt_bridge") and kv.get("rejected") == str(len(reasons)):
                    return kv
        return None
    kv = wait_for(diag_ok, 20, what="diagnostics with reject counters")
    assert kv["rejected_out_of_range"] == "1" and kv["connected"] == "True"
    cli.loop_stop()
    sub.close()


def test_service_request_response_mqtt5(procs, ros, mosquitto, tmp_path):
    from std_srvs.srv import SetBool
    broker = mosquitto()
    calls = []

    def handle(req, res):
        calls.append(req.data)
        res.success = True
        res.message = f"estop={req.data}"
        return res
    ros.node.create_service(SetBool, "estop", handle)
    start_bridge(procs, tmp_path, broker.port, services=[
        {"mqtt_topic": "edgebot/{robot_id}/cmd/estop", "service": "estop",
         "type": "std_srvs/srv/SetBool", "required": ["data"], "max_rate": 100}])
    resp = Collector(broker.port, ["client/replies", "edgebot/r1/status"])
    wait_for(lambda: resp.payloads("edgebot/r1/status") == [b"online"], 30, what="bridge online")
    cli = publisher(broker.port)

    def request(payload, corr):
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "client/replies"
        props.CorrelationData = corr
        cli.publish("edgebot/r1/cmd/estop", payload, qos=1, properties=props).wait_for_publish(10)

    def reply(corr):
        for m in list(resp.messages):
            if m.topic == "client/replies" and m.properties.CorrelationData == corr:
                return json.loads(m.payload)
        return None
    # the bridge's service client may need a moment to discover the service
    deadline = time.monotonic() + 30
    while True:
        request(json.dumps({"data": True}), b"req-1")
        r = wait_for(lambda: reply(b"req-1"), 20, what="reply 1")
        if r["ok"] or time.monotonic() > deadline:
            break
        resp.messages.clear()
        time.sleep(0.5)
    assert r == {"ok": True, "response": {"success": True, "message": "estop=True"}}
    request(json.dumps({"data": "yes"}), b"req-2")
    r2 = wait_for(lambda: reply(b"req-2"), 20, what="reply 2")
    assert r2["ok"] is False and r2["error"].startswith("bad_field")
    assert calls == [True]
    cli.loop_stop()
    resp.close()


def test_image_route_sends_a_small_jpeg(procs, ros, mosquitto, tmp_path):
    import base64

    import numpy as np

    from edgebot_common.image import numpy_to_image
    from sensor_msgs.msg import Image
    broker = mosquitto()
    sub = Collector(broker.port, ["edgebot/r1/#"])
    start_bridge(procs, tmp_path, broker.port, telemetry=[
        {"ros_topic": "camera/image_raw", "type": "sensor_msgs/msg/Image",
         "mqtt_topic": "edgebot/{robot_id}/camera", "qos": 1, "image": {"max_width": 80}}])
    wait_for(lambda: sub.payloads("edgebot/r1/status") == [b"online"], 30, what="bridge online")
    pub = ros.publisher(Image, "camera/image_raw")
    ros.wait_subscribers(pub, 1, timeout=30)
    time.sleep(1.0)
    frame = numpy_to_image(np.full((240, 320, 3), 128, np.uint8), "bgr8", frame_id="camera_link")
    pub.publish(frame)
    e = wait_for(lambda: sub.entries("edgebot/r1/camera"), 30, what="image telemetry")[0]
    assert (e["data"]["width"], e["data"]["height"]) == (80, 60)
    assert e["data"]["header"]["frame_id"] == "camera_link"
    jpeg = base64.b64decode(e["data"]["jpeg_base64"])
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) < 320 * 240 * 3 // 10
    assert len(sub.payloads("edgebot/r1/camera")[0]) < 20000
    sub.close()
