"""Validation of commands arriving from MQTT (ROS-free apart from the message classes).

A command passes, in this order: size <= max_size, UTF-8 JSON object (a nesting deeper than
``max_depth`` is refused, also when it would overflow the JSON parser), every string valid
Unicode (no lone surrogates), every number finite (no NaN/inf, no integer beyond a double), the
freshness check (``max_age``), required fields present, numeric ranges, field names and types
(``msg_dict.from_dict``), the type's own consistency rules (JointState: unique names, arrays as
long as ``name`` or empty), rate limit. Anything else raises :class:`Rejected` with a short
``reason`` code (one of :data:`REASONS`) and a human ``detail``; nothing of a rejected command
reaches ROS.

Text commands: a route with ``payloads`` (e.g. Home Assistant's switch, ``{"ON": {"data":
true}, "OFF": {"data": false}}``) takes exactly those payloads instead of JSON, each standing for
its JSON object, which then passes the same checks; ``refuse`` names payloads that are
refused with the reason ``forbidden`` and the given detail; any other is ``bad_payload``.

Freshness: a command may carry its send time, in seconds since the Unix epoch, as a top-level
``"stamp"`` (removed before the message is built; for types without a field of that name) or
in its ``header.stamp``. With ``max_age`` > 0 a command whose stamp is older than ``max_age``
(robot wall clock) is rejected as ``stale``; one stamped more than ``clock_skew`` seconds in
the future as ``bad_stamp``. The sender's and the robot's clocks must agree to within
``clock_skew`` (NTP keeps them within milliseconds), and ``max_age`` must exceed the skew plus
the transport latency. With ``require_stamp`` a command without a stamp is ``missing_field``.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from collections.abc import Callable, Sequence

from edgebot_common.msg_dict import MessageFieldError, from_dict, get_message_class, type_name_of

from .encoding import get_path
from .ratelimit import TokenBucket

REASONS = (
    "unknown_topic",
    "retained",
    "oversize",
    "malformed_json",
    "not_object",
    "too_deep",
    "bad_string",
    "not_finite",
    "stale",
    "bad_stamp",
    "missing_field",
    "out_of_range",
    "bad_field",
    "duplicate_name",
    "length_mismatch",
    "bad_payload",
    "forbidden",
    "rate_limited",
    "publish_failed",
    "unavailable",
    "service_failed",
    "service_refused",
    "timeout",
    "internal_error",
)

_FLOAT_MAX = sys.float_info.max


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def _reject_nan(token):
    raise ValueError(f"{token} is not allowed")


def scan(data, max_depth: int) -> None:
    """Walk a parsed JSON tree without recursion: nesting depth, strings that are not valid
    Unicode, numbers that are not finite or do not fit a double."""
    stack = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise Rejected(
                    "too_deep", f"{path or '<root>'}: nested deeper than max_depth {max_depth}"
                )
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                if isinstance(k, str):
                    _check_str(k, path)
                sub = (f"{path}.{k}" if path else k) if isinstance(k, str) else f"{path}[{k}]"
                stack.append((v, sub, depth + 1))
        elif isinstance(node, str):
            _check_str(node, path)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise Rejected("not_finite", f"{path}: not a finite number")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > _FLOAT_MAX:
            raise Rejected(
                "not_finite", f"{path}: {len(str(abs(node)))}-digit integer does not fit a number"
            )


def _check_str(s: str, path: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise Rejected(
            "bad_string", f"{path or '<key>'}: not valid Unicode ({e.reason} at {e.start})"
        ) from None


def _joint_state(msg) -> None:
    names = list(msg.name)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise Rejected("duplicate_name", f"name: {', '.join(dup)} more than once")
    for field in ("position", "velocity", "effort"):
        n = len(getattr(msg, field))
        if n not in (0, len(names)):
            raise Rejected(
                "length_mismatch",
                f"{field}: {n} values for {len(names)} names (must be as many, or none)",
            )


#: per message type: rules across fields that the field types alone do not express
CONSISTENCY: dict[str, Callable] = {"sensor_msgs/msg/JointState": _joint_state}


class Validator:
    def __init__(
        self,
        msg_class,
        required: Sequence[str] = (),
        ranges: dict[str, tuple[float, float]] | None = None,
        max_size: int = 4096,
        max_rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        max_depth: int = 16,
        max_age: float = 0.0,
        require_stamp: bool = False,
        clock_skew: float = 1.0,
        wall: Callable[[], float] = time.time,
        payloads: dict[str, dict] | None = None,
        refuse: dict[str, str] | None = None,
    ):
        self.payloads = dict(payloads or {})
        self.refuse = dict(refuse or {})
        self.cls = get_message_class(msg_class) if isinstance(msg_class, str) else msg_class
        self.required = list(required)
        self.ranges = dict(ranges or {})
        self.max_size = max_size
        self.max_depth = max_depth
        self.max_age = max_age
        self.require_stamp = require_stamp
        self.clock_skew = clock_skew
        self._wall = wall
        fields = self.cls.get_fields_and_field_types()
        self._stamp_key = "stamp" not in fields  # a top-level "stamp" is ours to take
        self._has_header = fields.get("header") == "std_msgs/Header"
        try:
            self._consistency = CONSISTENCY.get(type_name_of(self.cls))
        except (ValueError, AttributeError):  # a service Request class
            self._consistency = None
        # burst of 1 s worth (at least one) so a steady stream at max_rate passes
        self.bucket = TokenBucket(max_rate, burst=max(1.0, max_rate), clock=clock)

    def parse(self, payload: bytes) -> dict:
        if len(payload) > self.max_size:
            raise Rejected("oversize", f"{len(payload)} bytes > max_size {self.max_size}")
        if self.payloads or self.refuse:
            return self._text(payload)
        try:
            text = payload.decode("utf-8")
            data = json.loads(text, parse_constant=_reject_nan)
        except UnicodeDecodeError:
            raise Rejected("malformed_json", "payload is not UTF-8") from None
        except RecursionError:
            raise Rejected("too_deep", f"nested deeper than max_depth {self.max_depth}") from None
        except ValueError as e:
            raise Rejected("malformed_json", str(e)[:200]) from None
        if not isinstance(data, dict):
            raise Rejected("not_object", f"expected a JSON object, got {type(data).__name__}")
        scan(data, self.max_depth)
        return data

    def _text(self, payload: bytes) -> dict:
        text = bytes(payload).decode("utf-8", "backslashreplace")
        if text in self.refuse:
            raise Rejected("forbidden", f"{text!r}: {self.refuse[text]}")
        if text not in self.payloads:
            raise Rejected("bad_payload", f"{text!r}: must be one of {sorted(self.payloads)}")
        return copy.deepcopy(self.payloads[text])

    def _stamp(self, data: dict) -> float | None:
        """The command's send time (and ``data`` without our top-level ``stamp`` key)."""
        if self._stamp_key and "stamp" in data:
            st = data.pop("stamp")
            if isinstance(st, bool) or not isinstance(st, (int, float)):
                raise Rejected("bad_stamp", f"stamp: expected seconds since the epoch, got {st!r}")
            return float(st)
        if self._has_header:
            try:
                s = get_path(data, "header.stamp")
                t = float(s.get("sec", 0)) + float(s.get("nanosec", 0)) * 1e-9
            except (KeyError, AttributeError, TypeError, ValueError):
                return None
            return t if t > 0 else None
        return None

    def check_fresh(self, data: dict) -> None:
        st = self._stamp(data)
        if self.max_age <= 0:
            return
        if st is None:
            if self.require_stamp:
                raise Rejected("missing_field", "stamp is required (seconds since the epoch)")
            return
        age = self._wall() - st
        if age > self.max_age:
            raise Rejected("stale", f"sent {age:.3f} s ago, max_age {self.max_age:g} s")
        if age < -self.clock_skew:
            raise Rejected(
                "bad_stamp",
                f"stamped {-age:.3f} s in the future (clock_skew {self.clock_skew:g} s)",
            )

    def check(self, data: dict):
        """dict -> message (validated); raises Rejected."""
        for f in self.required:
            try:
                get_path(data, f)
            except KeyError:
                raise Rejected("missing_field", f"{f} is required") from None
        for f, (lo, hi) in self.ranges.items():
            try:
                v = get_path(data, f)
            except KeyError:
                continue
            values = v if isinstance(v, list) else [v]
            for x in values:
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    raise Rejected("bad_field", f"{f}: expected a number, got {type(x).__name__}")
                if not (lo <= x <= hi) or (isinstance(x, float) and not math.isfinite(x)):
                    raise Rejected("out_of_range", f"{f} = {x} outside [{lo}, {hi}]")
        try:
            msg = from_dict(self.cls, data)
        except MessageFieldError as e:
            raise Rejected("bad_field", str(e)) from None
        except OverflowError as e:  # belt and braces: scan() refuses such numbers first
            raise Rejected("not_finite", str(e)) from None
        if self._consistency is not None:
            self._consistency(msg)
        return msg

    def validate(self, payload: bytes):
        """bytes -> (message, dict). Rate is charged only for otherwise valid commands."""
        data = self.parse(payload)
        self.check_fresh(data)
        msg = self.check(data)
        if not self.bucket.take():
            raise Rejected("rate_limited", f"more than {self.bucket.rate:g} commands/s")
        return msg, data
