"""Real mosquitto brokers, certificates and MQTT clients for the edgebot_mqtt tests."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import threading

import paho.mqtt.client as mqtt
import yaml

from edgebot_testing import free_port, wait_for

MOSQUITTO = "/usr/sbin/mosquitto"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(d: pathlib.Path) -> dict:
    """A CA, a server cert for localhost/127.0.0.1, a client cert, and an unrelated CA."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "wrong_ca"):
        _run(
            [
                "openssl",
                "req",
                "-x509",
                *ec,
                "-keyout",
                f"{ca}.key",
                "-out",
                f"{ca}.crt",
                "-days",
                "2",
                "-subj",
                f"/CN=edgebot test {ca}",
            ],
            d,
        )
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, signer in (("server", "ca"), ("client", "ca"), ("rogue_client", "wrong_ca")):
        _run(
            [
                "openssl",
                "req",
                "-new",
                *ec,
                "-keyout",
                f"{name}.key",
                "-out",
                f"{name}.csr",
                "-subj",
                f"/CN=edgebot-{name}",
            ],
            d,
        )
        ext = "server.ext" if name == "server" else "client.ext"
        _run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                f"{name}.csr",
                "-CA",
                f"{signer}.crt",
                "-CAkey",
                f"{signer}.key",
                "-CAcreateserial",
                "-out",
                f"{name}.crt",
                "-days",
                "2",
                "-extfile",
                ext,
            ],
            d,
        )
    return {
        k: str(d / k)
        for k in (
            "ca.crt",
            "wrong_ca.crt",
            "server.crt",
            "server.key",
            "client.crt",
            "client.key",
            "rogue_client.crt",
            "rogue_client.key",
        )
    }


class Mosquitto:
    """A mosquitto process with a generated config; listeners on free ports.

    ``users`` {name: password} turns on the password file; ``acl`` is the ACL file text;
    ``tls`` (certs dict) adds a mutual-TLS listener; ``ws`` a WebSockets listener.
    """

    def __init__(
        self,
        procs,
        workdir: pathlib.Path,
        users: dict | None = None,
        acl: str | None = None,
        tls: dict | None = None,
        ws: bool = False,
        persistence: bool = False,
        port: int | None = None,
        extra: list[str] | None = None,
    ):
        self.procs = procs
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.ws_port = free_port() if ws else None
        lines = []
        if os.geteuid() == 0:
            lines.append("user root")
        lines += [
            f"pid_file {self.dir / 'mosquitto.pid'}",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "per_listener_settings false",
            "max_inflight_messages 0",
            "max_queued_messages 0",
        ]
        if persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.dir}/",
                "autosave_interval 1",
            ]
        else:
            lines.append("persistence false")
        if users:
            pw = self.dir / "passwd"
            pw.write_text("")
            for u, p in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(pw), u, p],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            lines += [f"password_file {pw}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if acl:
            (self.dir / "acl").write_text(acl)
            lines.append(f"acl_file {self.dir / 'acl'}")
        lines += list(extra or [])
        lines.append(f"listener {self.port} 127.0.0.1")
        if tls:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {tls['ca.crt']}",
                f"certfile {tls['server.crt']}",
                f"keyfile {tls['server.key']}",
                "require_certificate true",
                "tls_version tlsv1.2",
            ]
        if ws:
            lines += [f"listener {self.ws_port} 127.0.0.1", "protocol websockets"]
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self, timeout: float = 30.0) -> Mosquitto:
        self.proc = self.procs.start([MOSQUITTO, "-c", str(self.conf)], name="mosquitto")
        for p in (self.port, self.tls_port, self.ws_port):
            if p:
                wait_for(
                    lambda p=p: (
                        port_open(p)
                        or (
                            not self.proc.running()
                            and (_ for _ in ()).throw(RuntimeError(self.proc.output()))
                        )
                    ),
                    timeout,
                    what=f"mosquitto on port {p}",
                )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=10)
            self.proc = None


