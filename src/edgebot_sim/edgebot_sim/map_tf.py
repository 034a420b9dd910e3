"""sim_node's map -> odom on /tf (REP 105): ground truth joined with the odometry of
``odom_topic`` by :class:`edgebot_sim.frames.MapOdom`. ROS glue, used by sim_node."""

from __future__ import annotations

from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry

from edgebot_common import qos
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from tf2_msgs.msg import TFMessage

from .frames import MapOdom

SPECS = [
    ParamSpec(
        "publish_map_tf",
        True,
        "publish map -> odom on /tf from ground truth and odometry (REP 105)",
    ),
    ParamSpec("map_frame_id", "map", "the fixed world frame of the ground truth"),
    ParamSpec("odom_frame_id", "odom", "the odometry's frame (child of map_frame_id)"),
    ParamSpec("odom_topic", "odom", "nav_msgs/Odometry of the odometry (base_controller)"),
]


class MapOdomTf:
    """Created by the node; :meth:`truth` is called with each ground-truth sample."""

    def __init__(self, node, rejects, ns: str = "", p: dict | None = None):
        """``ns``: a fleet rover's namespace; its odometry is ``<ns>/<odom_topic>`` and its odom
        frame ``<ns>/<odom_frame_id>`` (edgebot_sim.fleet). ``p``: the SPECS values when the
        node declared them already (one declaration for every rover)."""
        self.p = p = dict(p) if p is not None else declare_params(node, SPECS)
        if ns:
            p["odom_frame_id"] = f"{ns}/{p['odom_frame_id']}"
        self.rejects = rejects
        self.pub = None
        self.map_odom = MapOdom()
        if p["publish_map_tf"]:
            self.pub = node.create_publisher(TFMessage, "/tf", qos.TF)
            topic = f"{ns}/{p['odom_topic']}" if ns else p["odom_topic"]
            node.create_subscription(Odometry, topic, self._on_odom, qos.SENSOR_DATA)

    def _on_odom(self, msg: Odometry) -> None:
        pp, oo = msg.pose.pose.position, msg.pose.pose.orientation
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if not self.map_odom.odometry(t, (pp.x, pp.y, pp.z), (oo.x, oo.y, oo.z, oo.w)):
            self.rejects.reject("odom", "non-finite or zero-quaternion odometry pose")

    def truth(self, t: float, stamp, position, orientation) -> None:
        if self.pub is None:
            return
        self.map_odom.truth(t, position, orientation)
        tf = self.map_odom.transform()
        if tf is None:
            return
        m = TransformStamped()
        m.header.stamp = stamp
        m.header.frame_id = self.p["map_frame_id"]
        m.child_frame_id = self.p["odom_frame_id"]
        tr, r = m.transform.translation, m.transform.rotation
        (tr.x, tr.y, tr.z), (r.x, r.y, r.z, r.w) = tf
        self.pub.publish(TFMessage(transforms=[m]))
