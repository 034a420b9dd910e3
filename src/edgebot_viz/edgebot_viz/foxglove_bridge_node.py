"""foxglove_bridge: the ROS graph on a Foxglove WebSocket server (foxglove-sdk), in Python.

- Every topic matching ``topic_allowlist`` (and no ``topic_denylist`` pattern) that has a
  publisher is advertised as a channel with schema encoding ``ros2msg`` (the ``.msg`` text with
  its dependencies) and message encoding ``cdr``.
- The first client subscribing to a channel creates a *raw* ROS subscription (serialized bytes,
  never deserialized) whose bytes are passed through; the last unsubscribe destroys it.
- Per-topic maximum rates (``max_rate``, ``topic_rates``) drop messages before they are
  queued; each client's send queue holds at most ``send_buffer_messages`` data messages, the
  oldest is dropped for a slow client (memory stays bounded).
- Clients may publish (``clientPublish``, encoding ``cdr``) only to topics matching
  ``client_publish_allowlist``; refused or malformed data gets a status error, nothing crashes.
- The 3D panel's robot model and frames are ordinary topics relayed like any other:
  ``robot_description`` (latched, from the state publisher), ``/tf_static`` (latched: re-sent
  to each late subscriber) and ``/tf`` (tf2_msgs/TFMessage).

ROS and SDK glue only: the channel bookkeeping is :mod:`edgebot_viz.bridge_core`.
"""

from __future__ import annotations

import time

import foxglove
from foxglove import Channel, Context, Schema
from foxglove.websocket import Capability
from rclpy.node import Node
from rclpy.serialization import deserialize_message

from edgebot_common import qos as Q
from edgebot_common.diagnostics import OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import msgdefs
from .bridge_core import Registry, Topic, publish_refusal
from .bridge_params import SPECS
from .drain import drain
from .filters import RateLimiter, TopicFilter, parse_rate_rules, rate_for
from .ros_util import is_latched, message_class, subscription_qos


