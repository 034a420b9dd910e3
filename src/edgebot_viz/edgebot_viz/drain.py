"""Take every message already queued behind the one a subscription callback got, in that same
callback (as the MQTT bridge does): one executor wake-up, wait-set rebuild and task per burst
instead of per message. The subscription is duck-typed (rclpy's ``Subscription``: ``handle``,
``msg_type``, ``raw``), so this module imports no rclpy and is unit-tested with a stand-in."""

from __future__ import annotations

from collections.abc import Callable

DRAIN_MAX = 64  # messages per callback at most: the other callbacks still get their turn


def drain(sub, handle: Callable[[object], object], limit: int = DRAIN_MAX) -> int:
    """Hands up to ``limit - 1`` queued messages of ``sub`` to ``handle``; how many it took.

    Stops at an empty queue, a destroyed subscription (shutting down: rclpy raises
    ``InvalidHandle``, a RuntimeError) or when ``handle`` returns False (stop taking)."""
    n = 0
    if sub is None:
        return n
    for _ in range(limit - 1):
        try:
            with sub.handle:
                taken = sub.handle.take_message(sub.msg_type, sub.raw)
        except RuntimeError:  # rclpy.exceptions.InvalidHandle: destroyed under us
            return n
        if taken is None:
            return n
        n += 1
        if handle(taken[0]) is False:
            return n
    return n
