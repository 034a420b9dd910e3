"""target_follower: ``detections`` (+ optional ``sonar/range``) -> ``follower/cmd_vel``.

Centres the chosen class in the image and approaches it to a stop distance; states
search -> track -> approach -> hold (``follower/state``), and "blind" (stopped) while no
detection message has come for ``input_timeout`` s. Logic in :mod:`edgebot_control.follower`.
A command goes out on every detection message (lowest latency) and from a timer (search, lost
target), so the safety monitor's source timeout never fires while the follower runs.
"""

from __future__ import annotations

import math
import time

from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Range
from std_msgs.msg import String

from edgebot_common import objects, qos
from edgebot_common.diagnostics import OK, Diagnostics
from edgebot_common.node_main import run_node
from edgebot_common.params import ParameterError, ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter
from edgebot_interfaces.msg import Detection2DArray

from .follower import Box, Follower, FollowerConfig, StaleDetections

POS = dict(min=0.0, min_exclusive=True)
SPECS = [
    ParamSpec("target_class", "ball", "class to follow", choices=list(objects.CLASS_NAMES)),
    ParamSpec("min_score", 0.4, "detections below this score are ignored", min=0.0, max=1.0),
    ParamSpec("stop_distance", 0.5, "distance to hold in front of the target [m]", **POS),
    ParamSpec("distance_tolerance", 0.08, "hold band half-width [m]", **POS),
    ParamSpec(
        "center_tolerance",
        0.10,
        "normalised horizontal offset counted as centred",
        min=0.0,
        max=1.0,
        min_exclusive=True,
    ),
    ParamSpec("kp_angular", 1.2, "turn rate per unit normalised offset [rad/s]", min=0.0),
    ParamSpec("kp_linear", 0.6, "speed per metre of distance error [1/s]", min=0.0),
    ParamSpec("max_linear", 0.25, "[m/s]", **POS),
    ParamSpec("max_angular", 1.0, "[rad/s]", **POS),
    ParamSpec("search_angular", 0.4, "turn rate while searching, sign = direction [rad/s]"),
    ParamSpec("lost_timeout", 1.0, "target unseen this long -> search [s]", **POS),
    ParamSpec(
        "input_timeout",
        0.3,
        "no detection message (even an empty one) this long -> blind: stop, do not search [s]",
        **POS,
    ),
    ParamSpec(
        "max_age",
        0.5,
        "detections of a frame older than this (image stamp vs the "
        "node's clock) are stale and rejected; 0 = no check [s]",
        min=0.0,
    ),
    ParamSpec(
        "hfov_deg",
        objects.CAMERA_HFOV_DEG,
        "camera horizontal field of view, used until camera_info arrives [deg]",
        min=1.0,
        max=179.0,
    ),
    ParamSpec("use_sonar", True, "use sonar/range as the distance when the target is centred"),
    ParamSpec("sonar_max_age", 0.5, "[s]", **POS),
    ParamSpec("rate_hz", 10.0, "command rate without detections [Hz]", min=1.0, max=200.0),
]


