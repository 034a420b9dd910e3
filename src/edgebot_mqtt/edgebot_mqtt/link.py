"""MQTT connection manager over paho-mqtt 2.x with the durable spool as its outbox (ROS-free).

Threads: the caller (a ROS callback) calls :meth:`MqttLink.send`; one network thread owns the
connection (connect, TLS/WebSocket, CONNACK timeout, keep-alive, reconnect with backoff) and all
socket I/O (paho's ``loop()``; a publish from another thread only queues the packet and wakes
the loop, so packets leave in the order they were queued).

Delivery: a QoS 1 message — and any message while the broker is unreachable or a backlog
exists — is appended to the :class:`~.spool.Spool` (committed) and then handed to paho from the
spool in sequence order, at most ``max_inflight`` unacknowledged at a time and at most
``max_publish_rate`` per second. Its row is deleted when the PUBACK arrives. On a reconnect the
in-flight window is forgotten and the spool is replayed from its oldest row, so a message whose
PUBACK was lost is sent again (same ``seq``: consumers drop the duplicate). Each connection uses a
fresh paho client, so paho's in-memory resend queue never duplicates the spool's replay.
A QoS 0 message while connected and with no backlog is published directly (not spooled).
"""

from __future__ import annotations

import collections
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edgebot_common.backoff import Backoff

from .config import BrokerConfig, Limits
from .ratelimit import TokenBucket
from .spool import Spool

LATENCY_SAMPLES = 2048
#: a message that was the oldest unacknowledged one when the broker closed the connection this
#: many times in a row (sent alone each time) is dropped as undeliverable ("poison")
POISON_STRIKES = 3


def matches(filt: str, topic: str) -> bool:
    """MQTT topic filter match (+ one level, # the rest)."""
    f, t = filt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


