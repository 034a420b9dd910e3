"""Cloud -> robot (ROS-free): dispatch of MQTT messages on command and service topics.

:class:`Inbound` validates a command (:class:`~.commands.Validator`) and hands the message to a
``publish`` callable (the node's ROS publisher), or a service request to :class:`ServiceCalls`
(which calls the ROS service client it is given); a rejected or failed one goes to
``report(topic, reason, detail)``. :class:`PendingRequests` keeps the service calls in flight
and their deadlines. The node creates the ROS ends only. Every inbound route -- the mapping's
``commands`` and ``services`` and the Home Assistant switch and button -- takes this one path.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from edgebot_common.msg_dict import to_dict

from . import encoding
from .commands import Rejected, Validator
from .config import BridgeConfig, CommandRoute, ServiceRoute
from .link import matches


class Inbound:
    def __init__(
        self,
        cfg: BridgeConfig,
        report: Callable[[str, str, str], None],
        respond: Callable | None = None,
    ):
        """``respond(topic, payload, qos=, properties=)`` publishes service replies."""
        self.cfg = cfg
        self.report = report
        self.commands: dict[str, tuple[CommandRoute, Validator, Callable]] = {}
        self.services: dict[str, tuple[ServiceRoute, Validator, Callable]] = {}
        self.accepted = 0
        self._lock = threading.Lock()
        self.calls = ServiceCalls(report, respond, self.count_accepted)

    def add_command(self, route: CommandRoute, cls, publish: Callable) -> None:
        v = Validator(cls, **route.validator_args())
        self.commands[route.mqtt_topic] = (route, v, publish)

    def add_service(self, route: ServiceRoute, cls, client) -> None:
        """``client``: the ROS service client (``service_is_ready()``, ``call_async(req)``)."""
        v = Validator(cls.Request, **route.validator_args())
        self.calls.clients[route.mqtt_topic] = client
        self.services[route.mqtt_topic] = (route, v, self.calls.request)

    def subscriptions(self) -> list[tuple[str, int]]:
        filters = self.cfg.command_filters
        subs = [(f, 1) for f in filters]
        for t in list(self.commands) + list(self.services):
            if not any(matches(f, t) for f in filters):
                subs.append((t, 1))
        return subs

    def count_accepted(self) -> None:
        with self._lock:
            self.accepted += 1

    def on_mqtt(self, m) -> None:
        """Every message ends accepted or reported with a reason (never silently dropped)."""
        entry = self.commands.get(m.topic)
        sentry = self.services.get(m.topic)
        if entry is None and sentry is None:
            self.report(m.topic, "unknown_topic", "not on the command allow-list")
            return
        if getattr(m, "retain", False):
            # the broker's stored copy, delivered because we (re)subscribed: not a fresh command
            self.report(
                m.topic,
                "retained",
                "a retained message is not a command (publish commands without the retain flag)",
            )
            return
        try:
            if sentry is not None:
                r, validator, request = sentry
                request(m, r, validator)
                return
            r, validator, publish = entry
            msg, _ = validator.validate(m.payload)
        except Rejected as e:
            self.report(m.topic, e.reason, e.detail)
            return
        except Exception as e:  # a bug must not drop a command without a reason
            self.report(m.topic, "internal_error", f"{type(e).__name__}: {e}"[:300])
            return
        try:
            publish(msg)
        except Exception as e:
            self.report(m.topic, "publish_failed", f"{type(e).__name__}: {e}"[:300])
            return
        self.count_accepted()


class ServiceCalls:
    """MQTT requests -> ROS service calls. With an MQTT 5 ``ResponseTopic`` the caller gets
    ``{"ok": true, "response": {...}}`` or ``{"ok": false, "error": "<reason>: <detail>"}``
    (with its ``CorrelationData``); a route with ``reply: optional`` also takes requests
    without one (Home Assistant). Every refusal and failure -- invalid, service unavailable,
    refused (``success: false``), failed, timed out -- goes to ``report`` as well."""

    def __init__(self, report: Callable, respond: Callable | None, on_accepted: Callable):
        self.report = report
        self.respond = respond
        self.on_accepted = on_accepted
        self.clients: dict = {}
        self.pending = PendingRequests()

    def request(self, m, r: ServiceRoute, validator: Validator) -> None:
        props = getattr(m, "properties", None)
        resp = getattr(props, "ResponseTopic", None) if props else None
        corr = getattr(props, "CorrelationData", None) if props else None
        if not resp and r.reply == "required":
            self.report(m.topic, "missing_field", "MQTT 5 ResponseTopic property is required")
            return
        try:
            req, _ = validator.validate(m.payload)
            client = self.clients[m.topic]
            if not client.service_is_ready():
                raise Rejected("unavailable", f"service {r.service} not available")
        except Rejected as e:
            self.fail(m.topic, resp, corr, e.reason, e.detail)
            return
        self.on_accepted()
        key = self.pending.open(r.timeout, resp, corr, r.service, m.topic)
        fut = client.call_async(req)
        self.pending.attach(key, fut)
        fut.add_done_callback(lambda f, key=key: self._done(key, f))

    def _done(self, key: int, fut) -> None:
        item = self.pending.close(key)
        if item is None:
            return
        _, _, resp, corr, name, topic = item
        try:
            res = fut.result()
        except Exception as e:
            self.fail(topic, resp, corr, "service_failed", f"service {name}: {e}"[:300])
            return
        if resp:
            self.send(resp, corr, {"ok": True, "response": to_dict(res, bytes_as="base64")})
        elif getattr(res, "success", True) is False:
            self.report(topic, "service_refused", f"service {name}: {getattr(res, 'message', '')}")

    def expire(self) -> None:
        for fut, _, resp, corr, name, topic in self.pending.expired():
            if fut is not None:
                fut.cancel()
            self.fail(topic, resp, corr, "timeout", f"service {name} timed out")

    def fail(self, topic: str, resp, corr, reason: str, detail: str) -> None:
        self.report(topic, reason, detail)
        if resp:
            self.send(resp, corr, {"ok": False, "error": f"{reason}: {detail}"})

    def send(self, topic: str, corr, body: dict) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        if corr is not None:
            props.CorrelationData = corr
        self.respond(topic, encoding.dumps(body).encode(), qos=1, properties=props)


class PendingRequests:
    """Service calls in flight: key -> (future or None, deadline, response topic or None,
    correlation data, service name, request topic). Registered before the call (a fast service
    may answer before ``call_async`` returns)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._ids = itertools.count(1)
        self.items: dict[int, tuple] = {}

    def open(self, timeout: float, topic, corr, name: str, source: str = "") -> int:
        key = next(self._ids)
        self.items[key] = (None, self._clock() + timeout, topic, corr, name, source)
        return key

    def attach(self, key: int, fut) -> None:
        item = self.items.get(key)
        if item is not None:
            self.items[key] = (fut,) + item[1:]

    def close(self, key: int) -> tuple | None:
        return self.items.pop(key, None)

    def expired(self) -> list[tuple]:
        """Pop and return the entries past their deadline."""
        now = self._clock()
        out = []
        for key, item in list(self.items.items()):
            if now > item[1] and self.items.pop(key, None) is not None:
                out.append(item)
        return out