class Collector:
    """A paho subscriber in the test process that records every message it gets."""

    def __init__(
        self,
        port: int,
        topics,
        host: str = "127.0.0.1",
        client_id: str = "",
        username: str = "",
        password: str = "",
        persistent: bool = False,
        protocol: int = mqtt.MQTTv5,
    ):
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # every topic of the latest connect acknowledged
        self._pending_subs = set()
        kw = {}
        if protocol == mqtt.MQTTv311:
            kw["clean_session"] = not persistent
        self.c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{os.getpid()}-{id(self)}",
            protocol=protocol,
            **kw,
        )
        if username:
            self.c.username_pw_set(username, password)
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_disconnect = lambda *a: self.connected.clear()
        self.c.reconnect_delay_set(0.2, 1.0)
        self.persistent = persistent
        self.protocol = protocol
        if protocol == mqtt.MQTTv5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            if persistent:
                props.SessionExpiryInterval = 3600
            self.c.connect_async(host, port, clean_start=not persistent, properties=props)
        else:
            self.c.connect_async(host, port)
        self.c.loop_start()
        if not self.connected.wait(30):
            raise TimeoutError(f"collector could not connect to {host}:{port}")
        # messages published before the broker acknowledged the subscriptions are not ours
        if not self.subscribed.wait(30):
            raise TimeoutError(f"no SUBACK from {host}:{port} for {self.topics}")

    def _on_connect(self, client, userdata, flags, rc, props):
        with self.lock:
            self.subscribed.clear()
            self._pending_subs = set()
            for t in self.topics:
                self._pending_subs.add(client.subscribe(t, qos=1)[1])
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, props):
        with self.lock:
            self._pending_subs.discard(mid)
            if not self._pending_subs:
                self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append(msg)

    def payloads(self, topic: str | None = None) -> list:
        with self.lock:
            return [m.payload for m in self.messages if topic is None or m.topic == topic]

    def entries(self, topic: str | None = None) -> list:
        """Telemetry entries {seq, stamp, data} (batches unpacked)."""
        out = []
        for p in self.payloads(topic):
            obj = json.loads(p)
            out.extend(obj["batch"] if isinstance(obj, dict) and "batch" in obj else [obj])
        return out

    def close(self) -> None:
        self.c.loop_stop()
        try:
            self.c.disconnect()
        except Exception:
            pass


def publisher(
    port: int,
    host: str = "127.0.0.1",
    username: str = "",
    password: str = "",
    protocol: int = mqtt.MQTTv5,
) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    if username:
        c.username_pw_set(username, password)
    c.connect(host, port)
    c.loop_start()
    return c


def write_mapping(path: pathlib.Path, data: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def dedupe(entries: list) -> list:
    """Consumer-side: keep the first entry per seq, drop any seq not above the last kept."""
    out, last = [], 0
    for e in entries:
        if e["seq"] > last:
            out.append(e)
            last = e["seq"]
    return out


def stats_of(msgs) -> dict:
    return json.loads(msgs[-1].data) if msgs else {}


def start_bridge(
    procs,
    tmp_path,
    port,
    telemetry=(),
    commands=(),
    services=(),
    extra=None,
    params=None,
    name="mqtt_bridge",
):
    data = {
        "robot_id": "r1",
        "broker": {
            "host": "127.0.0.1",
            "port": port,
            "connect_timeout": 5,
            "reconnect": {"initial": 0.2, "max": 1.0},
        },
        "command_filter": "edgebot/{robot_id}/cmd/#",
        "spool": {"path": str(tmp_path / "spool.db")},
        "telemetry": list(telemetry),
        "commands": list(commands),
        "services": list(services),
    }
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k].update(v)
        else:
            data[k] = v
    path = write_mapping(tmp_path / f"{name}.yaml", data)
    p = {"config": path, "stats_period": 0.2}
    p.update(params or {})
    return procs.node("edgebot_mqtt", "mqtt_bridge", params=p, name=name)


def prime(pub, probe, arrived, timeout: float = 60.0, period: float = 0.2) -> int:
    """Publish ``probe(k)`` (k = 0, 1, ...) every ``period`` s until ``arrived()``.

    Discovery is asymmetric: ``wait_subscribers`` proves that our writer matched the bridge's
    reader, not that the bridge's reader matched our writer, and until it has, what we publish
    is lost. A probe that came through proves the match (the bridge's readers live in one
    participant, so one route's probe stands for all routes on the topic). Probes must be
    recognisable so that the checks can leave them out. Returns the number of probes sent."""
    sent = [0]

    def step():
        if arrived():
            return True
        pub.publish(probe(sent[0]))
        sent[0] += 1
        return False

    wait_for(step, timeout, interval=period, what="a probe through the bridge (DDS matched)")
    return sent[0]
