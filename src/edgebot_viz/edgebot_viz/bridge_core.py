"""The Foxglove bridge's bookkeeping, ROS-free: which topics are advertised as which channels,
which clients subscribe to them, which client channels may publish, and the throttles of the
status errors sent back to clients. The node does the ROS and SDK calls around it.

Everything here is guarded by one lock: the SDK calls the listener from its own thread while
the node's timers discover topics and relay data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from edgebot_common.throttle import Throttle

from .filters import RateLimiter, TopicFilter


class Topic:
    """One advertised ROS topic and its channel."""

    def __init__(self, name: str, type_name: str, channel, limiter: RateLimiter):
        self.name = name
        self.type = type_name
        self.channel = channel
        self.limiter = limiter
        self.clients: set = set()
        self.sub = None
        self.latched = False
        self.last = None  # last message of a latched topic, re-sent to late subscribers
        self.relayed = 0


class Registry:
    def __init__(self):
        self.lock = threading.RLock()
        self.topics: dict[str, Topic] = {}  # topic name -> Topic
        self.by_channel: dict[int, Topic] = {}  # channel id -> Topic
        self.skipped: set = set()  # topics of unknown types, never advertised
        self.client_pubs: dict = {}  # (client id, client channel id) -> (topic, cls, pub) | None
        self._status_throttles: dict = {}

    # -- advertised topics ----------------------------------------------------------------
    def wanted(
        self, names_and_types, allowed: Callable[[str], bool], has_publisher: Callable[[str], bool]
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """(topics to advertise [(name, type)], advertised topics to drop) for a graph poll."""
        seen, new = set(), []
        for topic, types in names_and_types:
            if not allowed(topic) or topic in self.skipped or not has_publisher(topic):
                continue
            seen.add(topic)
            if topic not in self.topics:
                new.append((topic, types[0]))
        with self.lock:
            gone = [t for t in self.topics if t not in seen and t not in self.skipped]
        return new, gone

    def add(self, t: Topic, channel_id: int) -> None:
        with self.lock:
            self.topics[t.name] = t
            self.by_channel[channel_id] = t

    def remove(self, name: str, channel_id: Callable[[Topic], int]) -> tuple[Topic | None, object]:
        """Drops a topic: (the Topic or None, its ROS subscription to destroy or None)."""
        with self.lock:
            t = self.topics.pop(name, None)
            if t is None:
                return None, None
            self.by_channel.pop(channel_id(t), None)
            sub, t.sub = t.sub, None
        return t, sub

    # -- client subscriptions ---------------------------------------------------------------
    def client_subscribed(self, channel_id: int, client_id: int) -> Topic | None:
        """Records the subscription; the Topic (None for a channel that is not a ROS topic)."""
        with self.lock:
            t = self.by_channel.get(channel_id)
            if t is not None:
                t.clients.add(client_id)
            return t

    def client_unsubscribed(self, channel_id: int, client_id: int):
        """Forgets it; the ROS subscription to destroy when it was the last client, else None."""
        with self.lock:
            t = self.by_channel.get(channel_id)
            if t is None:
                return None
            t.clients.discard(client_id)
            if not t.clients and t.sub is not None:
                sub, t.sub = t.sub, None
                t.last = None
                return sub
        return None

    # -- client publishing ---------------------------------------------------------------------
    def set_client_pub(self, key, entry) -> None:
        with self.lock:
            self.client_pubs[key] = entry

    def client_pub(self, key):
        with self.lock:
            return self.client_pubs.get(key)

    def drop_client_pub(self, key):
        """Forgets a client channel (and its throttles); its entry (publisher) or None."""
        with self.lock:
            entry = self.client_pubs.pop(key, None)
            for k in [k for k in self._status_throttles if k[0] == key]:
                del self._status_throttles[k]
        return entry

    def status_due(self, key, reason: str, period: float = 2.0) -> bool:
        """Whether a status error for (client channel, reason) may go out now (throttled)."""
        with self.lock:
            th = self._status_throttles.setdefault((key, reason), Throttle(period))
        return th.ready()

    def stats(self) -> dict:
        with self.lock:
            topics = list(self.topics.values())
            pubs = sum(1 for v in self.client_pubs.values() if v)
        return {
            "channels": len(topics),
            "ros_subscriptions": sum(1 for t in topics if t.sub is not None),
            "relayed": sum(t.relayed for t in topics),
            "throttled": sum(t.limiter.dropped for t in topics),
            "client_publishers": pubs,
            "skipped_topics": len(self.skipped),
        }


def publish_refusal(
    topic: str,
    encoding: str,
    schema_name: str,
    policy: TopicFilter,
    lookup: Callable[[str], object],
    full_name: Callable[[str], str],
    graph: Sequence[tuple[str, Sequence[str]]],
) -> tuple[str | None, object]:
    """Why a client may not publish ``topic`` (None if it may), and the message class.

    Refused: a topic outside ``client_publish_allowlist``, an encoding other than cdr, a type
    that is not installed (``lookup`` raises LookupError) or one that differs from the type the
    topic already has in the ROS graph.
    """
    if not policy.allowed(topic):
        return f"client publish to {topic} refused: not in client_publish_allowlist", None
    if encoding != "cdr":
        return f"client publish to {topic} refused: encoding {encoding!r}, only 'cdr'", None
    try:
        cls = lookup(schema_name)
    except LookupError as e:
        return f"client publish to {topic} refused: {e}", None
    want = full_name(schema_name)
    for name, types in graph:
        if name == topic and want not in types:
            return (
                f"client publish to {topic} refused: type {want} but the topic has {types}"
            ), None
    return None, cls
