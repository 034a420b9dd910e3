"""Cloud -> robot (ROS-free): dispatch of MQTT messages on command and service topics.

:class:`Inbound` validates a command (:class:`~.commands.Validator`) and hands the message to a
``publish`` callable (the node's ROS publisher), or a service request to a ``request``
callable; a rejected one goes to ``report(topic, reason, detail)``. :class:`PendingRequests`
keeps the service calls in flight and their deadlines. The node creates the ROS ends only.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from .commands import Rejected, Validator
from .config import BridgeConfig, CommandRoute, ServiceRoute
from .link import matches


class Inbound:
    def __init__(self, cfg: BridgeConfig, report: Callable[[str, str, str], None]):
        self.cfg = cfg
        self.report = report
        self.commands: dict[str, tuple[CommandRoute, Validator, Callable]] = {}
        self.services: dict[str, tuple[ServiceRoute, Validator, Callable]] = {}
        self.accepted = 0
        self._lock = threading.Lock()

    def add_command(self, route: CommandRoute, cls, publish: Callable) -> None:
        v = Validator(cls, **route.validator_args())
        self.commands[route.mqtt_topic] = (route, v, publish)

    def add_service(self, route: ServiceRoute, cls, request: Callable) -> None:
        """``request(m, route, validator)`` handles an MQTT 5 request for this route."""
        v = Validator(cls.Request, **route.validator_args())
        self.services[route.mqtt_topic] = (route, v, request)

    def subscriptions(self) -> list[tuple[str, int]]:
        filt = self.cfg.command_filter
        subs = [(filt, 1)] if filt else []
        for t in list(self.commands) + list(self.services):
            if not (filt and matches(filt, t)):
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


class PendingRequests:
    """Service calls in flight: key -> (future or None, deadline, response topic, correlation
    data, service name). Registered before the call (a fast service may answer before
    ``call_async`` returns)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._ids = itertools.count(1)
        self.items: dict[int, tuple] = {}

    def open(self, timeout: float, topic: str, corr, name: str) -> int:
        key = next(self._ids)
        self.items[key] = (None, self._clock() + timeout, topic, corr, name)
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
