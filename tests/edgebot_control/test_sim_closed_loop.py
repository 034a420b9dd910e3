"""base_controller closing its wheel-speed loop on the simulator's wheel_states (PyBullet,
drive=wheel_cmd): its odometry agrees with the simulator's ground truth."""

import math

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState

from control_helpers import Streamer, twist
from edgebot_common import qos
from edgebot_control import kinematics as K
from edgebot_testing import wait_for


def yaw(od):
    q = od.pose.pose.orientation
    return K.quaternion_to_yaw(q.x, q.y, q.z, q.w)


def xy(od):
    return od.pose.pose.position.x, od.pose.pose.position.y


def test_odometry_follows_the_simulated_rover(procs, ros):
    procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "drive": "wheel_cmd",
            "arduino.enabled": False,
            "imu.enabled": False,
            "camera.enabled": False,
            "scenario": "open_field",
            "speed": 1.0,
        },
    )
    procs.node(
        "edgebot_control",
        "base_controller",
        params={
            "use_feedback": True,
            "max_wheel_speed": 15.0,
            "max_linear": 0.45,
            "imu_yaw_weight": 0.0,
        },
    ).wait_output("base controller running", timeout=60)
    truth = ros.collect(Odometry, "sim/ground_truth")
    odom = ros.collect(Odometry, "odom")
    wheels = ros.collect(JointState, "wheel_states", qos.SENSOR_DATA)
    pub = ros.publisher(Twist, "cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, timeout=60)
    wait_for(lambda: truth and odom and wheels, 90, what="sim ground truth, odom, wheel_states")

    s = Streamer(ros, pub, twist(0.2, 0.0))
    o0, t0 = xy(odom[-1]), xy(truth[-1])
    wait_for(lambda: math.dist(xy(truth[-1]), t0) > 0.4, 90, what="40 cm of simulated driving")
    d_truth = math.dist(xy(truth[-1]), t0)
    d_odom = math.dist(xy(odom[-1]), o0)
    # forward in the controller is forward in the simulator, distances agree within 20 %
    print(f"distance odom {d_odom:.3f} m, truth {d_truth:.3f} m")
    assert abs(d_odom - d_truth) < 0.2 * d_truth, (d_odom, d_truth)
    assert min(wheels[-1].velocity) > 0.0

    s.msg = twist(0.0, 1.0)  # turn left in place
    y_o, y_t = yaw(odom[-1]), yaw(truth[-1])
    wait_for(lambda: K.wrap_angle(yaw(truth[-1]) - y_t) > 1.0, 90, what="1 rad simulated turn")
    turn_t = K.wrap_angle(yaw(truth[-1]) - y_t)
    turn_o = K.wrap_angle(yaw(odom[-1]) - y_o)
    print(f"turn odom {turn_o:.3f} rad, truth {turn_t:.3f} rad")
    assert turn_o > 0.0 and abs(turn_o - turn_t) < 0.35 * turn_t, (turn_o, turn_t)
    s.stop()
    wait_for(lambda: all(abs(v) < 0.3 for v in wheels[-1].velocity), 60, what="rover stopped")
