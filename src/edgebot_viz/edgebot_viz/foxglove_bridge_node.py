"""foxglove_bridge: the ROS graph on a Foxglove WebSocket server (foxglove-sdk), in Python.

- Every topic matching ``topic_allowlist`` (and no ``topic_denylist`` pattern) that has a
  publisher is advertised as a channel with schema encoding ``ros2msg`` (the ``.msg`` text with
  its dependencies) and message encoding ``cdr``.
- The first client subscribing to a channel creates a *raw* ROS subscription (serialized bytes,
  never deserialized) whose bytes are passed through; the last unsubscribe destroys it.
- Per-topic maximum rates (``max_rate_hz``, ``topic_rates``) drop messages before they are
  queued; each client's send queue holds at most ``send_buffer_messages`` data messages, the
  oldest is dropped for a slow client (memory stays bounded).
- Clients may publish (``clientPublish``, encoding ``cdr``) only to topics matching
  ``client_publish_allowlist``; refused or malformed data gets a status error, nothing crashes.
- With ``robot_description_file`` the URDF is published on ``robot_description`` (latched
  std_msgs/String, relayed like any topic) and ``foxglove.FrameTransforms`` (JSON) are sent on
  ``transforms_channel``: the URDF joints (fixed, and moving ones from ``joint_states_topic``)
  plus ``odom`` -> ``base_link`` from ``odom_topic``. That is what the 3D panel needs without tf2.
"""
from __future__ import annotations

import json
import pathlib
import threading
import time

import foxglove
from foxglove import Channel, Context, Schema
from foxglove.websocket import Capability
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from edgebot_common import qos as Q
from edgebot_common.diagnostics import OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter, Throttle

from . import msgdefs
from .filters import RateLimiter, TopicFilter, check_patterns, check_rate_rules, parse_rate_rules, rate_for
from .ros_util import is_latched, message_class, subscription_qos
from .urdf_tf import (FRAME_TRANSFORMS_SCHEMA, RobotTransforms, UrdfError, frame_transforms_json,
                      odometry_transform)

SPECS = [
    ParamSpec("address", "127.0.0.1", "interface to listen on (0.0.0.0: every interface)"),
    ParamSpec("port", 8765, "WebSocket port (0: any free port, printed at startup)", min=0, max=65535),
    ParamSpec("server_name", "edgebot", "name shown by the Foxglove app"),
    ParamSpec("topic_allowlist", [".*"], "topics advertised (regexes, fully qualified names)",
              item_type=str, check=check_patterns),
    ParamSpec("topic_denylist", ["/parameter_events"], "topics never advertised (regexes)",
              item_type=str, check=check_patterns),
    ParamSpec("max_rate_hz", 0.0, "default per-topic maximum rate sent to clients (0 = unlimited)",
              min=0.0),
    ParamSpec("topic_rates", [""], "per-topic maximum rates '<regex>=<Hz>', first match wins",
              item_type=str, check=lambda v: check_rate_rules([r for r in v if r])),
    ParamSpec("send_buffer_messages", 64, "per-client queue of data messages; the oldest is "
              "dropped when a slow client falls behind", min=1, max=100000),
    ParamSpec("client_publish_allowlist", [".*/teleop/cmd_vel"], "topics clients may publish "
              "to (regexes); empty list: client publishing off", item_type=str, check=check_patterns),
    ParamSpec("discovery_period_s", 1.0, "how often the topic list is polled", min=0.05, max=60.0),
    ParamSpec("time_rate_hz", 10.0, "rate of server time messages (the node's ROS clock, sim time "
              "under use_sim_time) for the app's clock; 0 = off", min=0.0, max=1000.0),
    ParamSpec("robot_description_file", "", "URDF published on robot_description and used for "
              "the link transforms (empty: none)"),
    ParamSpec("transforms_channel", "/edgebot/transforms", "foxglove.FrameTransforms channel "
              "(empty: no transforms)"),
    ParamSpec("transforms_rate_hz", 20.0, "rate of the FrameTransforms messages", min=0.1, max=1000.0),
    ParamSpec("odom_topic", "odom", "nav_msgs/Odometry giving odom -> base_link"),
    ParamSpec("joint_states_topic", "wheel_states", "sensor_msgs/JointState for moving joints"),
]