def _percentile(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


class MqttLink:
    def __init__(
        self,
        broker: BrokerConfig,
        limits: Limits,
        spool: Spool,
        status_topic: str = "",
        subscriptions: list[tuple[str, int]] | None = None,
        on_message: Callable[[mqtt.MQTTMessage], None] | None = None,
        on_state: Callable[[bool, str], None] | None = None,
        log: Callable[[str], None] = print,
    ):
        self.broker = broker
        self.limits = limits
        self.spool = spool
        self.status_topic = status_topic
        self.subscriptions = list(subscriptions or [])
        self.on_message = on_message
        self.on_state = on_state
        #: extensions (e.g. Home Assistant discovery) register here, before start():
        #: (filter, handler) for MQTT messages of their own, callables run on every connect
        self._handlers: list[tuple[str, Callable[[mqtt.MQTTMessage], None]]] = []
        self._on_connect_hooks: list[Callable[[], None]] = []
        self.log = log
        self.v5 = broker.protocol == "5"
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._connected = False
        self._acks: collections.deque = collections.deque()
        self._inflight: dict = {}  # mid -> (seq or None, created wall time)
        self._cursor = 0  # highest spool seq handed to paho on this connection
        self._spool_top = spool.last_seq()
        self._bucket = TokenBucket(limits.max_publish_rate, burst=max(1.0, limits.max_publish_rate))
        self._backoff = Backoff(broker.reconnect_initial, broker.reconnect_max)
        self._latency: collections.deque = collections.deque(maxlen=LATENCY_SAMPLES)
        self._probe = False  # after a lost connection: one in flight until an ack
        self._strike_seq = None
        self._strikes = 0
        self.state = "starting"
        #: connection only: why the last connect failed or the connection was lost ("" while
        #: connected; cleared on connect), and when (wall time)
        self.last_error = ""
        self.last_error_at: float | None = None
        self.since = time.time()  # wall time of the last change of ``state``
        #: delivery problems (drops, refusals), never mixed into ``last_error``
        self.last_problem = ""
        #: per MQTT topic: qos, publishes handed in ("messages") and acknowledged by the broker
        self.by_topic: dict = {}
        self.last_refusal = ""
        self.counters = collections.Counter()

    # -- public API ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)
        self._thread.start()

    def add_subscription(
        self, topic: str, qos: int = 1, handler: Callable[[mqtt.MQTTMessage], None] | None = None
    ) -> None:
        """Subscribe to ``topic`` on every connect; messages matching it go to ``handler``
        (instead of ``on_message``) when one is given. Call before :meth:`start`."""
        self.subscriptions.append((topic, qos))
        if handler is not None:
            self._handlers.append((topic, handler))

    def add_on_connect(self, hook: Callable[[], None]) -> None:
        """``hook()`` runs on the network thread after every successful connect (publish
        retained state such as discovery configs from it with :meth:`publish_now`)."""
        self._on_connect_hooks.append(hook)

    def stop(self, timeout: float = 3.0) -> None:
        """Publish ``offline`` (retained), disconnect cleanly, stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            c = self._client
            if c is not None and self._connected:
                try:
                    if self.status_topic:
                        info = c.publish(self.status_topic, b"offline", qos=1, retain=True)
                        deadline = time.monotonic() + 1.0
                        while not info.is_published() and time.monotonic() < deadline:
                            c.loop(0.02)
                    c.disconnect()
                    c.loop(0.05)
                except Exception:
                    pass
            self._connected = False
            self._client = None

    def send(
        self,
        topic: str,
        payload_for: Callable[[list[int]], bytes],
        count: int = 1,
        qos: int = 1,
        retain: bool = False,
        seq_property: bool = False,
    ) -> list[int] | None:
        """Queue one MQTT message carrying ``count`` sequence numbers.

        ``payload_for(seqs)`` builds the payload once the numbers are allocated. Returns the
        numbers, or None when the message was dropped (too large). The counters (sent,
        delivered, dropped, ...) count MQTT publishes: a batch is one.
        """
        with self._lock:
            seqs = [self.spool.next_seq() for _ in range(count)]
            payload = payload_for(seqs)
            if len(payload) > self.limits.max_payload:
                self.counters["dropped_oversize"] += 1
                self.counters["dropped"] += 1
                self._topic(topic, qos)["dropped"] += 1
                self._note(
                    f"dropped {len(payload)}-byte message for {topic}: larger than "
                    f"max_payload {self.limits.max_payload}"
                )
                return None
            self.counters["messages"] += count
            self._topic(topic, qos)["messages"] += 1
            backlog = self._cursor < self._spool_top
            if (
                qos == 0
                and self._connected
                and not backlog
                and self._client is not None
                and not self._probe
                and self._bucket.take()
            ):
                props = self._seq_props(seqs[0]) if seq_property else None
                info = self._client.publish(topic, payload, qos=0, retain=retain, properties=props)
                if info.rc == mqtt.MQTT_ERR_SUCCESS:
                    self._inflight[info.mid] = (None, time.time(), 1, topic)
                    self.counters["sent"] += 1
                    return seqs
            try:
                dropped = self.spool.append(seqs[0], topic, payload, qos, retain, seq_property)
            except ValueError as e:  # larger than the whole spool
                self.counters["dropped"] += 1
                self._note(str(e))
                return None
            self.counters["spooled_total"] += 1
            if dropped:
                self.counters["dropped"] += dropped
                self._note(f"spool full: dropped the {dropped} oldest message(s)")
            prev_top, self._spool_top = self._spool_top, seqs[0]
            if (
                self._connected
                and self._client is not None
                and self._cursor >= prev_top
                and len(self._inflight) < self._window()
                and self._bucket.take()
            ):
                # no backlog: the row is on disk, send it from memory (no read back)
                props = self._seq_props(seqs[0]) if seq_property else None
                info = self._client.publish(
                    topic, payload, qos=qos, retain=retain, properties=props
                )
                if info.rc == mqtt.MQTT_ERR_SUCCESS:
                    self._inflight[info.mid] = (seqs[0], time.time(), 1, topic)
                    self._cursor = seqs[0]
                    self.counters["sent"] += 1
                    return seqs
            self._pump()
            return seqs

    def publish_now(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> bool:
        """Best-effort publish that bypasses the spool (error reports, service responses,
        extensions' retained state). It is charged to ``max_publish_rate`` like telemetry: the
        budget may go into debt, and telemetry waits until it is paid back."""
        with self._lock:
            if not self._connected or self._client is None:
                return False
            info = self._client.publish(
                topic, payload, qos=qos, retain=retain, properties=properties
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            self._bucket.charge()
            self.counters["published_direct"] += 1
            return True

    def stats(self) -> dict:
        with self._lock:
            lat = sorted(self._latency)
            sp = self.spool.stats()
            out = {
                "connected": self._connected,
                "state": self.state,
                "connection": {
                    "connected": self._connected,
                    "state": self.state,
                    "since": round(self.since, 3),
                    "last_error": self.last_error,
                    "last_error_at": (round(self.last_error_at, 3) if self.last_error_at else None),
                    "connects": self.counters["connects"],
                    "connect_failures": self.counters["connect_failures"],
                    "disconnects": self.counters["disconnects"],
                },
                "last_problem": self.last_problem,
                "by_topic": {t: dict(c) for t, c in self.by_topic.items()},
                "sent": self.counters["sent"],
                "delivered": self.counters["delivered"],
                "dropped": self.counters["dropped"] + sp["dropped_age"],
                "dropped_oversize": self.counters["dropped_oversize"],
                "dropped_spool_full": sp["dropped_full"],
                "dropped_spool_age": sp["dropped_age"],
                "broker_rejected": self.counters["broker_rejected"],
                "dropped_poison": self.counters["dropped_poison"],
                "last_refusal": self.last_refusal,
                "spooled": sp["depth"],
                "spool_bytes": sp["bytes"],
                "spooled_total": self.counters["spooled_total"],
                "spool_recovered": sp["recovered"],
                "inflight": len(self._inflight),
                "connects": self.counters["connects"],
                "disconnects": self.counters["disconnects"],
                "latency_p50_ms": round(_percentile(lat, 0.5) * 1e3, 3) if lat else None,
                "latency_p95_ms": round(_percentile(lat, 0.95) * 1e3, 3) if lat else None,
            }
        return out

    # -- internals -----------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.last_problem = text
        self.log(text)

    def _conn_error(self, text: str) -> None:
        self.last_error, self.last_error_at = text, time.time()
        self.log(text)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()

    def _topic(self, topic: str, qos: int) -> collections.Counter:
        c = self.by_topic.get(topic)
        if c is None:
            c = self.by_topic[topic] = collections.Counter(qos=qos)
        return c

    def _seq_props(self, seq: int) -> Properties | None:
        if not self.v5:
            return None
        p = Properties(PacketTypes.PUBLISH)
        p.UserProperty = ("seq", str(seq))
        return p

    def _window(self) -> int:
        return 1 if self._probe else self.limits.max_inflight

    def _pump(self) -> None:
        """Hand spool rows to paho in order while the window and the rate allow (under lock)."""
        if not self._connected or self._client is None or self._cursor >= self._spool_top:
            return
        window = self._window() - len(self._inflight)
        window = min(window, self._bucket.available())
        if window <= 0:
            return
        rows = self.spool.after(self._cursor, window)
        for row in rows:
            props = self._seq_props(row.seq) if row.seq_property else None
            info = self._client.publish(
                row.topic, row.payload, qos=row.qos, retain=row.retain, properties=props
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return
            self._bucket.take()
            self._inflight[info.mid] = (row.seq, row.created, 1, row.topic)
            self._cursor = row.seq
            self.counters["sent"] += 1
        if len(rows) < window:
            # nothing newer is left in the spool (rows above the cursor may have been dropped)
            self._cursor = max(self._cursor, self._spool_top)

    def _process_acks(self) -> None:
        if not self._acks:
            return
        with self._lock:
            done = []
            now = time.time()
            while self._acks:
                mid, rc = self._acks.popleft()
                entry = self._inflight.pop(mid, None)
                if entry is None:
                    continue
                seq, created, count, topic = entry
                if rc is not None and rc.is_failure:
                    self.counters["broker_rejected"] += count
                    self.counters["dropped"] += count
                    self.last_refusal = f"{rc.getName()} (seq {seq})"
                    self._note(f"broker refused message seq {seq}: {rc.getName()}; dropped")
                else:
                    self.counters["delivered"] += count
                    if topic in self.by_topic:
                        self.by_topic[topic]["acknowledged"] += count
                    self._latency.append(now - created)
                    self._probe = False
                    if seq is not None and seq == self._strike_seq:
                        self._strike_seq, self._strikes = None, 0
                if seq is not None:
                    done.append(seq)
            if done:
                self.spool.remove(done)
            self._pump()

    # paho callbacks (network thread) ------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._connack = ("refused", str(reason_code))
        else:
            self._connack = ("ok", "")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._lost = str(reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self._acks.append((mid, reason_code))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        for rc in reason_codes:
            if rc.is_failure:
                self._note(f"subscription refused by the broker: {rc}")
                self.counters["subscribe_refused"] += 1

    def _on_message(self, client, userdata, msg):
        handler = next((h for f, h in self._handlers if matches(f, msg.topic)), self.on_message)
        if handler is not None:
            try:
                handler(msg)
            except Exception as e:  # a bad handler must not kill the link
                self._note(f"command handler failed: {e!r}")

    def _new_client(self) -> mqtt.Client:
        b = self.broker
        proto = mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311
        kw = {} if self.v5 else {"clean_session": b.clean_start}
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=b.client_id,
            protocol=proto,
            transport=b.transport,
            reconnect_on_failure=False,
            **kw,
        )
        c.max_inflight_messages_set(max(self.limits.max_inflight, 1))
        c.max_queued_messages_set(0)
        c.connect_timeout = b.connect_timeout
        if b.transport == "websockets":
            c.ws_set_options(path=b.ws_path)
        if b.username:
            c.username_pw_set(b.username, b.password or None)
        if b.tls.enabled:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=b.tls.ca_file or None)
            if b.tls.cert_file:
                ctx.load_cert_chain(b.tls.cert_file, b.tls.key_file)
            if b.tls.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            c.tls_set_context(ctx)
        if self.status_topic:
            c.will_set(self.status_topic, b"offline", qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        # never write from the publishing thread: the network thread's loop() does all I/O
        c.on_socket_register_write = lambda client, userdata, sock: None
        return c

    def _connect_once(self) -> bool:
        b = self.broker
        self._set_state("connecting")
        c = self._new_client()
        self._connack = None
        self._lost = None
        props = None
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            if b.session_expiry:
                props.SessionExpiryInterval = b.session_expiry
        try:
            if self.v5:
                c.connect(
                    b.host,
                    b.port,
                    keepalive=b.keepalive,
                    clean_start=b.clean_start,
                    properties=props,
                )
            else:
                c.connect(b.host, b.port, keepalive=b.keepalive)
        except ssl.SSLCertVerificationError as e:
            return self._fail(c, f"TLS: broker certificate rejected: {e.verify_message}")
        except ssl.SSLError as e:
            return self._fail(c, f"TLS: {e.reason or e}")
        except TimeoutError:
            return self._fail(c, f"no answer from {b.host}:{b.port} within {b.connect_timeout:g} s")
        except OSError as e:
            return self._fail(c, f"cannot connect to {b.host}:{b.port}: {e.strerror or e}")
        except Exception as e:  # websocket handshake errors and similar
            return self._fail(c, f"cannot connect to {b.host}:{b.port}: {e}")
        deadline = time.monotonic() + b.connect_timeout
        while self._connack is None and not self._stop.is_set():
            rc = c.loop(0.05)
            if rc != mqtt.MQTT_ERR_SUCCESS and self._connack is None:
                return self._fail(
                    c,
                    f"connection closed before CONNACK ({mqtt.error_string(rc)}); "
                    "TLS client certificate or protocol refused?",
                )
            if time.monotonic() > deadline:
                return self._fail(
                    c, f"broker accepted TCP but sent no CONNACK within {b.connect_timeout:g} s"
                )
        if self._connack is None:
            return self._fail(c, "stopped")
        if self._connack[0] != "ok":
            return self._fail(c, f"broker refused the connection: {self._connack[1]}")
        with self._lock:
            self._client = c
            self._connected = True
            self._inflight.clear()
            self._acks.clear()
            self._cursor = 0
            self._set_state("connected")
            self.last_error, self.last_error_at = "", None
            self.counters["connects"] += 1
            if self.status_topic:
                c.publish(self.status_topic, b"online", qos=1, retain=True)
            for topic, qos in self.subscriptions:
                c.subscribe(topic, qos)
            self._pump()
        self._backoff.reset()
        for hook in self._on_connect_hooks:
            try:
                hook()
            except Exception as e:  # an extension must not kill the link
                self._note(f"on-connect hook failed: {e!r}")
        self.log(
            f"connected to {b.host}:{b.port} ({b.transport}{', TLS' if b.tls.enabled else ''})"
        )
        if self.on_state:
            self.on_state(True, "")
        return True

    def _fail(self, c: mqtt.Client, reason: str) -> bool:
        try:
            c.disconnect()
        except Exception:
            pass
        try:
            sock = c.socket()
            if sock is not None:
                sock.close()
        except Exception:
            pass
        self._set_state("disconnected")
        self.counters["connect_failures"] += 1
        delay = self._backoff.schedule()
        self._conn_error(f"{reason}; retrying in {delay:.1f} s")
        return False

    def _lost_connection(self, reason: str) -> None:
        with self._lock:
            self._poison_check(reason)
            c = self._client
            self._client = None
            self._connected = False
            self._inflight.clear()
            self._acks.clear()
            self._cursor = 0
            self._set_state("disconnected")
            self.counters["disconnects"] += 1
        try:
            if c is not None:
                sock = c.socket()
                if sock is not None:
                    sock.close()
        except Exception:
            pass
        delay = self._backoff.schedule()
        self._conn_error(f"connection lost ({reason}); retrying in {delay:.1f} s")
        if self.on_state:
            self.on_state(False, reason)

    def _poison_check(self, reason: str) -> None:
        """Called under lock when the broker closed a connection with messages in flight."""
        pending = [e[0] for e in self._inflight.values() if e[0] is not None]
        if not pending:
            return
        head = min(pending)
        if not self._probe:
            # the culprit may be any of the window: resend one at a time until an ack arrives
            self._probe = True
            return
        if head == self._strike_seq:
            self._strikes += 1
        else:
            self._strike_seq, self._strikes = head, 1
        if self._strikes >= POISON_STRIKES:
            self.spool.remove([head])
            self.counters["dropped_poison"] += 1
            self.counters["dropped"] += 1
            self.last_refusal = f"seq {head}: connection closed {self._strikes} times ({reason})"
            self._note(
                f"dropped message seq {head}: the broker closed the connection each of "
                f"{self._strikes} times it was sent alone ({reason}); too large for the "
                "broker or not allowed?"
            )
            self._strike_seq, self._strikes = None, 0

    def _run(self) -> None:
        last_expire = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last_expire > 5.0:
                last_expire = now
                with self._lock:
                    n = self.spool.expire()
                if n:
                    self._note(
                        f"dropped {n} spooled message(s) older than {self.spool.max_age_s:g} s"
                    )
            if not self._connected:
                if not self._backoff.due():
                    time.sleep(0.02)
                    continue
                if not self._connect_once():
                    continue
            c = self._client
            rc = c.loop(0.02) if c is not None else mqtt.MQTT_ERR_NO_CONN
            self._process_acks()
            if rc != mqtt.MQTT_ERR_SUCCESS or self._lost is not None:
                self._process_acks()
                self._lost_connection(self._lost or mqtt.error_string(rc))
                continue
            if self._connected and self._cursor < self._spool_top:  # re-checked under the lock
                with self._lock:
                    self._pump()
