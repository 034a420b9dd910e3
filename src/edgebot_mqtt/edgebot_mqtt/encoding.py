"""Telemetry payloads (ROS-free): message dict -> JSON envelope, field selection, batching.

One message::   {"seq": 17, "stamp": 1700000000.25, "data": {...}}
A batch::       {"batch": [{"seq": 17, "stamp": ..., "data": {...}}, {"seq": 18, ...}]}

``stamp`` is the message's ``header.stamp`` in seconds when it has one, else the time the
bridge received it. ``seq`` is assigned when the payload is spooled/sent (see :mod:`.spool`), so
the JSON is produced in two steps: :func:`body` (everything but ``seq``, outside any lock) and
:func:`with_seq` (splices the number in, cheap). Non-finite floats become ``null`` (JSON has no
NaN). Byte arrays (image data, ...) are never sent raw by default: ``bytes: omit`` writes
``"<N bytes>"``; ``base64`` or ``list`` must be chosen explicitly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any


def get_path(data: Any, dotted: str):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def select_fields(data: dict, fields: Sequence[str]) -> dict:
    """Keep only the dotted ``fields`` (nested structure preserved)."""
    if not fields:
        return data
    out: dict = {}
    for f in fields:
        try:
            value = get_path(data, f)
        except KeyError:
            continue
        node = out
        parts = f.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def stamp_of(data: dict, fallback: float | None = None) -> float:
    h = data.get("header") if isinstance(data, dict) else None
    if isinstance(h, dict) and isinstance(h.get("stamp"), dict):
        s = h["stamp"]
        t = s.get("sec", 0) + s.get("nanosec", 0) * 1e-9
        if t > 0:
            return t
    return time.time() if fallback is None else fallback


def _sanitize(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _sanitize(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_sanitize(v) for v in x]
    return x


def dumps(obj) -> str:
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_sanitize(obj), separators=(",", ":"), allow_nan=False)


def body(data: dict, fields: Sequence[str] = (), stamp: float | None = None) -> str:
    """The JSON object text without ``seq``: ``{"stamp":...,"data":{...}}``."""
    st = stamp_of(data) if stamp is None else stamp
    return dumps({"stamp": round(st, 9), "data": select_fields(data, fields)})


def with_seq(seq: int, body_text: str) -> str:
    return f'{{"seq":{seq:d},{body_text[1:]}'


def single(seq: int, body_text: str) -> bytes:
    return with_seq(seq, body_text).encode()


def batch(seqs: list[int], bodies: list[str]) -> bytes:
    return ('{"batch":[' + ",".join(with_seq(s, b) for s, b in zip(seqs, bodies)) + "]}").encode()


def decode(payload: bytes) -> list[dict]:
    """Consumer side helper: the list of {seq, stamp, data} entries of a payload."""
    obj = json.loads(payload)
    if isinstance(obj, dict) and "batch" in obj:
        return list(obj["batch"])
    return [obj]


class Batcher:
    """Collects message bodies of one route; a batch is due when full or its oldest entry is
    ``max_delay`` old."""

    def __init__(self, max_messages: int, max_delay: float, clock=time.monotonic):
        self.max_messages = max_messages
        self.max_delay = max_delay
        self._clock = clock
        self.items: list[str] = []
        self._first = 0.0

    def add(self, body_text: str) -> list[str] | None:
        if not self.items:
            self._first = self._clock()
        self.items.append(body_text)
        if len(self.items) >= self.max_messages:
            return self.take()
        return None

    def due(self) -> bool:
        return bool(self.items) and self._clock() - self._first >= self.max_delay

    def take(self) -> list[str]:
        out, self.items = self.items, []
        return out
