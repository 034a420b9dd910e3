"""target_follower as a process, driven by scripted detections."""

import math

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from sensor_msgs.msg import CameraInfo, Range
from std_msgs.msg import String

from control_helpers import Streamer, diag_values, wait_twist
from edgebot_common import objects, qos
from edgebot_control.follower import focal_length_px
from edgebot_interfaces.msg import Detection2D, Detection2DArray
from edgebot_testing import wait_for

W, H = objects.CAMERA_WIDTH, objects.CAMERA_HEIGHT


def frame(*dets, width=W, height=H):
    msg = Detection2DArray(image_width=width, image_height=height)
    msg.header.frame_id = "camera_link"
    msg.detections = list(dets)
    return msg


def ball(distance, offset=0.0, label="ball", score=0.9):
    h = focal_length_px(W, 60.0) * 0.2 / distance
    return Detection2D(
        class_id=objects.CLASS_NAMES.index(label) if label in objects.CLASS_NAMES else 99,
        label=label,
        score=score,
        center_x=W / 2 + offset * W / 2,
        center_y=H / 2,
        size_x=h,
        size_y=h,
    )


def wait_state(got, name, timeout=30.0):
    return wait_for(lambda: got and got[-1].data == name, timeout, what=f"follower state {name}")


def test_follow_sequence_on_scripted_detections(procs, ros):
    p = procs.node(
        "edgebot_control",
        "target_follower",
        params={
            "stop_distance": 0.5,
            "lost_timeout": 0.6,
            "use_sonar": False,
            "search_angular": 0.3,
        },
    )
    p.wait_output("following 'ball'", timeout=30)
    cmd = ros.collect(Twist, "follower/cmd_vel")
    state = ros.collect(String, "follower/state", qos.LATCHED)
    pub = ros.publisher(Detection2DArray, "detections", qos.RELIABLE)
    ros.wait_subscribers(pub, timeout=30)
    wait_state(state, "blind")  # no detector yet: stopped
    wait_twist(cmd, lambda v, w: (v, w) == (0.0, 0.0), what="stopped while blind")
    det = Streamer(ros, pub, frame(), period=0.1)  # the detector runs, sees nothing
    wait_state(state, "search")
    wait_twist(cmd, lambda v, w: (v, w) == (0.0, 0.3), what="search rotation")
    det.msg = frame(ball(2.0, offset=0.7), ball(0.5, label="cone"))
    wait_state(state, "track")
    wait_twist(cmd, lambda v, w: v == 0.0 and w < 0.0, what="turn towards the ball (right)")
    det.msg = frame(ball(2.0, offset=0.0))
    wait_state(state, "approach")
    wait_twist(cmd, lambda v, w: v > 0.0, what="forward")
    # the detector goes silent while driving: stop (blind), neither drive on nor search
    det.stop()
    wait_state(state, "blind")
    wait_twist(cmd, lambda v, w: (v, w) == (0.0, 0.0), what="stopped when detections stop")
    det = Streamer(ros, pub, frame(ball(2.0, offset=0.0)), period=0.1)
    wait_state(state, "approach")
    wait_twist(cmd, lambda v, w: v > 0.0, what="forward again once detections flow")
    det.msg = frame(ball(0.5, offset=0.0))
    wait_state(state, "hold")
    wait_twist(cmd, lambda v, w: (v, w) == (0.0, 0.0), what="hold still")
    det.msg = frame()  # target gone
    wait_state(state, "search")
    wait_twist(cmd, lambda v, w: (v, w) == (0.0, 0.3), what="search again")
    det.stop()


