"""Small rclpy helpers shared by the bridge and the recorder (QoS matching, type import)."""

from __future__ import annotations

import importlib

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from edgebot_common import qos as Q

from .bag_writer import qos_profile_dict


def subscription_qos(node: Node, topic: str, reliable=None):
    """A named profile compatible with every current publisher of ``topic``.

    All publishers reliable and transient-local -> LATCHED (late joiners get the last sample);
    all reliable -> ``reliable`` (default RELIABLE; the recorder passes the deeper RECORDING);
    otherwise SENSOR_DATA (best effort matches every publisher).
    """
    infos = node.get_publishers_info_by_topic(topic)
    if not infos:
        return Q.SENSOR_DATA
    latched = all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
    all_reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
    if all_reliable and latched:
        return Q.LATCHED
    if all_reliable:
        return reliable if reliable is not None else Q.RELIABLE
    return Q.SENSOR_DATA


def is_latched(node: Node, topic: str) -> bool:
    infos = node.get_publishers_info_by_topic(topic)
    return bool(infos) and all(
        i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos
    )


def offered_qos(node: Node, topic: str) -> list:
    """The publishers' QoS as rosbag2 metadata-v8 dicts."""
    out = []
    for i in node.get_publishers_info_by_topic(topic):
        q = i.qos_profile
        out.append(
            qos_profile_dict(
                q.history.value,
                q.depth,
                q.reliability.value,
                q.durability.value,
                q.liveliness.value,
            )
        )
    return out


def message_class(type_name: str):
    """``geometry_msgs/msg/Twist`` (or ``geometry_msgs/Twist``) -> class; LookupError if absent."""
    parts = [p for p in type_name.strip().split("/") if p]
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] != "msg":
        raise LookupError(f"not a message type name: {type_name!r}")
    try:
        module = importlib.import_module(f"{parts[0]}.msg")
        return getattr(module, parts[2])
    except (ImportError, AttributeError):
        raise LookupError(f"message type {type_name!r} is not installed") from None
