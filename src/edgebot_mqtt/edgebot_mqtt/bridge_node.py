"""mqtt_bridge: the ROS glue around the ROS-free parts (config, telemetry, inbound, link, spool).
See the package README for topics and parameters.

Extensions (e.g. Home Assistant discovery) plug in through the link: ``link.add_subscription``
(topic filter + handler) and ``link.add_on_connect`` (run after every connect), registered in
:meth:`MqttBridge._extensions` before the link starts."""

from __future__ import annotations

import copy
import json

from rclpy.exceptions import InvalidHandle
from rclpy.node import Node
from std_msgs.msg import String

from edgebot_common import qos as Q
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.msg_dict import get_message_class
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import config as C
from . import encoding
from .errors import ErrorReports
from .inbound import Inbound
from .link import MqttLink
from .node_config import SPECS, overrides
from .spool import Spool
from .telemetry import Route, Telemetry

#: messages one subscription callback handles at most: the one the executor took, then what is
#: already waiting in the same reader's queue (in order), without a wait-set round trip each
DRAIN_MAX = 64


class MqttBridge(Node):
    NODE_NAME = "mqtt_bridge"

    def __init__(self):
        super().__init__("mqtt_bridge")
        p = declare_params(self, SPECS)
        try:
            self.cfg = cfg = C.load(p["config"], overrides(p))
        except C.ConfigError as e:
            raise ConfigError(str(e)) from None
        log = self.get_logger()
        for note in cfg.notes:
            log.warning(note)
        self.embedded = None
        if cfg.broker.embedded:
            from .embedded_broker import EmbeddedBroker

            host = cfg.broker.host if cfg.broker.host not in ("localhost", "") else "127.0.0.1"
            # 0 = a free port; the mapping's 1883 is never assumed free
            self.embedded = EmbeddedBroker(host, p["broker.port"]).start()
            cfg.broker.host, cfg.broker.port = host, self.embedded.port
            log.info(f"embedded MQTT broker on {host}:{self.embedded.port}")
        self.rejects = RejectCounter(log=log.warning, period_s=5.0)
        self.errors = ErrorReports(cfg.limits.error_period)
        self.spool = Spool(
            cfg.spool.path, cfg.spool.max_bytes, cfg.spool.max_messages, cfg.spool.max_age
        )
        if self.spool.recovered:
            log.info(
                f"spool {cfg.spool.path}: {self.spool.recovered} message(s) "
                "from a previous run will be replayed"
            )
        self.stats_pub = self.create_publisher(String, "mqtt/stats", Q.RELIABLE)
        self.errors_pub = self.create_publisher(String, "mqtt/errors", Q.RELIABLE)

        # cloud -> robot
        # (every inbound route takes this one path: the Home Assistant switch and button are
        # service routes in cfg.services, see ha_discovery.ha_command_routes)
        self.inbound = Inbound(cfg, self._reject, lambda *a, **k: self.link.publish_now(*a, **k))
        for r in cfg.commands:
            cls = get_message_class(r.type)
            self.inbound.add_command(
                r, cls, self.create_publisher(cls, r.ros_topic, Q.COMMANDS).publish
            )
        for r in cfg.services:
            cls = get_message_class(r.type)
            self.inbound.add_service(r, cls, self.create_client(cls, r.service))
        self.link = MqttLink(
            cfg.broker,
            cfg.limits,
            self.spool,
            cfg.status_topic,
            self.inbound.subscriptions(),
            on_message=self.inbound.on_mqtt,
            log=log.info,
        )

        # robot -> cloud
        self.telemetry = Telemetry(self.link, self.rejects.reject)
        for r in cfg.telemetry:
            cls = get_message_class(r.type)
            rt = self.telemetry.add(r, cls)
            # the named profile, with a deeper history: a burst must wait in the reader's queue
            # rather than overwrite samples the bridge has not taken yet
            profile = copy.copy(Q.by_name(r.ros_qos))
            profile.depth = r.ros_depth
            rt.sub = self.create_subscription(
                cls,
                r.ros_topic,
                lambda m, rt=rt: self._on_ros(rt, m),
                profile,
                raw=(r.encoding == "cdr"),
            )
        if self.telemetry.batching:
            self.create_timer(0.02, self.telemetry.flush_due)
        if cfg.services:
            self.create_timer(0.2, self.inbound.calls.expire)
        self.create_timer(min(0.25, cfg.limits.error_period / 4), self._send_errors)
        self._extensions()

        self.diag = Diagnostics(
            self,
            hardware_id=f"mqtt://{cfg.broker.host}:{cfg.broker.port}",
            period_s=p["stats_period"],
        )
        self.diag.add("connection", self._diag)
        self.create_timer(p["stats_period"], self._publish_stats)
        self.link.start()
        log.info(
            f"bridging {len(cfg.telemetry)} telemetry route(s), {len(cfg.commands)} "
            f"command(s), {len(cfg.services)} service(s) to {cfg.broker.host}:"
            f"{cfg.broker.port} (robot_id {cfg.robot_id}, spool {cfg.spool.path})"
        )

    def _extensions(self) -> None:
        """The seam for optional features: register on ``self.link`` (subscriptions with their
        handlers, on-connect hooks) before it starts."""
        self.ha = None
        h = self.cfg.home_assistant
        if h.enabled or h.remove:  # Home Assistant discovery (ha_extension.py)
            from .ha_extension import attach

            self.ha = attach(self)

    # -- robot -> cloud ------------------------------------------------------------------------
    def _on_ros(self, rt: Route, msg) -> None:
        """Subscription callback: this message, then those already queued behind it."""
        self.telemetry.handle(rt, msg)
        sub = rt.sub
        if sub is None:
            return
        for _ in range(DRAIN_MAX - 1):
            try:
                with sub.handle:
                    taken = sub.handle.take_message(sub.msg_type, sub.raw)
            except InvalidHandle:  # destroyed (shutting down)
                return
            if taken is None:
                return
            self.telemetry.handle(rt, taken[0])

    # -- cloud -> robot ------------------------------------------------------------------------
    def _reject(self, topic: str, reason: str, detail: str) -> None:
        """Counted (and logged, throttled) at once; reported in aggregated error reports."""
        self.rejects.reject(reason, f"{topic}: {detail}")
        self.errors.add(topic, reason, detail)
        self._send_errors()

    def _send_errors(self) -> None:
        """The error report due now, if the broker can take it (else it keeps collecting)."""
        if not self.link.connected:
            return
        report = self.errors.take()
        if report is None:
            return
        text = encoding.dumps(report)
        self.errors_pub.publish(String(data=text))
        self.link.publish_now(self.cfg.errors_topic, text.encode(), qos=0)

    # -- status --------------------------------------------------------------------------------
    def stats(self) -> dict:
        s = self.link.stats()
        s.update(self.telemetry.stats())
        s["commands_accepted"] = self.inbound.accepted
        s["rejected"] = self.rejects.total
        s["rejected_by_reason"] = self.rejects.as_dict()
        s["error_reports"] = self.errors.reports
        s["errors_pending"] = self.errors.pending()
        return s

    def _publish_stats(self) -> None:
        self.stats_pub.publish(String(data=json.dumps(self.stats())))

    def _diag(self):
        s = self.stats()
        values = {k: v for k, v in s.items() if not isinstance(v, dict)}
        for k, v in s["rejected_by_reason"].items():
            values[f"rejected_{k}"] = v
        conn = s["connection"]
        values.update(last_error=conn["last_error"], connected_since=conn["since"])
        if not s["connected"]:
            return ERROR, f"not connected: {conn['last_error'] or s['state']}", values
        if s["spooled"] > self.cfg.limits.max_inflight:
            return WARN, f"connected, {s['spooled']} message(s) spooled", values
        return OK, "connected", values

    def shutdown(self) -> None:
        try:
            self.telemetry.flush_due(force=True)
        except Exception:
            pass
        self.link.stop()
        self.spool.close()
        if self.embedded is not None:
            self.embedded.stop()


def main(args=None):
    run_node(MqttBridge, args)


if __name__ == "__main__":
    main()
