"""Robot -> cloud (ROS-free): one :class:`Route` per ``telemetry`` entry, and :class:`Telemetry`,
which turns a taken ROS message into what :class:`~.link.MqttLink` sends (decimation, JSON or
raw CDR, downsampled JPEG, batching). The node only subscribes and hands messages over.

Accounting of QoS 1 telemetry: every JSON entry of a QoS >= 1 route carries ``boot`` (an id of
this bridge process) and ``n`` (1, 2, ... per MQTT topic and boot, contiguous), and
``stats()["ledger"]`` says how many entries each topic was handed to the link in this boot. A
consumer that keeps the (boot, topic, n) it received can name every lost message, across broker
outages and bridge restarts (a spooled entry keeps its boot and n when a later boot replays it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from edgebot_common import msgconv
from edgebot_common.msg_dict import to_dict

from . import encoding, images
from .config import TelemetryRoute
from .ratelimit import Decimator


class Route:
    """The running state of one telemetry route."""

    def __init__(self, route: TelemetryRoute, cls=None):
        self.r = route
        self.cls = cls
        self.decimator = Decimator(route.max_rate)
        self.batcher = (
            encoding.Batcher(route.batch_max_messages, route.batch_max_delay)
            if route.batch_max_messages > 1
            else None
        )
        self.received = 0
        self.sub = None  # the node's subscription (for draining its queue)
        # message -> dict, compiled once for the type; with ``fields`` only the top-level
        # fields they go through (+ header, for the stamp) are converted
        self.convert = None
        if cls is not None and route.encoding != "cdr" and not route.image_max_width:
            only = msgconv.top_level(list(route.fields) + ["header"]) if route.fields else None
            self.convert = msgconv.converter(cls, only)


class Telemetry:
    """Routes ROS messages to the link. ``reject(reason, detail)`` counts what cannot be sent
    (an undecodable image)."""

    def __init__(self, link, reject: Callable[[str, str], None]):
        self.link = link
        self.reject = reject
        self.routes: list[Route] = []
        self._lock = threading.Lock()
        self.boot = os.urandom(6).hex()  # this process's id in the QoS 1 ledger
        self._n: dict[str, int] = {}  # MQTT topic -> QoS >= 1 JSON entries handed over

    def _tagged(self, r: TelemetryRoute, body: str) -> str:
        """``body`` with this boot's ``boot``/``n`` spliced in front (QoS >= 1 only)."""
        if r.qos < 1:
            return body
        with self._lock:
            n = self._n.get(r.mqtt_topic, 0) + 1
            self._n[r.mqtt_topic] = n
        return f'{{"boot":"{self.boot}","n":{n:d},{body[1:]}'

    def add(self, route: TelemetryRoute, cls) -> Route:
        rt = Route(route, cls)
        self.routes.append(rt)
        return rt

    @property
    def batching(self) -> bool:
        return any(rt.batcher for rt in self.routes)

    def handle(self, rt: Route, msg) -> None:
        rt.received += 1
        if not rt.decimator.allow():
            return
        r = rt.r
        if r.encoding == "cdr":
            raw = bytes(msg)
            self.link.send(
                r.mqtt_topic, lambda s: raw, qos=r.qos, retain=r.retain, seq_property=True
            )
            return
        if r.image_max_width:
            try:
                data = images.jpeg_summary(
                    msg, to_dict(msg.header), r.image_max_width, r.image_quality
                )
            except images.ImageError as e:
                self.reject("bad_image", f"{r.ros_topic}: {e}")
                return
        else:
            data = rt.convert(msg, r.bytes)
        body = self._tagged(r, encoding.body(data, r.fields, stamp=None))
        if rt.batcher is None:
            self.link.send(
                r.mqtt_topic, lambda s: encoding.single(s[0], body), qos=r.qos, retain=r.retain
            )
            return
        with self._lock:
            items = rt.batcher.add(body)
        if items:
            self._send_batch(rt, items)

    def _send_batch(self, rt: Route, items) -> None:
        self.link.send(
            rt.r.mqtt_topic,
            lambda s: encoding.batch(s, items),
            count=len(items),
            qos=rt.r.qos,
            retain=rt.r.retain,
        )

    def flush_due(self, force: bool = False) -> None:
        for rt in self.routes:
            if rt.batcher is None:
                continue
            with self._lock:
                items = rt.batcher.take() if (force or rt.batcher.due()) else []
            if items:
                self._send_batch(rt, items)

    def stats(self) -> dict:
        return {
            "received": sum(rt.received for rt in self.routes),
            "decimated": sum(rt.decimator.decimated for rt in self.routes),
            "ledger": {"boot": self.boot, "sent": self.ledger()},
        }

    def ledger(self) -> dict:
        with self._lock:
            return dict(self._n)
