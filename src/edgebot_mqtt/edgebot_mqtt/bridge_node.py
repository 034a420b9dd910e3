"""mqtt_bridge: the thin ROS node around the ROS-free parts (config, encoding, commands, spool,
link). See the package README for topics and parameters."""
from __future__ import annotations

import copy
import itertools
import json
import threading
import time

from rclpy.exceptions import InvalidHandle
from rclpy.node import Node
from std_msgs.msg import String

from edgebot_common import msgconv
from edgebot_common import qos as Q
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.msg_dict import get_message_class, to_dict
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import config as C
from . import encoding, images
from .commands import Rejected, Validator
from .link import MqttLink
from .ratelimit import Decimator
from .spool import Spool

#: messages one subscription callback handles at most: the one the executor took, then what is
#: already waiting in the same reader's queue (in order), without a wait-set round trip each
DRAIN_MAX = 64

SPECS = [
    ParamSpec("config", "", "bridge mapping YAML (telemetry, commands, services, broker, spool); "
              "empty = defaults + the parameters below"),
    ParamSpec("profile", "", "broker profile: generic, aws_iot (config/mqtt/<name>.yaml next to "
              "the mapping) or a path; empty = the mapping's own 'profile'"),
    ParamSpec("robot_id", "", "fills {robot_id} in MQTT topics; empty = the mapping's"),
    ParamSpec("broker.host", "", "broker host; empty = from the mapping"),
    ParamSpec("broker.port", 0, "broker port; 0 = from the mapping (embedded: a free port)",
              min=0, max=65535),
    ParamSpec("broker.embedded", False, "start an embedded amqtt broker (MQTT 3.1.1, plain TCP) "
              "in this process and connect to it"),
    ParamSpec("broker.transport", "", "tcp or websockets; empty = from the mapping",
              choices=["", "tcp", "websockets"]),
    ParamSpec("broker.username", "", "empty = from the mapping"),
    ParamSpec("broker.password", "", "empty = from the mapping"),
    ParamSpec("broker.tls.ca_file", "", "CA bundle (PEM); setting it enables TLS"),
    ParamSpec("broker.tls.cert_file", "", "client certificate (PEM) for mutual TLS"),
    ParamSpec("broker.tls.key_file", "", "client key (PEM) for mutual TLS"),
    ParamSpec("spool.path", "", "SQLite spool file; empty = from the mapping"),
    ParamSpec("stats_period", 1.0, "period of mqtt/stats and diagnostics [s]", min=0.05, max=60.0),
]


def _overrides(p: dict) -> dict:
    o: dict = {}
    if p["profile"]:
        o["profile"] = p["profile"]
    if p["robot_id"]:
        o["robot_id"] = p["robot_id"]
    b: dict = {}
    for key in ("host", "transport", "username", "password"):
        if p[f"broker.{key}"]:
            b[key] = p[f"broker.{key}"]
    if p["broker.port"]:
        b["port"] = p["broker.port"]
    if p["broker.embedded"]:
        b["embedded"] = True
    tls = {k: p[f"broker.tls.{k}"] for k in ("ca_file", "cert_file", "key_file")
           if p[f"broker.tls.{k}"]}
    if tls:
        tls["enabled"] = True
        b["tls"] = tls
    if b:
        o["broker"] = b
    if p["spool.path"]:
        o["spool"] = {"path": p["spool.path"]}
    return o


class _Route:
    def __init__(self, route: C.TelemetryRoute, cls=None):
        self.r = route
        self.decimator = Decimator(route.max_rate)
        self.batcher = (encoding.Batcher(route.batch_max_messages, route.batch_max_delay)
                        if route.batch_max_messages > 1 else None)
        self.received = 0
        self.sub = None
        # message -> dict, compiled once for the type; with ``fields`` only the top-level
        # fields they go through (+ header, for the stamp) are converted
        self.convert = None
        if cls is not None and route.encoding != "cdr" and not route.image_max_width:
            only = msgconv.top_level(list(route.fields) + ["header"]) if route.fields else None
            self.convert = msgconv.converter(cls, only)