def test_sonar_distance_and_bad_input_counted(procs, ros):
    p = procs.node("edgebot_control", "target_follower", params={"stop_distance": 0.5})
    p.wait_output("following 'ball'", timeout=30)
    state = ros.collect(String, "follower/state", qos.LATCHED)
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Detection2DArray, "detections", qos.RELIABLE)
    sonar = ros.publisher(Range, "sonar/range", qos.SENSOR_DATA)
    ros.wait_subscribers(pub, timeout=30)
    ros.wait_subscribers(sonar, timeout=30)
    s = Streamer(ros, sonar, Range(min_range=0.02, max_range=4.0, range=0.5))
    bad = Detection2D(
        label="ball", score=0.9, center_x=math.nan, center_y=1.0, size_x=5.0, size_y=5.0
    )
    det = Streamer(ros, pub, frame(ball(2.0, offset=0.0), bad), period=0.1)
    # camera says 2 m, the centred sonar says 0.5 m: the sonar wins -> hold
    wait_state(state, "hold")
    vals = wait_for(
        lambda: (
            (d := diag_values(diags, "target_follower"))
            and d["distance_source"] == "sonar"
            and int(d.get("rejected.impossible_box", 0)) > 0
            and d
        ),
        20,
        what="sonar distance and rejected boxes in diagnostics",
    )
    assert float(vals["distance_m"]) == 0.5
    det.msg = frame(ball(2.0), width=0, height=0)  # impossible image size
    s.msg = Range(min_range=0.02, max_range=4.0, range=math.nan)
    wait_for(
        lambda: (
            (d := diag_values(diags, "target_follower"))
            and int(d.get("rejected.bad_image_size", 0)) > 0
            and int(d.get("rejected.bad_range", 0)) > 0
        ),
        20,
        what="bad frame and range counted",
    )
    wait_state(state, "blind")  # no usable frames: a blind stop
    # camera_info replaces the configured field of view: fx = 160 px at 320 px -> 90 deg
    info = ros.publisher(CameraInfo, "camera/camera_info", qos.SENSOR_DATA)
    ros.wait_subscribers(info, timeout=30)
    ci = Streamer(
        ros,
        info,
        CameraInfo(width=320, height=240, k=[160.0, 0.0, 160.0, 0.0, 160.0, 120.0, 0.0, 0.0, 1.0]),
    )
    wait_for(
        lambda: abs(float(diag_values(diags, "target_follower")["hfov_deg"]) - 90.0) < 1e-6,
        20,
        what="hfov from camera_info",
    )
    ci.stop()
    assert p.running()
    det.stop()
    s.stop()


def test_detections_of_old_frames_are_rejected_as_stale(procs, ros):
    p = procs.node(
        "edgebot_control", "target_follower", params={"max_age": 0.5, "use_sonar": False}
    )
    p.wait_output("following 'ball'", timeout=30)
    state = ros.collect(String, "follower/state", qos.LATCHED)
    diags = ros.collect(DiagnosticArray, "/diagnostics")
    pub = ros.publisher(Detection2DArray, "detections", qos.RELIABLE)
    ros.wait_subscribers(pub, timeout=30)
    old = frame(ball(2.0))
    det = Streamer(ros, pub, old, period=0.1)

    def restamp(age):
        t = ros.node.get_clock().now().nanoseconds * 1e-9 - age
        det.msg.header.stamp.sec, det.msg.header.stamp.nanosec = int(t), int((t % 1) * 1e9)

    timer = ros.node.create_timer(0.05, lambda: restamp(2.0))  # always 2 s old
    wait_for(
        lambda: (
            (d := diag_values(diags, "target_follower"))
            and int(d.get("rejected.stale_detections", 0)) > 3
        ),
        30,
        what="stale counted",
    )
    assert state[-1].data == "blind"
    ros.node.destroy_timer(timer)
    timer = ros.node.create_timer(0.05, lambda: restamp(0.05))  # fresh
    wait_state(state, "approach")
    ros.node.destroy_timer(timer)
    det.stop()


def test_invalid_parameters_stop_the_node_naming_them(procs):
    for params, name in (
        ({"target_class": "unicorn"}, "target_class"),
        ({"stop_distance": -0.5}, "stop_distance"),
        ({"search_angular": 3.0, "max_angular": 1.0}, "search_angular"),
    ):
        p = procs.node("edgebot_control", "target_follower", params=params)
        assert p.wait(timeout=60) == 2
        out = p.output()
        assert "configuration error" in out and name in out, out
