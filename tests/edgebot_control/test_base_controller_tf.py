"""base_controller's odom -> base_link on /tf (tf2_msgs/TFMessage, read by a plain rclpy
subscriber) while the rover moves; the frame parameters; publish_tf off."""

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry

from control_helpers import Streamer, twist
from edgebot_common import qos
from edgebot_testing import wait_for
from tf2_msgs.msg import TFMessage


def odom_tfs(tf, parent, child):
    return [
        t
        for m in list(tf)
        for t in m.transforms
        if t.header.frame_id == parent and t.child_frame_id == child
    ]


def test_odom_to_base_link_on_tf_while_moving(procs, ros):
    tf = ros.collect(TFMessage, "/tf", qos.TF)
    odom = ros.collect(Odometry, "odom", qos.RELIABLE)
    bc = procs.node(
        "edgebot_control",
        "base_controller",
        params={
            "use_feedback": False,
            "imu_yaw_weight": 0.0,
            "odom_frame_id": "r1/odom",
            "base_frame_id": "r1/base_link",
        },
    )
    bc.wait_output("base controller running", timeout=30)
    wait_for(
        lambda: odom_tfs(tf, "r1/odom", "r1/base_link") and odom,
        60,
        what="odom -> base_link on /tf",
    )
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, timeout=30)
    s = Streamer(ros, pub, twist(0.2, 0.3))
    moved = wait_for(
        lambda: [
            t for t in odom_tfs(tf, "r1/odom", "r1/base_link") if t.transform.translation.x > 0.05
        ],
        60,
        what="the rover's transform moving forward on /tf",
    )
    s.stop()
    t = moved[-1]
    assert t.transform.rotation.z > 0.0 and t.transform.translation.y > 0.0  # arcing left
    # the transform is the odometry pose of the same stamp
    same = [o for o in list(odom) if o.header.stamp == t.header.stamp]
    assert same, "a /tf sample without its odom"
    p = same[0].pose.pose
    assert (p.position.x, p.position.y, p.orientation.z, p.orientation.w) == (
        t.transform.translation.x,
        t.transform.translation.y,
        t.transform.rotation.z,
        t.transform.rotation.w,
    )
    assert same[0].header.frame_id == "r1/odom" and same[0].child_frame_id == "r1/base_link"


def test_publish_tf_false_leaves_the_transform_to_others(procs, ros):
    odom = ros.collect(Odometry, "odom", qos.RELIABLE)
    bc = procs.node("edgebot_control", "base_controller", params={"publish_tf": False})
    bc.wait_output("tf off", timeout=30)
    wait_for(lambda: odom, 60, what="odom")
    assert ros.node.count_publishers("/tf") == 0


def test_former_frame_parameter_names_stop_the_node_naming_the_new_ones(procs):
    bc = procs.node("edgebot_control", "base_controller", params={"odom_frame": "odom"})
    assert bc.wait(30) == 2
    assert "renamed to 'odom_frame_id'" in bc.output()
