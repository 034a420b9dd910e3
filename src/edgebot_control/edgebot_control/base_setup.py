"""base_controller's parameters and odometry covariances (ROS-free)."""

from __future__ import annotations

from edgebot_common.params import ParamSpec

POS = dict(min=0.0, min_exclusive=True)
SPECS = [
    ParamSpec("rate_hz", 200.0, "control loop rate (C++ thread) [Hz]", min=10.0, max=2000.0),
    ParamSpec("publish_rate_hz", 50.0, "wheel_cmd / odom publish rate [Hz]", min=1.0, max=1000.0),
    ParamSpec("wheel_radius", 0.033, "[m]", **POS),
    ParamSpec("wheel_separation", 0.16, "distance between the wheel contact points [m]", **POS),
    ParamSpec("max_linear", 0.5, "linear speed limit [m/s]", **POS),
    ParamSpec("max_angular", 2.5, "angular speed limit [rad/s]", **POS),
    ParamSpec("max_linear_accel", 1.0, "[m/s^2]", **POS),
    ParamSpec("max_angular_accel", 5.0, "[rad/s^2]", **POS),
    ParamSpec("max_wheel_speed", 20.0, "wheel speed limit [rad/s]", **POS),
    ParamSpec("command_timeout", 0.25, "no cmd_vel for this long -> wheels zero [s]", **POS),
    ParamSpec(
        "emergency_linear_decel",
        4.0,
        "braking when the motion authority is lost (safety/authority false: e-stop, lost "
        "source or heartbeat) instead of the max_linear_accel ramp (never softer than it; "
        "a command timeout stops at once) [m/s^2]",
        **POS,
    ),
    ParamSpec(
        "emergency_angular_decel",
        20.0,
        "the same for the turn rate (never softer than max_angular_accel) [rad/s^2]",
        **POS,
    ),
    ParamSpec(
        "standstill_speed",
        0.3,
        "a wheel whose target is zero and that turns slower than this is at rest: "
        "its command is exactly zero, its PID reset [rad/s]",
        min=0.0,
    ),
    ParamSpec(
        "use_feedback",
        True,
        "wheel-speed PID on wheel_states while it is fresh (open loop otherwise)",
    ),
    ParamSpec("kp", 0.5, "wheel PID proportional gain", min=0.0),
    ParamSpec("ki", 2.0, "wheel PID integral gain", min=0.0),
    ParamSpec("kd", 0.0, "wheel PID derivative gain", min=0.0),
    ParamSpec(
        "feedback_timeout", 0.2, "wheel_states / imu/data older than this are ignored [s]", **POS
    ),
    ParamSpec(
        "imu_yaw_weight",
        0.5,
        "weight of the IMU's heading change (yaw rate x its header.stamp differences) "
        "against the wheels' in the odometry while imu/data is fresh (0: wheels only)",
        min=0.0,
        max=1.0,
    ),
    ParamSpec(
        "position_feedback",
        True,
        "odometry from the wheel_states POSITION deltas (encoders; as diff_drive_controller): "
        "no clock and no lost message changes it; false, or messages without positions: "
        "velocity x the messages' header.stamp differences (sim time under use_sim_time)",
    ),
    ParamSpec(
        "realtime_priority", 0, "SCHED_FIFO priority of the loop thread (0: normal)", min=0, max=99
    ),
    ParamSpec("odom_frame_id", "odom", "odometry frame", renamed_from=("odom_frame",)),
    ParamSpec("base_frame_id", "base_link", "robot frame", renamed_from=("base_frame",)),
    ParamSpec("left_joint", "left_wheel_joint", "name of the left wheel in JointState"),
    ParamSpec("right_joint", "right_wheel_joint", "name of the right wheel in JointState"),
    ParamSpec(
        "publish_tf",
        True,
        "publish odom -> base_link on /tf (off when another node, "
        "e.g. an EKF, owns that transform)",
    ),
]

# diagonal covariances of the odometry (x, y, z, roll, pitch, yaw); z/roll/pitch are not
# estimated (planar robot): a large value says so.
POSE_COV = (1e-3, 1e-3, 1e6, 1e6, 1e6, 1e-2)
TWIST_COV = (1e-3, 1e6, 1e6, 1e6, 1e6, 1e-2)


def diag6(values):
    m = [0.0] * 36
    for i, v in enumerate(values):
        m[i * 7] = v
    return m
