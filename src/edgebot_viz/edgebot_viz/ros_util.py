"""Small rclpy helpers shared by the bridge and the recorder (QoS matching, type import)."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy

from edgebot_common import qos as Q
from edgebot_common.msg_dict import UnknownTypeError, get_message_class, split_type

from .bag_writer import qos_profile_dict


def subscription_qos(node: Node, topic: str, reliable=None):
    """A named profile compatible with every current publisher of ``topic``
    (:func:`edgebot_common.qos.matching_for_topic`): LATCHED_READER (each publisher's last
    sample, e.g. every rover's /tf_static) when all are reliable and transient-local,
    ``reliable`` (default RELIABLE; the recorder passes the deeper RECORDING) when all are
    reliable, otherwise (or with no publisher yet) SENSOR_DATA."""
    return Q.matching_for_topic(node, topic, reliable=reliable)


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
    """``geometry_msgs/msg/Twist`` (or ``geometry_msgs/Twist``) -> class
    (:func:`edgebot_common.msg_dict.get_message_class`, message types only); LookupError if
    malformed, not a message type or not installed."""
    if split_type(type_name)[1] != "msg":
        raise UnknownTypeError(f"not a message type name: {type_name!r}")
    return get_message_class(type_name)
