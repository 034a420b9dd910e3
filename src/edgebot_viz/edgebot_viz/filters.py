"""Topic allow-lists and per-topic rate limits (ROS-free).

Topic patterns are Python regular expressions matched against the *fully qualified* topic
name (``/imu/data``, ``/rover1/odom``) with ``re.fullmatch``. Rate rules are strings
``"<regex>=<max Hz>"``; the first matching rule wins, ``0`` means unlimited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def compile_patterns(patterns: Sequence[str], what: str = "pattern") -> list[re.Pattern[str]]:
    """Compile regexes; ``ValueError`` naming the bad one."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise ValueError(f"bad {what} regular expression {p!r}: {e}") from None
    return out


def check_patterns(patterns: Sequence[str]) -> str | None:
    """For ``ParamSpec.check``: an error text or None."""
    try:
        compile_patterns(patterns)
    except ValueError as e:
        return str(e)
    return None


class TopicFilter:
    """Allow-list with an optional deny-list: allowed = matches an allow and no deny pattern."""

    def __init__(self, allow: Sequence[str], deny: Sequence[str] = ()):
        self._allow = compile_patterns(allow, "allow")
        self._deny = compile_patterns(deny, "deny")

    def allowed(self, topic: str) -> bool:
        return any(p.fullmatch(topic) for p in self._allow) and not any(
            p.fullmatch(topic) for p in self._deny
        )


def parse_rate_rules(rules: Iterable[str]) -> list[tuple[re.Pattern[str], float]]:
    """``["/camera/.*=5", "/imu/data=50.5"]`` -> [(regex, 5.0), ...]; ValueError on bad input."""
    out = []
    for rule in rules:
        pattern, sep, rate = rule.rpartition("=")
        if not sep or not pattern:
            raise ValueError(f"rate rule {rule!r} is not '<regex>=<max Hz>'")
        try:
            hz = float(rate)
        except ValueError:
            raise ValueError(f"rate rule {rule!r}: {rate!r} is not a number") from None
        if not hz >= 0.0 or hz == float("inf"):
            raise ValueError(f"rate rule {rule!r}: max rate must be a finite number >= 0")
        out.append((compile_patterns([pattern], "rate rule")[0], hz))
    return out


def check_rate_rules(rules: Sequence[str]) -> str | None:
    try:
        parse_rate_rules(rules)
    except ValueError as e:
        return str(e)
    return None


def rate_for(topic: str, rules: Sequence[tuple[re.Pattern[str], float]], default: float) -> float:
    for pattern, hz in rules:
        if pattern.fullmatch(topic):
            return hz
    return default


class RateLimiter:
    """Lets a message through when at least 1/max_hz has passed since the last one let through.

    Uses a slot schedule (next allowed time advances by the period, re-anchored when the
    stream pauses) so a 30 Hz stream limited to 10 Hz yields 10 Hz, not 7.5 Hz.
    """

    def __init__(self, max_hz: float):
        self.max_hz = max_hz
        self.period = 1.0 / max_hz if max_hz > 0 else 0.0
        self._next = None  # type: Optional[float]
        self.passed = 0
        self.dropped = 0

    def allow(self, now: float) -> bool:
        if self.period <= 0.0:
            self.passed += 1
            return True
        if self._next is None or now >= self._next:
            if self._next is None or now - self._next > self.period:
                self._next = now + self.period  # first message, or after a pause
            else:
                self._next += self.period
            self.passed += 1
            return True
        self.dropped += 1
        return False


class TopicRates:
    """Per-topic maximum rates (a recorder's): the first matching ``"<regex>=<Hz>"`` rule, else
    ``default`` (0 = unlimited); one :class:`RateLimiter` per topic.

    ``allow(topic, now)`` with ``now`` in seconds of the clock the messages are logged on; a
    clock that goes back (a simulation restarted under sim time) starts the topic's schedule
    afresh instead of dropping everything until it catches up.
    """

    def __init__(self, rules: Sequence[str] = (), default: float = 0.0):
        self._rules = parse_rate_rules(r for r in rules if r)
        self._default = default
        self._limiters: dict[str, RateLimiter] = {}
        self._last: dict[str, float] = {}
        self._dropped_before = 0

    def rate(self, topic: str) -> float:
        return rate_for(topic, self._rules, self._default)

    def allow(self, topic: str, now: float) -> bool:
        lim = self._limiters.get(topic)
        if lim is None or now < self._last[topic]:
            if lim is not None:
                self._dropped_before += lim.dropped
            lim = self._limiters[topic] = RateLimiter(self.rate(topic))
        self._last[topic] = now
        return lim.allow(now)

    @property
    def dropped(self) -> int:
        return self._dropped_before + sum(lim.dropped for lim in self._limiters.values())
