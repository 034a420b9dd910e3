"""edgebot_interfaces messages import and cross processes."""

import sys
import textwrap

from edgebot_interfaces.msg import Detection2D, Detection2DArray
from edgebot_testing import wait_for

PUBLISHER = textwrap.dedent("""
    import rclpy, time
    from edgebot_interfaces.msg import Detection2D, Detection2DArray
    rclpy.init()
    node = rclpy.create_node("det_pub")
    pub = node.create_publisher(Detection2DArray, "detections", 10)
    msg = Detection2DArray(image_width=320, image_height=240)
    msg.header.frame_id = "camera_link"
    msg.detections = [Detection2D(class_id=2, label="box", score=0.875, center_x=10.5, center_y=20.25,
                                  size_x=30.0, size_y=40.0, track_id=7), Detection2D(label="ball")]
    while rclpy.ok():
        pub.publish(msg)
        rclpy.spin_once(node, timeout_sec=0.1)
""")


def test_defaults():
    d = Detection2D()
    assert d.track_id == Detection2D.TRACK_ID_NONE == -1


def test_detection_array_round_trip_across_processes(procs, ros):
    got = ros.collect(Detection2DArray, "/detections")
    procs.start([sys.executable, "-c", PUBLISHER], name="det_pub")
    wait_for(lambda: got, 60, what="a Detection2DArray from another process")
    m = got[0]
    assert (m.image_width, m.image_height, m.header.frame_id) == (320, 240, "camera_link")
    a, b = m.detections
    assert (
        a.class_id,
        a.label,
        a.score,
        a.center_x,
        a.center_y,
        a.size_x,
        a.size_y,
        a.track_id,
    ) == (2, "box", 0.875, 10.5, 20.25, 30.0, 40.0, 7)
    assert b.label == "ball" and b.track_id == -1
