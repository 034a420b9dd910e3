"""safety_monitor: the one node that publishes ``cmd_vel``.

Picks the highest-priority fresh velocity source (``teleop/cmd_vel`` > ``follower/cmd_vel`` by
default, each with its own timeout), holds zero under e-stop (service ``estop``, latched topic
``estop``) and while a supervised heartbeat topic is silent, removes forward motion while the
sonar sees an obstacle. With every ``cmd_vel`` it publishes ``safety/authority`` (Bool): false
while no source may drive (idle, e-stop, lost heartbeat), so base_controller brakes at its
emergency deceleration. Logic in :mod:`edgebot_control.safety` and
:mod:`edgebot_control.safety_setup`.
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
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import estop_latch
from .safety import SafetyLogic
from .safety_setup import SPECS, StateReporter, diag_report, load

LEVELS = {"ok": OK, "warn": WARN, "error": ERROR}


class SafetyMonitor(Node):
    NODE_NAME = "safety_monitor"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        p = declare_params(self, SPECS)
        self.p = p
        setup = load(p, lambda specs: declare_params(self, specs))
        self.logic = SafetyLogic(
            setup.cfg, [s for s, _ in setup.sources], [h for h, _, _ in setup.heartbeats]
        )
        self.rejects = RejectCounter(log=self.get_logger().warning)

        self.pub = self.create_publisher(Twist, "cmd_vel", qos.COMMANDS)
        self.estop_pub = self.create_publisher(Bool, "estop", qos.LATCHED)
        self.auth_pub = self.create_publisher(Bool, "safety/authority", qos.COMMANDS)
        self.state_pub = self.create_publisher(String, "safety/state", qos.LATCHED)
        for src, topic in setup.sources:
            self.create_subscription(
                Twist, topic, lambda m, n=src.name: self._on_cmd(n, m), qos.COMMANDS
            )
        for hb, topic, type_name in setup.heartbeats:
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
        self.reporter = StateReporter()
        self.out = self.logic.step(time.monotonic())
        self.diag = Diagnostics(self, hardware_id="safety")
        self.diag.add("safety", self._diag)
        self.create_timer(1.0 / p["rate_hz"], self._tick)
        self.get_logger().info(f"safety monitor ready: {setup.summary()}")

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
        self.auth_pub.publish(Bool(data=out.authority))
        state, warn = self.reporter.update(now, out, self.logic.estop)
        if warn:
            self.get_logger().warning(warn)
        if state is not None:
            self.state_pub.publish(String(data=json.dumps(state)))

    def _diag(self):
        level, msg, values = diag_report(
            self.out, self.logic, self.rejects.as_dict(), self.rejects.total
        )
        return LEVELS[level], msg, values

    def shutdown(self) -> None:
        try:
            self.pub.publish(Twist())  # a last zero for whoever listens
            self.auth_pub.publish(Bool(data=False))
        except Exception:
            pass


def main(args=None):
    run_node(SafetyMonitor, args)


if __name__ == "__main__":
    main()
