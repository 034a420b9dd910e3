"""sim_node's ROS glue for one rover of the world: its ground truth, wheel_states, status,
wheel_cmd and map -> odom, under the rover's namespace (edgebot_sim.fleet). ROS glue."""

from __future__ import annotations

import json

from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from edgebot_common import qos

from .fleet import name
from .map_tf import MapOdomTf
from .runner import State, parse_wheel_cmd
from .world import WHEEL_JOINTS


def stamp(t: float) -> Time:
    sec = int(t)
    return Time(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


class RoverIO:
    def __init__(self, node, index: int, ns: str, p: dict, tf_p: dict):
        self.node, self.i, self.ns = node, index, ns
        self.base_frame = name(ns, "base_link")
        self.pub_truth = node.create_publisher(Odometry, name(ns, "sim/ground_truth"), qos.RELIABLE)
        self.pub_wheels = (
            node.create_publisher(JointState, name(ns, "wheel_states"), qos.SENSOR_DATA)
            if p["publish_wheel_states"]
            else None
        )
        self.pub_status = (
            node.create_publisher(String, name(ns, "sim/status"), qos.LATCHED) if ns else None
        )
        if p["drive"] == "wheel_cmd":
            node.create_subscription(
                JointState, name(ns, "wheel_cmd"), self._on_wheel_cmd, qos.COMMANDS
            )
        self.map_tf = MapOdomTf(node, node.rejects, ns, tf_p)  # map -> odom on /tf (REP 105)

    def _on_wheel_cmd(self, msg: JointState):
        try:
            left, right = parse_wheel_cmd(list(msg.name), list(msg.velocity))
        except ValueError as e:
            self.node.rejects.reject(name(self.ns, "wheel_cmd"), str(e))
            return
        self.node.runner.set_wheel_target(left, right, self.i)

    def state(self, s: State) -> None:
        odo = Odometry()
        odo.header.stamp = stamp(s.time)
        odo.header.frame_id = "map"
        odo.child_frame_id = self.base_frame
        pp, oo = odo.pose.pose.position, odo.pose.pose.orientation
        pp.x, pp.y, pp.z = s.position
        oo.x, oo.y, oo.z, oo.w = s.orientation
        tl, ta = odo.twist.twist.linear, odo.twist.twist.angular
        tl.x, tl.y, tl.z = s.linear
        ta.x, ta.y, ta.z = s.angular
        self.pub_truth.publish(odo)
        self.map_tf.truth(s.time, odo.header.stamp, s.position, s.orientation)
        if self.pub_wheels is not None:
            js = JointState(
                name=list(WHEEL_JOINTS), position=s.wheel_position, velocity=s.wheel_velocity
            )
            js.header.stamp = odo.header.stamp
            self.pub_wheels.publish(js)

    def status(self, st: dict) -> None:
        if self.pub_status is not None:
            self.pub_status.publish(String(data=json.dumps(st)))