class MqttBridge(Node):
    NODE_NAME = "mqtt_bridge"

    def __init__(self):
        super().__init__("mqtt_bridge")
        p = declare_params(self, SPECS)
        try:
            self.cfg = C.load(p["config"], _overrides(p))
        except C.ConfigError as e:
            raise ConfigError(str(e)) from None
        cfg = self.cfg
        for note in cfg.notes:
            self.get_logger().warning(note)
        self.embedded = None
        if cfg.broker.embedded:
            from .embedded_broker import EmbeddedBroker
            host = cfg.broker.host if cfg.broker.host not in ("localhost", "") else "127.0.0.1"
            port = p["broker.port"]  # 0 = a free port; the mapping's 1883 is never assumed free
            self.embedded = EmbeddedBroker(host, port).start()
            cfg.broker.host, cfg.broker.port = host, self.embedded.port
            self.get_logger().info(f"embedded MQTT broker on {host}:{self.embedded.port}")
        self.rejects = RejectCounter(log=self.get_logger().warning, period_s=5.0)
        self._lock = threading.Lock()
        self.accepted = 0
        self.spool = Spool(cfg.spool.path, cfg.spool.max_bytes, cfg.spool.max_messages,
                           cfg.spool.max_age)
        if self.spool.recovered:
            self.get_logger().info(f"spool {cfg.spool.path}: {self.spool.recovered} message(s) "
                                   "from a previous run will be replayed")

        self.stats_pub = self.create_publisher(String, "mqtt/stats", Q.RELIABLE)
        self.errors_pub = self.create_publisher(String, "mqtt/errors", Q.RELIABLE)

        # cloud -> robot
        self.cmd = {}
        for r in cfg.commands:
            cls = get_message_class(r.type)
            pub = self.create_publisher(cls, r.ros_topic, Q.COMMANDS)
            self.cmd[r.mqtt_topic] = (r, Validator(cls, r.required, r.ranges, r.max_size, r.max_rate), pub)
        self.srv = {}
        self._pending = {}
        self._request_ids = itertools.count(1)
        for r in cfg.services:
            cls = get_message_class(r.type)
            client = self.create_client(cls, r.service)
            self.srv[r.mqtt_topic] = (r, Validator(cls.Request, r.required, r.ranges, r.max_size,
                                                   r.max_rate), client)
        subs = []
        if cfg.command_filter:
            subs.append((cfg.command_filter, 1))
        for t in list(self.cmd) + list(self.srv):
            if not (cfg.command_filter and _matches(cfg.command_filter, t)):
                subs.append((t, 1))

        self.link = MqttLink(cfg.broker, cfg.limits, self.spool, cfg.status_topic, subs,
                             on_message=self._on_mqtt, log=self.get_logger().info)

        # robot -> cloud
        self.routes = []
        for r in cfg.telemetry:
            cls = get_message_class(r.type)
            route = _Route(r, cls)
            # the named profile, with a deeper history: a burst must wait in the reader's queue
            # rather than overwrite samples the bridge has not taken yet
            profile = copy.copy(Q.by_name(r.ros_qos))
            profile.depth = r.ros_depth
            route.sub = self.create_subscription(
                cls, r.ros_topic, lambda m, rt=route: self._on_ros(rt, m), profile,
                raw=(r.encoding == "cdr"))
            self.routes.append(route)
        if any(rt.batcher for rt in self.routes):
            self.create_timer(0.02, self._flush_due)
        if self._pending is not None and self.srv:
            self.create_timer(0.2, self._expire_requests)

        self.diag = Diagnostics(self, hardware_id=f"mqtt://{cfg.broker.host}:{cfg.broker.port}",
                                period_s=p["stats_period"])
        self.diag.add("connection", self._diag)
        self.create_timer(p["stats_period"], self._publish_stats)
        self.link.start()
        self.get_logger().info(
            f"bridging {len(self.routes)} telemetry route(s), {len(self.cmd)} command(s), "
            f"{len(self.srv)} service(s) to {cfg.broker.host}:{cfg.broker.port} "
            f"(robot_id {cfg.robot_id}, spool {cfg.spool.path})")

    # -- robot -> cloud ------------------------------------------------------------------------
    def _on_ros(self, rt: _Route, msg) -> None:
        """Subscription callback: this message, then those already queued behind it."""
        self._on_message(rt, msg)
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
            self._on_message(rt, taken[0])

    def _on_message(self, rt: _Route, msg) -> None:
        rt.received += 1
        if not rt.decimator.allow():
            return
        r = rt.r
        if r.encoding == "cdr":
            raw = bytes(msg)
            self.link.send(r.mqtt_topic, lambda s: raw, qos=r.qos, retain=r.retain, seq_property=True)
            return
        if r.image_max_width:
            try:
                data = images.jpeg_summary(msg, to_dict(msg.header), r.image_max_width,
                                           r.image_quality)
            except images.ImageError as e:
                self.rejects.reject("bad_image", f"{r.ros_topic}: {e}")
                return
        else:
            data = rt.convert(msg, r.bytes)
        body = encoding.body(data, r.fields, stamp=None)
        if rt.batcher is None:
            self.link.send(r.mqtt_topic, lambda s: encoding.single(s[0], body), qos=r.qos,
                           retain=r.retain)
            return
        with self._lock:
            items = rt.batcher.add(body)
        if items:
            self._send_batch(rt, items)

    def _send_batch(self, rt: _Route, items) -> None:
        self.link.send(rt.r.mqtt_topic, lambda s: encoding.batch(s, items), count=len(items),
                       qos=rt.r.qos, retain=rt.r.retain)

    def _flush_due(self, force: bool = False) -> None:
        for rt in self.routes:
            if rt.batcher is None:
                continue
            with self._lock:
                items = rt.batcher.take() if (force or rt.batcher.due()) else []
            if items:
                self._send_batch(rt, items)

    # -- cloud -> robot ------------------------------------------------------------------------
    def _reject(self, topic: str, reason: str, detail: str) -> None:
        self.rejects.reject(reason, f"{topic}: {detail}")
        text = json.dumps({"topic": topic, "reason": reason, "detail": detail, "stamp": time.time()})
        self.errors_pub.publish(String(data=text))
        self.link.publish_now(self.cfg.errors_topic, text.encode(), qos=0)

    def _on_mqtt(self, m) -> None:
        entry = self.cmd.get(m.topic)
        if entry is not None:
            r, validator, pub = entry
            try:
                msg, _ = validator.validate(m.payload)
            except Rejected as e:
                self._reject(m.topic, e.reason, e.detail)
                return
            pub.publish(msg)
            with self._lock:
                self.accepted += 1
            return
        sentry = self.srv.get(m.topic)
        if sentry is not None:
            self._on_request(m, *sentry)
            return
        self._reject(m.topic, "unknown_topic", "not on the command allow-list")

    def _on_request(self, m, r: C.ServiceRoute, validator: Validator, client) -> None:
        props = getattr(m, "properties", None)
        resp_topic = getattr(props, "ResponseTopic", None) if props else None
        corr = getattr(props, "CorrelationData", None) if props else None
        if not resp_topic:
            self._reject(m.topic, "missing_field", "MQTT 5 ResponseTopic property is required")
            return
        try:
            req, _ = validator.validate(m.payload)
        except Rejected as e:
            self._reject(m.topic, e.reason, e.detail)
            self._respond(resp_topic, corr, {"ok": False, "error": f"{e.reason}: {e.detail}"})
            return
        if not client.service_is_ready():
            self._respond(resp_topic, corr, {"ok": False, "error": f"service {r.service} not available"})
            return
        with self._lock:
            self.accepted += 1
        # registered before the call: a fast service may answer before call_async returns
        key = next(self._request_ids)
        self._pending[key] = (None, time.monotonic() + r.timeout, resp_topic, corr, r.service)
        fut = client.call_async(req)
        item = self._pending.get(key)
        if item is not None:
            self._pending[key] = (fut,) + item[1:]

        def done(f, key=key):
            item = self._pending.pop(key, None)
            if item is None:
                return
            try:
                res = f.result()
                self._respond(item[2], item[3], {"ok": True, "response": to_dict(res, bytes_as="base64")})
            except Exception as e:
                self._respond(item[2], item[3], {"ok": False, "error": str(e)})
        fut.add_done_callback(done)

    def _expire_requests(self) -> None:
        now = time.monotonic()
        for key, (fut, deadline, topic, corr, name) in list(self._pending.items()):
            if now > deadline and self._pending.pop(key, None) is not None:
                if fut is not None:
                    fut.cancel()
                self._respond(topic, corr, {"ok": False, "error": f"service {name} timed out"})

    def _respond(self, topic: str, corr, body: dict) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        props = Properties(PacketTypes.PUBLISH)
        if corr is not None:
            props.CorrelationData = corr
        self.link.publish_now(topic, encoding.dumps(body).encode(), qos=1, properties=props)

    # -- status --------------------------------------------------------------------------------
    def stats(self) -> dict:
        s = self.link.stats()
        s["received"] = sum(rt.received for rt in self.routes)
        s["decimated"] = sum(rt.decimator.decimated for rt in self.routes)
        s["commands_accepted"] = self.accepted
        s["rejected"] = self.rejects.total
        s["rejected_by_reason"] = self.rejects.as_dict()
        return s

    def _publish_stats(self) -> None:
        self.stats_pub.publish(String(data=json.dumps(self.stats())))

    def _diag(self):
        s = self.stats()
        values = {k: v for k, v in s.items() if k != "rejected_by_reason"}
        for k, v in s["rejected_by_reason"].items():
            values[f"rejected_{k}"] = v
        if not s["connected"]:
            return ERROR, f"not connected: {s['last_error'] or s['state']}", values
        if s["spooled"] > self.cfg.limits.max_inflight:
            return WARN, f"connected, {s['spooled']} message(s) spooled", values
        return OK, "connected", values

    def shutdown(self) -> None:
        try:
            self._flush_due(force=True)
        except Exception:
            pass
        self.link.stop()
        self.spool.close()
        if self.embedded is not None:
            self.embedded.stop()


def _matches(filt: str, topic: str) -> bool:
    f, t = filt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


def main(args=None):
    run_node(MqttBridge, args)


if __name__ == "__main__":
    main()
