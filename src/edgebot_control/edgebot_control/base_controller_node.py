"""base_controller: ``cmd_vel`` -> ``wheel_cmd`` (JointState, rad/s) + ``odom``, computed by the
C++ fixed-rate loop of ``edgebot_rt`` (kinematics, limits, wheel PID, odometry, command timeout).

This node is thin: it hands commands, wheel feedback (``wheel_states``: positions and/or
velocities with their header.stamp) and the IMU yaw rate (``imu/data``, stamped) to the loop,
which integrates the pose from the wheel position deltas (or velocity x stamp differences), never
from its own wall-clock period, and publishes the loop's newest sample at ``publish_rate_hz``, with
the odom -> base_link transform on ``/tf`` (tf2_msgs/TFMessage, as tf2_ros's broadcaster; on
every install: src/tf2_msgs stands in on the pip-only path).
"""

from __future__ import annotations

from geometry_msgs.msg import TransformStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Bool

from edgebot_common import qos
from edgebot_common.diagnostics import OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter
from tf2_msgs.msg import TFMessage

from .base_setup import POSE_COV, SPECS, TWIST_COV, diag6
from .kinematics import integrate, limit_check, yaw_to_quaternion


class BaseController(Node):
    NODE_NAME = "base_controller"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = declare_params(self, SPECS)
        limit_check(p)
        self.p = p
        import edgebot_rt as rt

        try:
            self.loop = rt.BaseControlLoop(
                rate_hz=p["rate_hz"],
                wheel_radius=p["wheel_radius"],
                wheel_separation=p["wheel_separation"],
                max_linear=p["max_linear"],
                max_angular=p["max_angular"],
                max_linear_accel=p["max_linear_accel"],
                max_angular_accel=p["max_angular_accel"],
                max_wheel_speed=p["max_wheel_speed"],
                command_timeout=p["command_timeout"],
                # never softer than the ordinary ramp
                emergency_linear_decel=max(p["emergency_linear_decel"], p["max_linear_accel"]),
                emergency_angular_decel=max(p["emergency_angular_decel"], p["max_angular_accel"]),
                standstill_speed=p["standstill_speed"],
                use_feedback=p["use_feedback"],
                kp=p["kp"],
                ki=p["ki"],
                kd=p["kd"],
                feedback_timeout=p["feedback_timeout"],
                imu_yaw_weight=p["imu_yaw_weight"],
                position_feedback=p["position_feedback"],
                realtime_priority=p["realtime_priority"],
            )
        except ValueError as e:  # std::invalid_argument from the C++ side
            raise ConfigError(str(e)) from None
        self.rejects = RejectCounter(log=self.get_logger().warning)
        self.clamped = 0
        self.timeouts = 0
        self._timed_out = True
        self._feedback_msgs = 0
        self._imu_msgs = 0
        self._sample = None
        self._names = (p["left_joint"], p["right_joint"])
        # The loop's pose comes from the wheel_states (positions, or velocities x their stamps),
        # on no clock of its own. Only while no wheel_states ever came does it dead-reckon the
        # commands on its loop clock: under use_sim_time that is done here, on the ROS clock.
        self._sim_odom = bool(self.get_parameter("use_sim_time").value)
        self._pose = (0.0, 0.0, 0.0)
        self._last_stamp = None

        self.pub_wheels = self.create_publisher(JointState, "wheel_cmd", qos.COMMANDS)
        self.pub_odom = self.create_publisher(Odometry, "odom", qos.RELIABLE)
        self.tf = self.create_publisher(TFMessage, "/tf", qos.TF) if p["publish_tf"] else None
        self.create_subscription(Twist, "cmd_vel", self._on_cmd, qos.COMMANDS)
        self.create_subscription(Bool, "safety/authority", self._on_authority, qos.COMMANDS)
        self.create_subscription(JointState, "wheel_states", self._on_wheels, qos.SENSOR_DATA)
        self.create_subscription(Imu, "imu/data", self._on_imu, qos.SENSOR_DATA)
        self.diag = Diagnostics(self, hardware_id="edgebot_rt")
        self.diag.add("control loop", self._diag)
        if not self.loop.start():
            raise RuntimeError("edgebot_rt loop did not start")
        self.create_timer(1.0 / p["publish_rate_hz"], self._publish)
        self.get_logger().info(
            f"base controller running: loop {p['rate_hz']:g} Hz, publish "
            f"{p['publish_rate_hz']:g} Hz, tf {'on' if self.tf else 'off'}, "
            f"odometry on the {'ROS (sim) clock' if self._sim_odom else 'loop clock'}"
        )

    # -- inputs ---------------------------------------------------------------------------
    def _on_cmd(self, msg: Twist) -> None:
        v, w = msg.linear.x, msg.angular.z
        if not self.loop.set_command(v, w):
            self.rejects.reject("non_finite_cmd_vel", f"linear.x={v} angular.z={w}")
            return
        if abs(v) > self.p["max_linear"] or abs(w) > self.p["max_angular"]:
            self.clamped += 1  # the loop clamps to the limits

    def _on_authority(self, msg: Bool) -> None:
        self.loop.set_authority(bool(msg.data))  # false: brake at the emergency decelerations

    def _wheel_index(self, msg: JointState):
        if msg.name:
            try:
                return msg.name.index(self._names[0]), msg.name.index(self._names[1])
            except ValueError:
                return None
        return (0, 1)

    def _on_wheels(self, msg: JointState) -> None:
        idx = self._wheel_index(msg)
        i = max(idx) if idx is not None else 0
        vel = (
            (msg.velocity[idx[0]], msg.velocity[idx[1]]) if idx and len(msg.velocity) > i else None
        )
        pos = (
            (msg.position[idx[0]], msg.position[idx[1]]) if idx and len(msg.position) > i else None
        )
        if idx is None or (vel is None and pos is None):
            self.rejects.reject(
                "bad_wheel_states",
                f"names {list(msg.name)}, {len(msg.velocity)} velocities, "
                f"{len(msg.position)} positions",
            )
            return
        if not self.loop.set_wheel_state(_stamp(msg), velocity=vel, position=pos):
            self.rejects.reject("non_finite_wheel_states", f"velocity {vel} position {pos}")
            return
        self._feedback_msgs += 1

    def _on_imu(self, msg: Imu) -> None:
        if not self.loop.set_imu_yaw_rate(msg.angular_velocity.z, _stamp(msg)):
            self.rejects.reject("non_finite_imu", f"angular_velocity.z={msg.angular_velocity.z}")
            return
        self._imu_msgs += 1

    # -- outputs --------------------------------------------------------------------------
    def _publish(self) -> None:
        samples = self.loop.drain()
        for s in samples:
            if s[8] and not self._timed_out:
                self.timeouts += 1
            self._timed_out = bool(s[8])
        s = samples[-1] if samples else self.loop.latest()
        if s is None:
            return
        self._sample = s
        _t, wl, wr, x, y, th, v, w, _to = s
        now = self.get_clock().now()
        if self._sim_odom and not self._feedback_msgs:
            x, y, th = self._integrate_sim(now, samples or [s])
        stamp = now.to_msg()
        js = JointState(name=list(self._names), velocity=[wl, wr])
        js.header.stamp = stamp
        self.pub_wheels.publish(js)
        od = Odometry()
        od.header.stamp = stamp
        od.header.frame_id = self.p["odom_frame_id"]
        od.child_frame_id = self.p["base_frame_id"]
        od.pose.pose.position.x, od.pose.pose.position.y = x, y
        q = yaw_to_quaternion(th)
        o = od.pose.pose.orientation
        o.x, o.y, o.z, o.w = q
        od.pose.covariance = diag6(POSE_COV)
        od.twist.twist.linear.x, od.twist.twist.angular.z = v, w
        od.twist.covariance = diag6(TWIST_COV)
        self.pub_odom.publish(od)
        if self.tf is not None:
            tf = TransformStamped()
            tf.header = od.header
            tf.child_frame_id = od.child_frame_id
            tf.transform.translation.x, tf.transform.translation.y = x, y
            tf.transform.rotation = od.pose.pose.orientation
            self.tf.publish(TFMessage(transforms=[tf]))

    def _integrate_sim(self, now, samples):
        """Pose on the ROS (simulated) clock from the mean twist of the drained samples."""
        if self._last_stamp is not None:
            dt = (now - self._last_stamp).nanoseconds * 1e-9
            if dt < 0.0:  # simulated time jumped back (a reset)
                self._pose = (0.0, 0.0, 0.0)
            elif dt > 0.0:
                v = sum(x[6] for x in samples) / len(samples)
                w = sum(x[7] for x in samples) / len(samples)
                self._pose = integrate(*self._pose, v, w, dt)
        self._last_stamp = now
        return self._pose

    def _diag(self):
        st = self.loop.stats()
        s = self._sample
        values = dict(st)
        values.update(
            {
                "timed_out": self._timed_out,
                "authority": self.loop.authority,
                "command_timeouts": self.timeouts,
                "clamped_commands": self.clamped,
                "feedback_msgs": self._feedback_msgs,
                "imu_msgs": self._imu_msgs,
                "rejected_total": self.rejects.total,
            }
        )
        for k, n in self.rejects.as_dict().items():
            values[f"rejected.{k}"] = n
        if s is not None:
            values.update({"wheel_cmd_left": s[1], "wheel_cmd_right": s[2]})
        level, msg = OK, "running"
        if self._timed_out:
            msg = "no fresh cmd_vel: wheels stopped"
        if st.get("overruns", 0) and st.get("cycles", 0) and st["overruns"] > 0.01 * st["cycles"]:
            level, msg = WARN, f"{st['overruns']} loop overruns in {st['cycles']} cycles"
        return level, msg, values

    def shutdown(self) -> None:
        """Stop the loop; try a last zero wheel_cmd. After SIGINT/SIGTERM rclpy has usually shut
        the context down already, so that zero rarely gets out: what stops the motors is the
        receiver's own command timeout (firmata_node ``command_timeout``, the simulator's
        ``wheel_cmd_timeout``), as on any lost link."""
        self.loop.stop()
        try:
            js = JointState(name=list(self._names), velocity=[0.0, 0.0])
            js.header.stamp = self.get_clock().now().to_msg()
            self.pub_wheels.publish(js)
        except Exception:  # context already shut down
            pass


def _stamp(msg) -> float:
    """header.stamp in seconds; NaN (the loop then takes its monotonic clock) when unset."""
    t = msg.header.stamp
    return t.sec + t.nanosec * 1e-9 if (t.sec or t.nanosec) else float("nan")


def main(args=None):
    run_node(BaseController, args)


if __name__ == "__main__":
    main()
