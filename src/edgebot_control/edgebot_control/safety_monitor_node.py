"""safety_monitor: the one node that publishes ``cmd_vel``.

Picks the highest-priority fresh velocity source (``teleop/cmd_vel`` > ``follower/cmd_vel`` by
default, each with its own timeout), holds zero under e-stop (service ``estop``, latched topic
``estop``) and while a supervised heartbeat topic is silent, removes forward motion while the
sonar sees an obstacle. Logic in :mod:`edgebot_control.safety`.
"""

from __future__ import annotations

import json
import math
import time

from geometry_msgs.msg import Twist
from rclpy.node import Node
from sensor_msgs.msg import Range
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool

from edgebot_common import qos
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.msg_dict import get_message_class
from edgebot_common.node_main import run_node
from edgebot_common.params import ParameterError, ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import estop_latch
from .safety import ACTIVE, IDLE, LIMITED, STOPPED, Heartbeat, SafetyConfig, SafetyLogic, Source


def _names_check(v):
    if any(not isinstance(n, str) or not n or "." in n or "/" in n for n in v):
        return "names must be non-empty strings without '.' or '/'"
    if len(set(v)) != len(v):
        return "names must be unique"
    return None


SPECS = [
    ParamSpec(
        "rate_hz",
        20.0,
        "rate of cmd_vel output (zero when stopped or idle) [Hz]",
        min=1.0,
        max=1000.0,
    ),
    ParamSpec(
        "max_linear",
        1.0,
        "commands with |linear.x| above this are rejected [m/s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "max_angular",
        4.0,
        "commands with |angular.z| above this are rejected [rad/s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "obstacle_distance", 0.25, "forward motion stops when sonar/range is below [m]", min=0.0
    ),
    ParamSpec(
        "obstacle_hysteresis", 0.05, "forward motion resumes above distance + this [m]", min=0.0
    ),
    ParamSpec(
        "range_timeout",
        0.5,
        "an obstacle reading older than this is forgotten [s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec("estop_on_start", False, "start with the e-stop engaged"),
    ParamSpec(
        "estop_state_file",
        "",
        "file the latched e-stop is kept in across restarts "
        "('' = none: a restarted monitor starts released unless estop_on_start)",
    ),
    ParamSpec(
        "source_names",
        ["teleop", "follower"],
        "velocity sources; each has sources.<name>.topic/priority/timeout",
        item_type=str,
        check=_names_check,
    ),
    ParamSpec(
        "heartbeat_names",
        [],
        "supervised topics; each has heartbeats.<name>.topic/type/timeout/blocks",
        type=list,
        item_type=str,
        check=_names_check,
    ),
]

DEFAULT_PRIORITY = {"teleop": 100, "follower": 10}


class SafetyMonitor(Node):
    NODE_NAME = "safety_monitor"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = declare_params(self, SPECS)
        self.p = p
        sources = []
        for i, name in enumerate(p["source_names"]):
            sp = declare_params(
                self,
                [
                    ParamSpec(
                        f"sources.{name}.topic", f"{name}/cmd_vel", "geometry_msgs/Twist topic"
                    ),
                    ParamSpec(
                        f"sources.{name}.priority",
                        DEFAULT_PRIORITY.get(name, 50 - i),
                        "higher wins",
                    ),
                    ParamSpec(
                        f"sources.{name}.timeout",
                        0.5,
                        "ignored when older than this [s]",
                        min=0.0,
                        min_exclusive=True,
                    ),
                ],
            )
            sources.append(
                (
                    Source(name, sp[f"sources.{name}.priority"], sp[f"sources.{name}.timeout"]),
                    sp[f"sources.{name}.topic"],
                )
            )
        prios = [s.priority for s, _ in sources]
        if len(set(prios)) != len(prios):
            raise ParameterError("sources.*.priority", prios, "priorities must be distinct")
        heartbeats = []
        for name in p["heartbeat_names"]:
            hp = declare_params(
                self,
                [
                    ParamSpec(
                        f"heartbeats.{name}.topic",
                        "",
                        "topic whose messages are the heartbeat",
                        check=lambda v: None if v else "must not be empty",
                    ),
                    ParamSpec(
                        f"heartbeats.{name}.type",
                        "",
                        "its message type, e.g. sensor_msgs/msg/Range",
                        check=_type_check,
                    ),
                    ParamSpec(
                        f"heartbeats.{name}.timeout",
                        1.0,
                        "lost when silent this long [s]",
                        min=0.0,
                        min_exclusive=True,
                    ),
                    ParamSpec(
                        f"heartbeats.{name}.blocks",
                        [],
                        "sources stopped when lost (empty: all)",
                        type=list,
                        item_type=str,
                        check=lambda v, names=p["source_names"]: (
                            None if all(b in names for b in v) else f"must name sources of {names}"
                        ),
                    ),
                ],
            )
            heartbeats.append(
                (
                    Heartbeat(
                        name,
                        hp[f"heartbeats.{name}.timeout"],
                        tuple(hp[f"heartbeats.{name}.blocks"]),
                    ),
                    hp[f"heartbeats.{name}.topic"],
                    hp[f"heartbeats.{name}.type"],
                )
            )
        cfg = SafetyConfig(
            max_linear=p["max_linear"],
            max_angular=p["max_angular"],
            obstacle_distance=p["obstacle_distance"],
            obstacle_hysteresis=p["obstacle_hysteresis"],
            range_timeout=p["range_timeout"],
        )
        self.logic = SafetyLogic(cfg, [s for s, _ in sources], [h for h, _, _ in heartbeats])
        self.rejects = RejectCounter(log=self.get_logger().warning)

        self.pub = self.create_publisher(Twist, "cmd_vel", qos.COMMANDS)
        self.estop_pub = self.create_publisher(Bool, "estop", qos.LATCHED)
        self.state_pub = self.create_publisher(String, "safety/state", qos.LATCHED)
        for src, topic in sources:
            self.create_subscription(
                Twist, topic, lambda m, n=src.name: self._on_cmd(n, m), qos.COMMANDS
            )
        for hb, topic, type_name in heartbeats:
            self.create_subscription(
                get_message_class(type_name),
                topic,
                lambda _m, n=hb.name: self.logic.on_heartbeat(time.monotonic(), n),
                qos.SENSOR_DATA,
            )
        self.create_subscription(Range, "sonar/range", self._on_range, qos.SENSOR_DATA)
        self.create_service(SetBool, "estop", self._on_estop)
        engaged = p["estop_on_start"]
        if p["estop_state_file"]:
            latched, note = estop_latch.read(p["estop_state_file"])
            (self.get_logger().warning if latched else self.get_logger().info)(note)
            engaged = engaged or bool(latched)
        self.logic.set_estop(time.monotonic(), engaged)
        self._save_estop("start")
        self._publish_estop()
        self._last_key = None
        self._last_state_pub = 0.0
        self.out = self.logic.step(time.monotonic())
        self.diag = Diagnostics(self, hardware_id="safety")
        self.diag.add("safety", self._diag)
        self.create_timer(1.0 / p["rate_hz"], self._tick)
        self.get_logger().info(
            f"safety monitor ready: sources {[(s.name, s.priority, t) for s, t in sources]}, "
            f"heartbeats {[(h.name, t) for h, t, _ in heartbeats]}"
        )

    # -- inputs ---------------------------------------------------------------------------
    def _on_cmd(self, name: str, msg: Twist) -> None:
        why = self.logic.on_command(time.monotonic(), name, msg.linear.x, msg.angular.z)
        if why:
            self.rejects.reject(why, f"{name}: linear.x={msg.linear.x} angular.z={msg.angular.z}")

    def _on_range(self, msg: Range) -> None:
        max_r = msg.max_range if msg.max_range > 0 and math.isfinite(msg.max_range) else math.inf
        why = self.logic.on_range(time.monotonic(), msg.range, max(0.0, msg.min_range), max_r)
        if why:
            self.rejects.reject(why, f"sonar/range = {msg.range}")

    def _on_estop(self, req, resp):
        was = self.logic.estop
        self.logic.set_estop(time.monotonic(), req.data)
        if was != req.data:
            self.get_logger().warning("E-STOP ENGAGED" if req.data else "e-stop released")
        self._save_estop("service")
        self._publish_estop()
        self._tick()  # zero goes out now, not at the next tick
        resp.success = True
        resp.message = "engaged" if req.data else "released"
        return resp

    def _save_estop(self, by: str) -> None:
        path = self.p["estop_state_file"]
        if path:
            try:
                estop_latch.write(path, self.logic.estop, by)
            except OSError as e:
                self.rejects.reject("estop_state_file", f"cannot write {path}: {e}")

    def _publish_estop(self) -> None:
        self.estop_pub.publish(Bool(data=self.logic.estop))

    # -- output ---------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.monotonic()
        out = self.logic.step(now)
        self.out = out
        t = Twist()
        t.linear.x, t.angular.z = out.v, out.w
        self.pub.publish(t)
        key = (out.state, out.source, tuple(r.split(" ")[0] for r in out.reasons))
        if key != self._last_key or now - self._last_state_pub >= 1.0:
            if key != self._last_key and out.reasons and out.state in (STOPPED, LIMITED):
                self.get_logger().warning(f"{out.state}: {'; '.join(out.reasons)}")
            self._last_key, self._last_state_pub = key, now
            self.state_pub.publish(
                String(
                    data=json.dumps(
                        {
                            "state": out.state,
                            "source": out.source,
                            "reasons": out.reasons,
                            "estop": self.logic.estop,
                        }
                    )
                )
            )

    def _diag(self):
        out = self.out
        level = {ACTIVE: OK, IDLE: OK, LIMITED: WARN, STOPPED: WARN}[out.state]
        if any(r.startswith("heartbeat_lost") for r in out.reasons):
            level = ERROR
        msg = out.state + (f" ({out.source})" if out.source else "")
        if out.reasons:
            msg += ": " + "; ".join(out.reasons)
        values = {
            "state": out.state,
            "source": out.source,
            "estop": self.logic.estop,
            "reasons": "; ".join(out.reasons),
            "last_stop_reason": self.logic.last_stop_reason,
            "range_m": self.logic.range if self.logic.range is not None else "none",
            "rejected_total": self.rejects.total,
        }
        for k, n in self.logic.stop_counts.items():
            values[f"stops.{k}"] = n
        for k, n in self.rejects.as_dict().items():
            values[f"rejected.{k}"] = n
        return level, msg, values

    def shutdown(self) -> None:
        try:
            self.pub.publish(Twist())  # a last zero for whoever listens
        except Exception:
            pass


def _type_check(v):
    try:
        get_message_class(v)
    except ValueError as e:
        return str(e)
    return None


def main(args=None):
    run_node(SafetyMonitor, args)


if __name__ == "__main__":
    main()
