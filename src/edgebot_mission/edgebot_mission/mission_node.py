"""mission_node: a mission file run as a behaviour tree on the robot's own sensors.

``odom`` + ``detections`` + ``camera/camera_info`` + ``sonar/range`` -> ``mission/cmd_vel`` (one
more velocity source under the safety monitor, which keeps priority), ``mission/state``
(latched JSON), ``mission/found`` (one JSON message per object found). Logic in
:mod:`edgebot_mission.mission` (ROS-free).
"""

from __future__ import annotations

import json
import math

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Range
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_common.diagnostics import OK, WARN, Diagnostics
from edgebot_common.node_main import run_node
from edgebot_common.params import ParameterError, ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter
from edgebot_interfaces.msg import Detection2DArray

from . import config
from .mission import MissionEngine, Sighting

SPECS = [
    ParamSpec(
        "mission_file",
        "",
        "mission file (YAML, config/missions/*.yaml)",
        check=lambda v: None if v else "must name a mission file",
    ),
    ParamSpec("rate_hz", 10.0, "tick and command rate [Hz]", min=1.0, max=100.0),
    ParamSpec(
        "max_age",
        0.5,
        "detections of a frame older than this (image stamp vs the node's clock) are stale "
        "and rejected; 0 = no check [s]",
        min=0.0,
    ),
]


def _yaw(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class MissionNode(Node):
    NODE_NAME = "mission"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = self.p = declare_params(self, SPECS)
        try:
            cfg = config.load(p["mission_file"])
        except config.MissionError as e:
            raise ParameterError("mission_file", p["mission_file"], str(e)) from None
        self.engine = MissionEngine(cfg)
        self.frame_id = "odom"
        self.rejects = RejectCounter(log=self.get_logger().warning)
        self.cmd_pub = self.create_publisher(Twist, "mission/cmd_vel", qos.COMMANDS)
        self.state_pub = self.create_publisher(String, "mission/state", qos.LATCHED)
        self.found_pub = self.create_publisher(String, "mission/found", qos.RELIABLE)
        self.create_subscription(Odometry, "odom", self._on_odom, qos.SENSOR_DATA)
        self.create_subscription(
            Detection2DArray, "detections", self._on_detections, qos.LATEST_ONLY
        )
        self.create_subscription(Range, "sonar/range", self._on_range, qos.SENSOR_DATA)
        self.create_subscription(CameraInfo, "camera/camera_info", self._on_info, qos.LATEST_ONLY)
        self.cmd = (0.0, 0.0)
        self._state = None
        self._state_t = -1.0
        self.diag = Diagnostics(self, hardware_id="mission")
        self.diag.add("mission", self._diag)
        self.create_timer(1.0 / p["rate_hz"], self._tick)
        self._publish_state(force=True)
        want = ", ".join(f"{n} {c}" for c, n in cfg.wanted().items())
        self.get_logger().info(f"mission '{cfg.name}': find {want} in {cfg.time_limit:g} s")

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_odom(self, msg: Odometry) -> None:
        p = msg.pose.pose
        if msg.header.frame_id:
            self.frame_id = msg.header.frame_id
        if not self.engine.on_pose(self._now(), p.position.x, p.position.y, _yaw(p.orientation)):
            self.rejects.reject("bad_odom", f"pose ({p.position.x}, {p.position.y}) not finite")

    def _on_range(self, msg: Range) -> None:
        if not self.engine.on_range(self._now(), msg.range):
            self.rejects.reject("bad_range", f"sonar/range = {msg.range}")

    def _on_info(self, msg: CameraInfo) -> None:
        try:
            self.engine.on_camera_info(msg.width, msg.k[0], msg.k[2])
        except ValueError as e:
            self.rejects.reject("bad_camera_info", str(e))

    def _on_detections(self, msg: Detection2DArray) -> None:
        st = msg.header.stamp
        stamp = Time.from_msg(st).nanoseconds * 1e-9 if (st.sec or st.nanosec) else None
        if self.p["max_age"] > 0 and stamp is not None:
            age = self._now() - stamp
            if age > self.p["max_age"]:
                self.rejects.reject("stale_detections", f"frame {age:.2f} s old")
                return
        boxes = [
            Sighting(d.label, d.score, d.center_x, d.center_y, d.size_x, d.size_y, int(d.track_id))
            for d in msg.detections
        ]
        try:
            problems = self.engine.on_detections(
                self._now(), msg.image_width, msg.image_height, boxes, stamp
            )
        except ValueError as e:
            self.rejects.reject("bad_detections", str(e))
            return
        for why in problems:
            self.rejects.reject("impossible_box", why)

    def _tick(self) -> None:
        v, w = self.engine.tick(self._now())
        self.cmd = (v, w)
        t = Twist()
        t.linear.x, t.angular.z = v, w
        self.cmd_pub.publish(t)
        for f in self.engine.take_reports():
            d = f.as_dict(self.frame_id)
            self.found_pub.publish(String(data=json.dumps(d)))
            self.get_logger().info(
                f"found {d['class']} #{d['index']} at ({d['x']:.2f}, {d['y']:.2f}) in "
                f"{self.frame_id}"
            )
            self._publish_state(force=True)
        self._publish_state()

    def _publish_state(self, force: bool = False) -> None:
        st = self.engine.state()
        st["frame_id"] = self.frame_id
        for f in st["found"]:
            f["frame_id"] = self.frame_id
        now = self._now()
        if force or st["state"] != self._state or abs(now - self._state_t) >= 1.0:
            if st["state"] != self._state:
                self.get_logger().info(
                    f"state: {st['state']}" + (f" -- {st['outcome']}" if st["done"] else "")
                )
            self._state, self._state_t = st["state"], now
            self.state_pub.publish(String(data=json.dumps(st)))

    def _diag(self):
        st = self.engine.state()
        values = {
            "state": st["state"],
            "elapsed_s": st["elapsed"],
            "found": len(st["found"]),
            "linear": self.cmd[0],
            "angular": self.cmd[1],
            "avoided": st["avoided"],
            "given_up": st["given_up"],
            "rejected_total": self.rejects.total,
        }
        for k, n in self.rejects.as_dict().items():
            values[f"rejected.{k}"] = n
        level = WARN if st["state"] == "blind" else OK
        return level, st["state"], values

    def shutdown(self) -> None:
        try:
            self.cmd_pub.publish(Twist())
        except Exception:
            pass


def main(args=None):
    run_node(MissionNode, args)


if __name__ == "__main__":
    main()