class _Topic:
    """One advertised ROS topic."""

    def __init__(self, name: str, type_name: str, channel: Channel, limiter: RateLimiter):
        self.name = name
        self.type = type_name
        self.channel = channel
        self.limiter = limiter
        self.clients: set = set()
        self.sub = None
        self.latched = False
        self.last = None  # last message of a latched topic, re-sent to late subscribers
        self.relayed = 0


class _Listener:
    """The foxglove ServerListener: forwards the callbacks the bridge handles."""

    def __init__(self, bridge: "FoxgloveBridge"):
        self.on_subscribe = bridge.on_subscribe
        self.on_unsubscribe = bridge.on_unsubscribe
        self.on_client_advertise = bridge.on_client_advertise
        self.on_client_unadvertise = bridge.on_client_unadvertise
        self.on_message_data = bridge.on_message_data


class FoxgloveBridge(Node):
    NODE_NAME = "foxglove_bridge"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        self.p = p = declare_params(self, SPECS)
        self._filter = TopicFilter(p["topic_allowlist"], p["topic_denylist"])
        self._rates = parse_rate_rules([r for r in p["topic_rates"] if r])
        self._publish_filter = TopicFilter(p["client_publish_allowlist"])
        self._rejects = RejectCounter(log=self.get_logger().warning)
        self._lock = threading.RLock()
        self._topics = {}        # topic name -> _Topic
        self._by_channel = {}    # channel id -> _Topic
        self._skipped = set()
        self._client_pubs = {}   # (client id, client channel id) -> (topic, msg class, publisher) or None
        self._status_throttles = {}

        self._urdf = None
        self._robot = None
        if p["robot_description_file"]:
            path = pathlib.Path(p["robot_description_file"]).expanduser()
            try:
                self._urdf = path.read_text()
                self._robot = RobotTransforms(self._urdf)
            except OSError as e:
                raise ConfigError(f"parameter 'robot_description_file' = {str(path)!r}: {e.strerror}") from None
            except UrdfError as e:
                raise ConfigError(f"parameter 'robot_description_file' = {str(path)!r}: {e}") from None

        self.ctx = Context()
        caps = [Capability.ClientPublish] if p["client_publish_allowlist"] else []
        if p["time_rate_hz"] > 0:
            caps.append(Capability.Time)
        try:
            self.server = foxglove.start_server(
                name=p["server_name"], host=p["address"], port=p["port"], context=self.ctx,
                capabilities=caps, server_listener=_Listener(self), supported_encodings=["cdr"],
                message_backlog_size=p["send_buffer_messages"])
        except Exception as e:  # the SDK raises RuntimeError/OSError-like errors for a busy port
            raise ConfigError(f"cannot listen on {p['address']}:{p['port']}: {e}") from None

        if self._urdf is not None:
            self._desc_pub = self.create_publisher(String, "robot_description", Q.LATCHED)
            self._desc_pub.publish(String(data=self._urdf))
        self._odom_tf = None
        self._tf_channel = None
        if p["transforms_channel"]:
            self._tf_channel = Channel(
                p["transforms_channel"], context=self.ctx, message_encoding="json",
                schema=Schema(name="foxglove.FrameTransforms", encoding="jsonschema",
                              data=json.dumps(FRAME_TRANSFORMS_SCHEMA).encode()))
            if p["odom_topic"]:
                self.create_subscription(Odometry, p["odom_topic"], self._on_odom, Q.SENSOR_DATA)
            if p["joint_states_topic"] and self._robot is not None:
                self.create_subscription(JointState, p["joint_states_topic"], self._on_joints,
                                         Q.SENSOR_DATA)
            self.create_timer(1.0 / p["transforms_rate_hz"], self._send_transforms)

        if p["time_rate_hz"] > 0:
            self.create_timer(1.0 / p["time_rate_hz"], self._send_time)

        self.diag = Diagnostics(self, hardware_id=f"ws://{p['address']}:{self.server.port}")
        self.diag.add("bridge", self._diag)
        self.create_timer(p["discovery_period_s"], self._discover)
        self._discover()
        self.get_logger().info(
            f"Foxglove bridge listening on ws://{p['address']}:{self.server.port}")

    # -- discovery -----------------------------------------------------------------------
    def _discover(self) -> None:
        seen = set()
        for topic, types in self.get_topic_names_and_types():
            if not self._filter.allowed(topic) or topic in self._skipped:
                continue
            if self.count_publishers(topic) == 0:
                continue
            seen.add(topic)
            if topic not in self._topics:
                self._advertise(topic, types[0])
        with self._lock:
            gone = [t for t in self._topics if t not in seen and t not in self._skipped]
        for topic in gone:
            self._unadvertise(topic)

    def _advertise(self, topic: str, type_name: str) -> None:
        try:
            definition = msgdefs.ros2msg_definition(type_name)
            message_class(type_name)
        except (msgdefs.UnknownMessageType, LookupError) as e:
            self._skipped.add(topic)
            self._rejects.reject("unknown_type", f"not advertising {topic}: {e}")
            return
        channel = Channel(topic, context=self.ctx, message_encoding="cdr",
                          schema=Schema(name=msgdefs.full_name(type_name), encoding="ros2msg",
                                        data=definition.encode()))
        hz = rate_for(topic, self._rates, self.p["max_rate_hz"])
        with self._lock:
            t = _Topic(topic, msgdefs.full_name(type_name), channel, RateLimiter(hz))
            self._topics[topic] = t
            self._by_channel[channel.id()] = t
        self.get_logger().info(f"advertising {topic} [{t.type}]" + (f" at most {hz:g} Hz" if hz else ""))

    def _unadvertise(self, topic: str) -> None:
        with self._lock:
            t = self._topics.pop(topic, None)
            if t is None:
                return
            self._by_channel.pop(t.channel.id(), None)
            sub, t.sub = t.sub, None
        if sub is not None:
            self.destroy_subscription(sub)
        t.channel.close()
        self.get_logger().info(f"unadvertised {topic} (no publishers)")

    # -- server listener (called from the server's thread) -------------------------------
    def on_subscribe(self, client, channel) -> None:
        with self._lock:
            t = self._by_channel.get(channel.id)
            if t is None:
                return  # one of our own channels (transforms): nothing to subscribe in ROS
            t.clients.add(client.id)
            if t.sub is None:
                t.latched = is_latched(self, t.name)
                t.sub = self.create_subscription(
                    message_class(t.type), t.name, lambda data, tt=t: self._on_ros(tt, data),
                    subscription_qos(self, t.name), raw=True)
            elif t.latched and t.last is not None:
                t.channel.log(t.last, log_time=self.get_clock().now().nanoseconds)

    def on_unsubscribe(self, client, channel) -> None:
        sub = None
        with self._lock:
            t = self._by_channel.get(channel.id)
            if t is None:
                return
            t.clients.discard(client.id)
            if not t.clients and t.sub is not None:
                sub, t.sub = t.sub, None
                t.last = None
        if sub is not None:
            self.destroy_subscription(sub)

    def on_client_advertise(self, client, channel) -> None:
        key = (client.id, channel.id)
        topic = channel.topic if channel.topic.startswith("/") else "/" + channel.topic
        refusal = None
        if not self._publish_filter.allowed(topic):
            refusal = f"client publish to {topic} refused: not in client_publish_allowlist"
        elif channel.encoding != "cdr":
            refusal = f"client publish to {topic} refused: encoding {channel.encoding!r}, only 'cdr'"
        else:
            try:
                cls = message_class(channel.schema_name)
            except LookupError as e:
                refusal = f"client publish to {topic} refused: {e}"
            else:
                want = msgdefs.full_name(channel.schema_name)
                for name, types in self.get_topic_names_and_types():
                    if name == topic and want not in types:
                        refusal = (f"client publish to {topic} refused: type {want} but the topic "
                                   f"has {types}")
        if refusal:
            with self._lock:
                self._client_pubs[key] = None
            self._status_error(key, refusal)
            return
        pub = self.create_publisher(cls, topic, Q.COMMANDS)
        with self._lock:
            self._client_pubs[key] = (topic, cls, pub)
        self.get_logger().info(f"client {client.id} publishes {topic} [{channel.schema_name}]")

    def on_client_unadvertise(self, client, client_channel_id) -> None:
        """Also called for each advertised channel when a client disconnects."""
        key = (client.id, client_channel_id)
        with self._lock:
            entry = self._client_pubs.pop(key, None)
            for k in [k for k in self._status_throttles if k[0] == key]:
                del self._status_throttles[k]
        if entry is not None:
            self.destroy_publisher(entry[2])

    def on_message_data(self, client, client_channel_id, data) -> None:
        key = (client.id, client_channel_id)
        with self._lock:
            entry = self._client_pubs.get(key)
        if entry is None:
            self._status_error(key, f"client {client.id} channel {client_channel_id}: publishing "
                                    "refused (see earlier status), message dropped", "refused_publish")
            return
        topic, cls, pub = entry
        try:
            deserialize_message(bytes(data), cls)  # validate before it reaches any subscriber
        except Exception as e:
            self._status_error(key, f"malformed {cls.__module__.split('.')[0]}/{cls.__name__} "
                                    f"message for {topic} dropped: {e}", "malformed_publish")
            return
        pub.publish(bytes(data))

    def _status_error(self, key, message: str, reason: str = "refused_advertise") -> None:
        self._rejects.reject(reason, message)
        with self._lock:
            th = self._status_throttles.setdefault((key, reason), Throttle(2.0))
        if th.ready():
            self.server.publish_status(message, foxglove.StatusLevel.Error, None)

    # -- data ----------------------------------------------------------------------------
    def _on_ros(self, t: _Topic, data: bytes) -> None:
        if t.latched:
            t.last = data
        if not t.limiter.allow(time.monotonic()):
            return
        t.channel.log(data, log_time=self.get_clock().now().nanoseconds)
        t.relayed += 1

    def _on_odom(self, msg: Odometry) -> None:
        p, o = msg.pose.pose.position, msg.pose.pose.orientation
        tf = odometry_transform(msg.header.frame_id, msg.child_frame_id, (p.x, p.y, p.z),
                                (o.x, o.y, o.z, o.w))
        if tf is None:
            self._rejects.reject("bad_odometry", "odometry with empty frames or non-finite pose")
            return
        self._odom_tf = tf

    def _on_joints(self, msg: JointState) -> None:
        self._robot.update_joint_states(list(msg.name), list(msg.position))

    def _send_transforms(self) -> None:
        tfs = list(self._robot.transforms()) if self._robot is not None else []
        if self._odom_tf is not None:
            tfs.append(self._odom_tf)
        if tfs:
            now = self.get_clock().now().nanoseconds
            self._tf_channel.log(frame_transforms_json(tfs, now), log_time=now)

    def _send_time(self) -> None:
        self.server.broadcast_time(self.get_clock().now().nanoseconds)

    # -- lifecycle -----------------------------------------------------------------------
    def _diag(self):
        with self._lock:
            topics = list(self._topics.values())
        values = {
            "port": self.server.port,
            "channels": len(topics),
            "ros_subscriptions": sum(1 for t in topics if t.sub is not None),
            "relayed": sum(t.relayed for t in topics),
            "throttled": sum(t.limiter.dropped for t in topics),
            "client_publishers": sum(1 for v in self._client_pubs.values() if v),
            "rejected": self._rejects.total,
            "skipped_topics": len(self._skipped),
        }
        if self._rejects.total:
            return WARN, "serving; rejected client input (see log)", values
        return OK, "serving", values

    def shutdown(self) -> None:
        try:
            self.server.stop()
        except Exception:
            pass


def main(args=None):
    run_node(FoxgloveBridge, args)


if __name__ == "__main__":
    main()
