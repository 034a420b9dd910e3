"""Validation of commands arriving from MQTT (ROS-free apart from the message classes).

A command passes, in this order: size <= max_size, UTF-8 JSON object, no NaN/inf, required
fields present, numeric ranges, field names and types (``msg_dict.from_dict``), rate limit.
Anything else raises :class:`Rejected` with a short ``reason`` code and a human ``detail``;
nothing of a rejected command reaches ROS.
"""
from __future__ import annotations

import json
import math
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

from edgebot_common.msg_dict import MessageFieldError, finite_check, from_dict, get_message_class

from .encoding import get_path
from .ratelimit import TokenBucket

REASONS = ("unknown_topic", "oversize", "malformed_json", "not_object", "not_finite",
           "missing_field", "out_of_range", "bad_field", "rate_limited")


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def _reject_nan(token):
    raise ValueError(f"{token} is not allowed")


class Validator:
    def __init__(self, msg_class, required: Sequence[str] = (),
                 ranges: Optional[Dict[str, Tuple[float, float]]] = None, max_size: int = 4096,
                 max_rate: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.cls = get_message_class(msg_class) if isinstance(msg_class, str) else msg_class
        self.required = list(required)
        self.ranges = dict(ranges or {})
        self.max_size = max_size
        # burst of 1 s worth (at least one) so a steady stream at max_rate passes
        self.bucket = TokenBucket(max_rate, burst=max(1.0, max_rate), clock=clock)

    def parse(self, payload: bytes) -> dict:
        if len(payload) > self.max_size:
            raise Rejected("oversize", f"{len(payload)} bytes > max_size {self.max_size}")
        try:
            text = payload.decode("utf-8")
            data = json.loads(text, parse_constant=_reject_nan)
        except UnicodeDecodeError:
            raise Rejected("malformed_json", "payload is not UTF-8") from None
        except ValueError as e:
            raise Rejected("malformed_json", str(e)[:200]) from None
        if not isinstance(data, dict):
            raise Rejected("not_object", f"expected a JSON object, got {type(data).__name__}")
        return data

    def check(self, data: dict):
        """dict -> message (validated); raises Rejected."""
        try:
            finite_check(data)
        except MessageFieldError as e:
            raise Rejected("not_finite", str(e)) from None
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
            return from_dict(self.cls, data)
        except MessageFieldError as e:
            raise Rejected("bad_field", str(e)) from None

    def validate(self, payload: bytes):
        """bytes -> (message, dict). Rate is charged only for otherwise valid commands."""
        data = self.parse(payload)
        msg = self.check(data)
        if not self.bucket.take():
            raise Rejected("rate_limited", f"more than {self.bucket.rate:g} commands/s")
        return msg, data
