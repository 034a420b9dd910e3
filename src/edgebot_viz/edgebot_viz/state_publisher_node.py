"""state_publisher: robot_state_publisher for installs that lack it (the pip-only path).

Same interface as ROS 2's robot_state_publisher: the URDF in the ``robot_description``
parameter (or, an edgebot extension, a ``.urdf``/``.xacro`` file in ``robot_description_file``),
republished latched on ``robot_description``; every fixed joint once on ``/tf_static``
(tf2_msgs/TFMessage, transient-local depth 1, as tf2 expects); the moving joints on ``/tf``
from the positions in ``joint_states``; ``frame_prefix`` before every frame. The transforms
come from :mod:`edgebot_viz.robot_state` (ROS-free, yourdfpy).
"""

from __future__ import annotations

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_common.diagnostics import OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter
from tf2_msgs.msg import TFMessage

from .robot_state import RobotState, Transform, UrdfError, read_description

SPECS = [
    ParamSpec("robot_description", "", "the URDF (XML text), as robot_state_publisher takes it"),
    ParamSpec(
        "robot_description_file",
        "",
        "a .urdf or .xacro file instead of "
        "robot_description (edgebot extension; exactly one of the two)",
    ),
    ParamSpec(
        "publish_frequency",
        20.0,
        "maximum rate of the moving joints on /tf [Hz]",
        min=0.0,
        min_exclusive=True,
        max=1000.0,
    ),
    ParamSpec("frame_prefix", "", "prepended to every frame id (e.g. 'rover1/')"),
    ParamSpec(
        "ignore_timestamp",
        False,
        "stamp /tf with the current time instead of the joint_states stamp",
    ),
]


def to_msgs(transforms: list[Transform], stamp) -> list[TransformStamped]:
    out = []
    for t in transforms:
        m = TransformStamped()
        m.header.stamp = stamp
        m.header.frame_id = t.parent
        m.child_frame_id = t.child
        tr, r = m.transform.translation, m.transform.rotation
        tr.x, tr.y, tr.z = t.translation
        r.x, r.y, r.z, r.w = t.rotation
        out.append(m)
    return out


class StatePublisher(Node):
    NODE_NAME = "robot_state_publisher"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        self.p = p = declare_params(self, SPECS)
        xml, name = p["robot_description"], "robot_description"
        if bool(xml.strip()) == bool(p["robot_description_file"]):
            raise ConfigError(
                "parameters 'robot_description' and 'robot_description_file': "
                "give exactly one of the two (got "
                f"{'both' if xml.strip() else 'neither'})"
            )
        try:
            if not xml.strip():
                name = "robot_description_file"
                xml = read_description(p["robot_description_file"])
            self.robot = RobotState(xml, p["frame_prefix"])
        except (UrdfError, OSError) as e:
            raise ConfigError(f"parameter '{name}' = {p[name][:60]!r}: {e}") from None
        self.rejects = RejectCounter(self.get_logger().warning)
        self._period_ns = int(1e9 / p["publish_frequency"])
        self._last_pub = None
        self.published = 0

        self.pub_desc = self.create_publisher(String, "robot_description", qos.LATCHED)
        self.pub_static = self.create_publisher(TFMessage, "/tf_static", qos.TF_STATIC)
        self.pub_tf = self.create_publisher(TFMessage, "/tf", qos.TF)
        self.pub_desc.publish(String(data=xml))
        static = self.robot.static_transforms()
        self.pub_static.publish(
            TFMessage(transforms=to_msgs(static, self.get_clock().now().to_msg()))
        )
        # best effort matches reliable and best-effort joint_states publishers alike
        self.create_subscription(JointState, "joint_states", self._on_joints, qos.SENSOR_DATA)
        self.diag = Diagnostics(self, hardware_id=f"urdf:{self.robot.name}")
        self.diag.add("state publisher", self._diag)
        self.get_logger().info(
            f"robot {self.robot.name!r}: {len(static)} fixed joints on /tf_static, "
            f"{len(self.robot.moving)} moving joints on /tf from joint_states"
        )

    def _on_joints(self, msg: JointState) -> None:
        updated, rejected = self.robot.update(list(msg.name), list(msg.position))
        for reason in rejected:
            self.rejects.reject("bad_joint_state", reason)
        if not updated:
            return
        now = self.get_clock().now()
        if self._last_pub is not None and (now - self._last_pub).nanoseconds < self._period_ns:
            return
        stamp = msg.header.stamp
        if self.p["ignore_timestamp"] or (stamp.sec == 0 and stamp.nanosec == 0):
            stamp = now.to_msg()
        self._last_pub = now
        self.pub_tf.publish(TFMessage(transforms=to_msgs(self.robot.moving_transforms(), stamp)))
        self.published += 1

    def _diag(self):
        values = {
            "fixed_joints": len(self.robot.static_transforms()),
            "moving_joints": len(self.robot.moving),
            "joints_with_state": len(self.robot.positions),
            "tf_messages": self.published,
            "rejected": self.rejects.total,
        }
        if self.robot.moving and not self.robot.positions:
            return WARN, "no joint_states yet: moving joints not published", values
        return OK, "publishing", values


def main(args=None):
    run_node(StatePublisher, args)


if __name__ == "__main__":
    main()
