"""A small client of the Foxglove WebSocket protocol (``foxglove.sdk.v1``/``foxglove.websocket.v1``).

Test and benchmark support (not shipped in edgebot_viz): the tests and ``benchmarks/bench_viz.py``
watch the bridge through it the way the Foxglove app does::

    with FoxgloveClient("ws://127.0.0.1:8765") as c:
        ch = c.wait_channel("/imu/data")
        sub = c.subscribe(ch["id"])
        msg = c.next_message(sub)             # (receive_ns, payload bytes, local_ns)

Text frames are JSON operations (serverInfo, advertise, unadvertise, status, ...); binary
frames start with an opcode byte: 0x01 message data (u32 subscription id, u64 timestamp,
payload), 0x02 time. Client publishing: :meth:`advertise` then :meth:`publish`.
"""

from __future__ import annotations

import collections
import json
import re
import struct
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

#: foxglove-sdk >= 0.2x servers speak ``foxglove.sdk.v1``; older servers (the C++ ros-foxglove-bridge)
#: ``foxglove.websocket.v1``. The operations used here are the same in both.
SUBPROTOCOLS = ["foxglove.sdk.v1", "foxglove.websocket.v1"]


UNKNOWN_CHANNEL = re.compile(r"Unknown channel ID: (\d+)")


class FoxgloveClient:
    def __init__(self, url: str, open_timeout: float = 10.0, max_queue: int = 100000):
        self.ws = connect(
            url,
            subprotocols=SUBPROTOCOLS,
            open_timeout=open_timeout,
            max_size=None,
            compression=None,
        )
        self.server_info: dict | None = None
        self.channels: dict[int, dict] = {}
        self.statuses: list[dict] = []
        self.ops: list[dict] = []
        self.messages: dict[int, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=max_queue)
        )
        self.time_ns: int | None = None
        self.closed = False
        self._cond = threading.Condition()
        self._next_sub = 1
        self._next_client_channel = 1
        self._subs: dict[int, int] = {}  # subscription id -> channel id
        #: subscriptions sent again after "Unknown channel ID" for a channel that was advertised
        self.resubscribed: list[tuple[int, int]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # -- receiving -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            for frame in self.ws:
                now = time.time_ns()
                with self._cond:
                    if isinstance(frame, str):
                        self._on_text(json.loads(frame))
                    else:
                        self._on_binary(frame, now)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _on_text(self, op: dict) -> None:
        self.ops.append(op)
        kind = op.get("op")
        if kind == "serverInfo":
            self.server_info = op
        elif kind == "advertise":
            for ch in op.get("channels", []):
                self.channels[ch["id"]] = ch
        elif kind == "unadvertise":
            for cid in op.get("channelIds", []):
                self.channels.pop(cid, None)
        elif kind == "status":
            m = UNKNOWN_CHANNEL.search(op.get("message", ""))
            cid = int(m.group(1)) if m else None
            again = [i for i, c in self._subs.items() if c == cid and cid in self.channels]
            if again and len(self.resubscribed) < 20:
                # foxglove-sdk 0.30 can send a channel's advertise a moment before its subscribe
                # handler knows the channel (seen twice in 3 CI dry runs: a client subscribing as
                # soon as the advertise arrives was refused): subscribe again, as a client would
                for sub_id in again:
                    self.resubscribed.append((sub_id, cid))
                    threading.Timer(0.05, self._send_subscribe, (sub_id, cid)).start()
                return
            self.statuses.append(op)

    def _on_binary(self, frame: bytes, now: int) -> None:
        if frame[0] == 0x01:
            sub_id, ts = struct.unpack_from("<IQ", frame, 1)
            self.messages[sub_id].append((ts, bytes(frame[13:]), now))
        elif frame[0] == 0x02:
            (self.time_ns,) = struct.unpack_from("<Q", frame, 1)

    def wait(self, pred, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                if self.closed:
                    raise ConnectionError(f"connection closed while waiting for {what}")
                self._cond.wait(min(left, 0.1))

    def channel(self, topic: str) -> dict | None:
        for ch in list(self.channels.values()):
            if ch["topic"] == topic:
                return ch
        return None

    def wait_channel(self, topic: str, timeout: float = 15.0) -> dict:
        return self.wait(lambda: self.channel(topic), timeout, f"channel {topic}")

    def wait_status(self, text: str, timeout: float = 10.0) -> dict:
        return self.wait(
            lambda: next((s for s in self.statuses if text in s.get("message", "")), None),
            timeout,
            f"status containing {text!r}",
        )

    def next_message(self, sub_id: int, timeout: float = 10.0):
        q = self.messages[sub_id]
        return self.wait(
            lambda: q.popleft() if q else None, timeout, f"message on subscription {sub_id}"
        )

    # -- sending -------------------------------------------------------------------------
    def send_json(self, op: dict) -> None:
        self.ws.send(json.dumps(op))

    def subscribe(self, channel_id: int) -> int:
        sub_id = self._next_sub
        self._next_sub += 1
        self._subs[sub_id] = channel_id
        self._send_subscribe(sub_id, channel_id)
        return sub_id

    def _send_subscribe(self, sub_id: int, channel_id: int) -> None:
        self.send_json(
            {"op": "subscribe", "subscriptions": [{"id": sub_id, "channelId": channel_id}]}
        )

    def unsubscribe(self, sub_id: int) -> None:
        self._subs.pop(sub_id, None)
        self.send_json({"op": "unsubscribe", "subscriptionIds": [sub_id]})

    def advertise(self, topic: str, schema_name: str, encoding: str = "cdr") -> int:
        cid = self._next_client_channel
        self._next_client_channel += 1
        self.send_json(
            {
                "op": "advertise",
                "channels": [
                    {"id": cid, "topic": topic, "encoding": encoding, "schemaName": schema_name}
                ],
            }
        )
        return cid

    def publish(self, client_channel_id: int, payload: bytes) -> None:
        self.ws.send(struct.pack("<BI", 0x01, client_channel_id) + payload)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
