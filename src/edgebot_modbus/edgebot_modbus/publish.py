"""When a polled value is published (ROS-free): every poll, or on change with a deadband and a
heartbeat -- what Modbus/OPC-UA gateways call report-by-exception.

    gate = gate_for(device, point)
    if gate(value, t):          # t: the read's time (the supervisor's clock), no clock read here
        publish(value)

``every_poll``: always. ``on_change``: the first value; a value that differs from the last
*published* one by more than ``deadband`` (engineering units; a slow drift is published once it
has added up); a bit or a non-finite value when it differs at all (NaN equals NaN here: a
sensor stuck at NaN is not a change per poll); and, when nothing changed, again after
``max_period`` seconds (0: never) so late subscribers and watchdogs see the point alive.
"""

from __future__ import annotations

import math

from .registermap import Device, Point

_NOTHING = object()


class EveryPoll:
    __slots__ = ()
    on_change = False

    def __call__(self, value, t: float) -> bool:
        return True

    def reset(self) -> None:
        pass


class OnChange:
    """Publish on change beyond ``deadband``, or after ``max_period`` s without a publish."""

    __slots__ = ("deadband", "max_period", "last", "last_t")
    on_change = True

    def __init__(self, deadband: float = 0.0, max_period: float = 0.0):
        if not (deadband >= 0.0 and math.isfinite(deadband)):
            raise ValueError(f"deadband {deadband!r}: must be finite and >= 0")
        if not (max_period >= 0.0 and math.isfinite(max_period)):
            raise ValueError(f"max_period {max_period!r}: must be finite and >= 0")
        self.deadband = deadband
        self.max_period = max_period
        self.last = _NOTHING
        self.last_t = 0.0

    def __call__(self, value, t: float) -> bool:
        last = self.last
        if last is _NOTHING or self._changed(value, last):
            pass
        elif self.max_period > 0.0 and t - self.last_t >= self.max_period:
            pass
        else:
            return False
        self.last = value
        self.last_t = t
        return True

    def _changed(self, v, last) -> bool:
        if v == last:
            return False
        if isinstance(v, bool) or isinstance(last, bool):
            return True
        try:
            if not (math.isfinite(v) and math.isfinite(last)):
                return not (math.isnan(v) and math.isnan(last))
        except TypeError:
            return True
        return abs(v - last) > self.deadband

    def reset(self) -> None:
        """Forget the last value: the next one is published (e.g. the device came back)."""
        self.last = _NOTHING


def gate_for(device: Device, point: Point) -> EveryPoll | OnChange:
    if device.publish_of(point) == "every_poll":
        return EveryPoll()
    return OnChange(device.deadband_of(point), device.max_period_of(point))