class _Listener:
    """The foxglove ServerListener: forwards the callbacks the bridge handles."""

    def __init__(self, bridge: FoxgloveBridge):
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
        self.reg = Registry()

        self.ctx = Context()
        caps = [Capability.ClientPublish] if p["client_publish_allowlist"] else []
        if p["time_rate"] > 0:
            caps.append(Capability.Time)
        try:
            self.server = foxglove.start_server(
                name=p["server_name"],
                host=p["address"],
                port=p["port"],
                context=self.ctx,
                capabilities=caps,
                server_listener=_Listener(self),
                supported_encodings=["cdr"],
                message_backlog_size=p["send_buffer_messages"],
            )
        except Exception as e:  # the SDK raises RuntimeError/OSError-like errors for a busy port
            raise ConfigError(f"cannot listen on {p['address']}:{p['port']}: {e}") from None

        if p["time_rate"] > 0:
            self.create_timer(1.0 / p["time_rate"], self._send_time)

        self.diag = Diagnostics(self, hardware_id=f"ws://{p['address']}:{self.server.port}")
        self.diag.add("bridge", self._diag)
        self.create_timer(p["discovery_period"], self._discover)
        self._discover()
        self.get_logger().info(
            f"Foxglove bridge listening on ws://{p['address']}:{self.server.port}"
        )

    # -- discovery -----------------------------------------------------------------------
    def _discover(self) -> None:
        new, gone = self.reg.wanted(
            self.get_topic_names_and_types(),
            self._filter.allowed,
            lambda t: self.count_publishers(t) > 0,
        )
        for topic, type_name in new:
            self._advertise(topic, type_name)
        for topic in gone:
            self._unadvertise(topic)

    def _advertise(self, topic: str, type_name: str) -> None:
        try:
            definition = msgdefs.ros2msg_definition(type_name)
            message_class(type_name)
        except (msgdefs.UnknownMessageType, LookupError) as e:
            self.reg.skipped.add(topic)
            self._rejects.reject("unknown_type", f"not advertising {topic}: {e}")
            return
        channel = Channel(
            topic,
            context=self.ctx,
            message_encoding="cdr",
            schema=Schema(
                name=msgdefs.full_name(type_name), encoding="ros2msg", data=definition.encode()
            ),
        )
        hz = rate_for(topic, self._rates, self.p["max_rate"])
        t = Topic(topic, msgdefs.full_name(type_name), channel, RateLimiter(hz))
        self.reg.add(t, channel.id())
        self.get_logger().info(
            f"advertising {topic} [{t.type}]" + (f" at most {hz:g} Hz" if hz else "")
        )

    def _unadvertise(self, topic: str) -> None:
        t, sub = self.reg.remove(topic, lambda t: t.channel.id())
        if t is None:
            return
        if sub is not None:
            self.destroy_subscription(sub)
        t.channel.close()
        self.get_logger().info(f"unadvertised {topic} (no publishers)")

    # -- server listener (called from the server's thread) -------------------------------
    def on_subscribe(self, client, channel) -> None:
        with self.reg.lock:
            t = self.reg.client_subscribed(channel.id, client.id)
            if t is None:
                return  # a channel the bridge does not know (any more)
            if t.sub is None:
                t.latched = is_latched(self, t.name)
                t.sub = self.create_subscription(
                    message_class(t.type),
                    t.name,
                    lambda data, tt=t: self._on_ros(tt, data),
                    subscription_qos(self, t.name),
                    raw=True,
                )
            elif t.latched and t.last is not None:
                t.channel.log(t.last, log_time=self.get_clock().now().nanoseconds)

    def on_unsubscribe(self, client, channel) -> None:
        sub = self.reg.client_unsubscribed(channel.id, client.id)
        if sub is not None:
            self.destroy_subscription(sub)

    def on_client_advertise(self, client, channel) -> None:
        key = (client.id, channel.id)
        topic = channel.topic if channel.topic.startswith("/") else "/" + channel.topic
        refusal, cls = publish_refusal(
            topic,
            channel.encoding,
            channel.schema_name,
            self._publish_filter,
            message_class,
            msgdefs.full_name,
            self.get_topic_names_and_types(),
        )
        if refusal:
            self.reg.set_client_pub(key, None)
            self._status_error(key, refusal)
            return
        pub = self.create_publisher(cls, topic, Q.COMMANDS)
        self.reg.set_client_pub(key, (topic, cls, pub))
        self.get_logger().info(f"client {client.id} publishes {topic} [{channel.schema_name}]")

    def on_client_unadvertise(self, client, client_channel_id) -> None:
        """Also called for each advertised channel when a client disconnects."""
        entry = self.reg.drop_client_pub((client.id, client_channel_id))
        if entry is not None:
            self.destroy_publisher(entry[2])

    def on_message_data(self, client, client_channel_id, data) -> None:
        key = (client.id, client_channel_id)
        entry = self.reg.client_pub(key)
        if entry is None:
            self._status_error(
                key,
                f"client {client.id} channel {client_channel_id}: publishing "
                "refused (see earlier status), message dropped",
                "refused_publish",
            )
            return
        topic, cls, pub = entry
        try:
            deserialize_message(bytes(data), cls)  # validate before it reaches any subscriber
        except Exception as e:
            self._status_error(
                key,
                f"malformed {cls.__module__.split('.')[0]}/{cls.__name__} "
                f"message for {topic} dropped: {e}",
                "malformed_publish",
            )
            return
        pub.publish(bytes(data))

    def _status_error(self, key, message: str, reason: str = "refused_advertise") -> None:
        self._rejects.reject(reason, message)
        if self.reg.status_due(key, reason):
            self.server.publish_status(message, foxglove.StatusLevel.Error, None)

    # -- data ----------------------------------------------------------------------------
    def _on_ros(self, t: Topic, data: bytes) -> None:
        """This message, then those already queued behind it (one wake-up per burst)."""
        self._relay(t, data)
        drain(t.sub, lambda d: self._relay(t, d))

    def _relay(self, t: Topic, data: bytes) -> None:
        if t.latched:
            t.last = data
        if not t.limiter.allow(time.monotonic()):
            return
        t.channel.log(data, log_time=self.get_clock().now().nanoseconds)
        t.relayed += 1

    def _send_time(self) -> None:
        self.server.broadcast_time(self.get_clock().now().nanoseconds)

    # -- lifecycle -----------------------------------------------------------------------
    def _diag(self):
        values = dict(port=self.server.port, **self.reg.stats(), rejected=self._rejects.total)
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
