"""Each virtual device of the simulator, exercised through its real driver node: firmata_node
on the virtual Arduino's pty (motor pins drive the wheels, the sonar ranges by ray cast),
imu_node on the virtual I2C IMU, camera_node on the MJPEG stream."""

import json
import math

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Image, Imu, JointState, Range
from std_msgs.msg import Bool, String

from edgebot_common import qos
from edgebot_testing import ROOT, free_port, wait_for

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


def test_virtual_devices_through_driver_nodes(procs, ros, tmp_path):
    link = tmp_path / "arduino"
    cam, imu = free_port(), free_port()
    pin_map = ROOT / "config" / "firmata.yaml"
    # obstacle_stop: a low wall whose face is at x = -0.1, the rover at x = -1.5 facing it
    sim = procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "scenario": "obstacle_stop",
            "seed": 0,
            "arduino.link": str(link),
            "arduino.pin_map": str(pin_map),
            "camera.port": cam,
            "imu.port": imu,
            "start.wait": True,
            "start.publishers": "sonar/range,imu/data_raw,camera/image_raw",
        },
    )
    procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": str(link), "pin_map": str(pin_map), "use_sim_time": True},
    )
    procs.node(
        "edgebot_imu", "imu_node", params={"bus": f"tcp://127.0.0.1:{imu}", "use_sim_time": True}
    )
    procs.node(
        "edgebot_camera",
        "camera_node",
        params={
            "source": f"http://127.0.0.1:{cam}/stream.mjpg",
            "use_sim_time": True,
            "publish_compressed": False,
        },
    )

    sonar = ros.collect(Range, "sonar/range", qos.SENSOR_DATA)
    imu_raw = ros.collect(Imu, "imu/data_raw", qos.SENSOR_DATA)
    images = ros.collect(Image, "camera/image_raw", qos.SENSOR_DATA)
    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)
    status = ros.collect(String, "sim/status", qos.LATCHED)
    bumper = ros.collect(Bool, "bumper", qos.SENSOR_DATA)

    def started():
        assert sim.running(), sim.output()[-3000:]
        return status and json.loads(status[-1].data)["holding"] is None and len(truth) > 5

    wait_for(started, 120, interval=0.2, what="the simulator's start gate to open")
    wait_for(
        lambda: len(sonar) > 3 and len(imu_raw) > 20 and len(images) > 2,
        60,
        what="sonar, IMU and camera from the driver nodes",
    )

    # sonar: HC-SR04 pings through Firmata; distance = wall face - sonar_link (x 0.125)
    expected = -0.1 - (-1.5 + 0.125)
    assert abs(sonar[-1].range - expected) < 0.03, sonar[-1].range
    assert sonar[-1].header.frame_id == "sonar_link"
    # IMU at rest: +g on z from the chip's registers (noise and bias of the model)
    az = sum(m.linear_acceleration.z for m in imu_raw[-20:]) / 20
    assert abs(az - 9.81) < 0.5, az
    assert imu_raw[-1].header.frame_id == "imu_link"
    # camera: the rendered frame, through MJPEG, OpenCV and camera_node
    im = images[-1]
    assert (im.width, im.height) == (320, 240) and im.header.frame_id == "camera_link"
    # bumper (digital pin 2, pull-up, inverted): released while nothing is touched
    wait_for(lambda: bumper, 30, what="bumper state from firmata_node")
    assert bumper[-1].data is False
    # driver stamps are simulated time (from /clock), not wall time
    assert sonar[-1].header.stamp.sec < 1000 and imu_raw[-1].header.stamp.sec < 1000

    # turn on the spot through firmata_node's motor pins: gyro z and the true yaw follow
    pub = ros.publisher(JointState, "wheel_cmd", qos.COMMANDS)
    ros.wait_subscribers(pub, 1, timeout=30)
    yaw0 = _yaw(truth[-1])

    def turning():
        pub.publish(
            JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[-4.0, 4.0])
        )
        return abs(_yaw(truth[-1]) - yaw0) > 0.5

    wait_for(turning, 60, interval=0.05, what="the rover to turn on wheel_cmd")
    n = len(imu_raw)
    # keep commanding while the samples come: firmata_node's command timeout (0.25 s) stops
    # the wheels soon after the last command, and a stalled test would sample the rover
    # slowing down instead of turning
    wait_for(
        lambda: (
            pub.publish(
                JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[-4.0, 4.0])
            )
            or len(imu_raw) > n + 20
        ),
        30,
        interval=0.05,
        what="IMU while turning",
    )
    gz = max(m.angular_velocity.z for m in imu_raw[n:])
    # diff drive: r * (wr - wl) / track = 0.033 * 8 / 0.16 = 1.65 rad/s (wheel slip: less)
    assert 0.8 < gz < 2.2, gz
    # stop commanding: firmata_node's command timeout zeroes the pins, the rover stops
    wait_for(
        lambda: abs(truth[-1].twist.twist.angular.z) < 0.05,
        30,
        what="the rover to stop after the command timeout",
    )
    assert sim.running()


def _yaw(odom):
    q = odom.pose.pose.orientation
    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