class TargetFollower(Node):
    NODE_NAME = "target_follower"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = declare_params(self, SPECS)
        self.p = p
        if abs(p["search_angular"]) > p["max_angular"]:
            raise ParameterError(
                "search_angular",
                p["search_angular"],
                f"|search_angular| must be <= max_angular ({p['max_angular']})",
            )
        self.follower = Follower(
            FollowerConfig(
                **{
                    k: p[k]
                    for k in (
                        "target_class",
                        "min_score",
                        "stop_distance",
                        "distance_tolerance",
                        "center_tolerance",
                        "kp_angular",
                        "kp_linear",
                        "max_linear",
                        "max_angular",
                        "search_angular",
                        "lost_timeout",
                        "input_timeout",
                        "max_age",
                        "hfov_deg",
                        "use_sonar",
                        "sonar_max_age",
                    )
                }
            )
        )
        self.rejects = RejectCounter(log=self.get_logger().warning)
        self.pub = self.create_publisher(Twist, "follower/cmd_vel", qos.COMMANDS)
        self.state_pub = self.create_publisher(String, "follower/state", qos.LATCHED)
        self.create_subscription(
            Detection2DArray, "detections", self._on_detections, qos.LATEST_ONLY
        )
        self.create_subscription(Range, "sonar/range", self._on_range, qos.SENSOR_DATA)
        self.create_subscription(CameraInfo, "camera/camera_info", self._on_info, qos.LATEST_ONLY)
        self._last_pub = 0.0
        self._last_state = None
        self._last_state_pub = 0.0
        self.cmd = (0.0, 0.0)
        self.detections = 0
        self.diag = Diagnostics(self, hardware_id="follower")
        self.diag.add("follower", self._diag)
        self.create_timer(1.0 / p["rate_hz"], self._tick)
        self._publish(time.monotonic())
        self.get_logger().info(f"following '{p['target_class']}', stop at {p['stop_distance']} m")

    def _on_info(self, msg: CameraInfo) -> None:
        fx = msg.k[0]
        if msg.width > 0 and math.isfinite(fx) and fx > 0:
            self.follower.cfg.hfov_deg = math.degrees(2.0 * math.atan(msg.width / (2.0 * fx)))
        else:
            self.rejects.reject("bad_camera_info", f"width={msg.width} fx={fx}")

    def _on_range(self, msg: Range) -> None:
        if self.p["use_sonar"] and not self.follower.on_range(time.monotonic(), msg.range):
            if math.isnan(msg.range) or msg.range < 0:
                self.rejects.reject("bad_range", f"sonar/range = {msg.range}")

    def _on_detections(self, msg: Detection2DArray) -> None:
        now = time.monotonic()
        self.detections += 1
        boxes = [
            Box(d.label, d.score, d.center_x, d.center_y, d.size_x, d.size_y)
            for d in msg.detections
        ]
        age = None
        st = msg.header.stamp
        if st.sec or st.nanosec:
            age = (self.get_clock().now() - Time.from_msg(st)).nanoseconds * 1e-9
        try:
            _, problems = self.follower.on_detections(
                now, msg.image_width, msg.image_height, boxes, age
            )
        except StaleDetections as e:
            self.rejects.reject("stale_detections", str(e))
            return
        except ValueError as e:
            self.rejects.reject("bad_image_size", str(e))
            return
        for why in problems:
            self.rejects.reject("impossible_box", why)
        self._publish(now)

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_pub >= 0.9 / self.p["rate_hz"]:
            self._publish(now)

    def _publish(self, now: float) -> None:
        v, w = self.follower.step(now)
        self.cmd = (v, w)
        t = Twist()
        t.linear.x, t.angular.z = v, w
        self.pub.publish(t)
        self._last_pub = now
        state = self.follower.state
        if state != self._last_state or now - self._last_state_pub >= 1.0:
            if state != self._last_state:
                self.get_logger().info(f"state: {state}")
            self._last_state, self._last_state_pub = state, now
            self.state_pub.publish(String(data=state))

    def _diag(self):
        f = self.follower
        values = {
            "state": f.state,
            "linear": self.cmd[0],
            "angular": self.cmd[1],
            "distance_m": f.distance if f.distance is not None else "none",
            "distance_source": f.distance_source,
            "detections": self.detections,
            "hfov_deg": f.cfg.hfov_deg,
            "rejected_total": self.rejects.total,
        }
        for k, n in self.rejects.as_dict().items():
            values[f"rejected.{k}"] = n
        return OK, f.state, values

    def shutdown(self) -> None:
        try:
            self.pub.publish(Twist())
        except Exception:
            pass


def main(args=None):
    run_node(TargetFollower, args)


if __name__ == "__main__":
    main()
