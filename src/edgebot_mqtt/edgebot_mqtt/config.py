"""The bridge configuration (mapping file + profile + overrides): loading and validation, ROS-free.

``load(path, overrides)`` reads the mapping YAML, merges it over its profile (``profile: aws_iot``
-> ``mqtt/aws_iot.yaml`` next to the mapping file, or a path) and the overrides (from ROS
parameters) over it, checks every key and returns a :class:`BridgeConfig`. Errors are
:class:`ConfigError` naming the key path, the value and what is allowed, e.g.::

    telemetry[2].qos = 3: must be one of [0, 1]
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import yaml

from edgebot_common.msg_dict import get_message_class


class ConfigError(ValueError):
    pass


_MISSING = object()
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


def _err(path: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{path} = {value!r}: {allowed}")


def deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (top or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class _Section:
    """Typed reads from one mapping with paths for error messages; unknown keys are errors."""

    def __init__(self, data: Any, path: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise _err(path or "<root>", data, "must be a mapping")
        self.data = data
        self.path = path
        self.used = set()

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, typ, default=_MISSING, choices=None, min=None, max=None):
        self.used.add(key)
        p = self._p(key)
        if key not in self.data or self.data[key] is None:
            if default is _MISSING:
                raise _err(p, None, "is required")
            return default
        v = self.data[key]
        if typ is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _err(p, v, "must be a number")
            v = float(v)
        elif typ is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise _err(p, v, "must be an integer")
        elif typ is bool:
            if not isinstance(v, bool):
                raise _err(p, v, "must be true or false")
        elif typ is str:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = str(v)
            if not isinstance(v, str):
                raise _err(p, v, "must be a string")
        elif typ is list:
            if not isinstance(v, list):
                raise _err(p, v, "must be a list")
        elif typ is dict:
            if not isinstance(v, dict):
                raise _err(p, v, "must be a mapping")
        if choices is not None and v not in choices:
            raise _err(p, v, f"must be one of {list(choices)}")
        if min is not None and v < min:
            raise _err(p, v, f"must be >= {min}")
        if max is not None and v > max:
            raise _err(p, v, f"must be <= {max}")
        return v

    def section(self, key: str) -> "_Section":
        self.used.add(key)
        return _Section(self.data.get(key), self._p(key))

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise _err(self._p(extra[0]), self.data[extra[0]],
                       f"unknown key (allowed: {', '.join(sorted(self.used))})")


def expand(template: str, robot_id: str, path: str) -> str:
    for name in _PLACEHOLDER.findall(template):
        if name != "robot_id":
            raise _err(path, template, "only the placeholder {robot_id} is allowed")
    return template.replace("{robot_id}", robot_id)


def check_mqtt_topic(topic: str, path: str, wildcards: bool = False) -> str:
    if not topic or len(topic.encode()) > 65535 or "\0" in topic:
        raise _err(path, topic, "must be a non-empty MQTT topic")
    if not wildcards and ("+" in topic or "#" in topic):
        raise _err(path, topic, "must not contain wildcards + or #")
    if wildcards and "#" in topic and not topic.endswith("#"):
        raise _err(path, topic, "'#' only at the end")
    return topic


def check_ros_name(name: str, path: str) -> str:
    if not re.fullmatch(r"~?/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*", name or ""):
        raise _err(path, name, "must be a valid ROS name (letters, digits, _, /)")
    return name


def check_type(name: str, path: str, kind: str = "msg"):
    try:
        cls = get_message_class(name)
    except ValueError as e:
        raise _err(path, name, str(e)) from None
    if kind == "msg" and not hasattr(cls, "get_fields_and_field_types"):
        raise _err(path, name, "is not a message type")
    if kind == "srv" and not hasattr(cls, "Request"):
        raise _err(path, name, "is not a service type (pkg/srv/Name)")
    return cls


def check_field_path(cls, dotted: str, path: str) -> str:
    """The dotted field path exists in the message class."""
    cur = cls
    for part in dotted.split("."):
        fields = cur.get_fields_and_field_types() if cur is not None else {}
        if part not in fields:
            raise _err(path, dotted, f"no field {part!r} (fields: {', '.join(fields)})")
        ftype = fields[part]
        if "/" in ftype and not ftype.startswith("sequence") and "[" not in ftype:
            cur = get_message_class(ftype)
        else:
            cur = None
    return dotted


# -- the configuration objects -----------------------------------------------------------------
@dataclass
class TlsConfig:
    enabled: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    insecure: bool = False


@dataclass
class BrokerConfig:
    host: str = "localhost"
    port: int = 1883
    transport: str = "tcp"
    ws_path: str = "/mqtt"
    protocol: str = "5"
    client_id: str = ""
    keepalive: int = 30
    clean_start: bool = True
    session_expiry: int = 0
    connect_timeout: float = 10.0
    username: str = ""
    password: str = ""
    embedded: bool = False
    tls: TlsConfig = field(default_factory=TlsConfig)
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0


@dataclass
class Limits:
    max_publish_rate: float = 0.0  # publishes per second per connection, 0 = unlimited
    max_payload: int = 268435455
    max_inflight: int = 100


@dataclass
class SpoolConfig:
    path: str = ""
    max_bytes: int = 64 * 1024 * 1024
    max_messages: int = 1_000_000
    max_age: float = 7 * 24 * 3600.0


@dataclass
class TelemetryRoute:
    ros_topic: str
    type: str
    mqtt_topic: str
    qos: int = 1
    retain: bool = False
    max_rate: float = 0.0
    fields: List[str] = field(default_factory=list)
    encoding: str = "json"
    bytes: str = "omit"
    batch_max_messages: int = 1
    batch_max_delay: float = 0.0
    ros_qos: str = "reliable"
    ros_depth: int = 100
    image_max_width: int = 0  # > 0: send a downsampled JPEG of an Image/CompressedImage
    image_quality: int = 70


@dataclass
class CommandRoute:
    mqtt_topic: str
    ros_topic: str
    type: str
    required: List[str] = field(default_factory=list)
    ranges: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    max_size: int = 4096
    max_rate: float = 10.0
    qos: int = 1


@dataclass
class ServiceRoute:
    mqtt_topic: str
    service: str
    type: str
    required: List[str] = field(default_factory=list)
    ranges: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    max_size: int = 4096
    max_rate: float = 2.0
    timeout: float = 5.0


@dataclass
class BridgeConfig:
    robot_id: str
    broker: BrokerConfig
    limits: Limits
    spool: SpoolConfig
    status_topic: str
    errors_topic: str
    command_filter: str
    telemetry: List[TelemetryRoute]
    commands: List[CommandRoute]
    services: List[ServiceRoute]
    profile: str = ""
    notes: List[str] = field(default_factory=list)  # warnings for the log


def _ranges(sec: _Section, key: str, cls) -> Dict[str, Tuple[float, float]]:
    raw = sec.get(key, dict, {})
    out = {}
    for fpath, bounds in raw.items():
        p = f"{sec._p(key)}.{fpath}"
        check_field_path(cls, str(fpath), p)
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
                or bounds[0] > bounds[1]):
            raise _err(p, bounds, "must be [min, max] numbers with min <= max")
        out[str(fpath)] = (float(bounds[0]), float(bounds[1]))
    return out


def _fields(sec: _Section, key: str, cls) -> List[str]:
    out = []
    for i, f in enumerate(sec.get(key, list, [])):
        p = f"{sec._p(key)}[{i}]"
        if not isinstance(f, str):
            raise _err(p, f, "must be a dotted field name")
        out.append(check_field_path(cls, f, p))
    return out


def parse(data: dict, base_dir: str = ".") -> BridgeConfig:
    root = _Section(data, "")
    profile = root.get("profile", str, "")
    robot_id = root.get("robot_id", str, "robot")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", robot_id):
        raise _err("robot_id", robot_id, "letters, digits, _ and - only")

    b = root.section("broker")
    tls_s = b.section("tls")
    tls = TlsConfig(
        enabled=tls_s.get("enabled", bool, False),
        ca_file=tls_s.get("ca_file", str, ""),
        cert_file=tls_s.get("cert_file", str, ""),
        key_file=tls_s.get("key_file", str, ""),
        insecure=tls_s.get("insecure", bool, False),
    )
    tls_s.done()
    for key in ("ca_file", "cert_file", "key_file"):
        v = getattr(tls, key)
        if v:
            v = os.path.expanduser(v)
            if not os.path.isabs(v):
                v = os.path.join(base_dir, v)
            setattr(tls, key, v)
            if tls.enabled and not os.path.isfile(v):
                raise _err(f"broker.tls.{key}", v, "file does not exist")
    if tls.enabled and bool(tls.cert_file) != bool(tls.key_file):
        raise _err("broker.tls.key_file", tls.key_file, "cert_file and key_file go together")
    rc = b.section("reconnect")
    broker = BrokerConfig(
        host=b.get("host", str, "localhost"),
        port=b.get("port", int, 8883 if tls.enabled else 1883, min=0, max=65535),
        transport=b.get("transport", str, "tcp", choices=["tcp", "websockets"]),
        ws_path=b.get("ws_path", str, "/mqtt"),
        protocol=b.get("protocol", str, "5", choices=["5", "3.1.1"]),
        client_id=b.get("client_id", str, "edgebot-{robot_id}"),
        keepalive=b.get("keepalive", int, 30, min=2, max=65535),
        clean_start=b.get("clean_start", bool, True),
        session_expiry=b.get("session_expiry", int, 0, min=0),
        connect_timeout=b.get("connect_timeout", float, 10.0, min=0.1),
        username=b.get("username", str, ""),
        password=b.get("password", str, ""),
        embedded=b.get("embedded", bool, False),
        tls=tls,
        reconnect_initial=rc.get("initial", float, 0.5, min=0.01),
        reconnect_max=rc.get("max", float, 30.0, min=0.01),
    )
    rc.done()
    b.done()
    if broker.reconnect_max < broker.reconnect_initial:
        raise _err("broker.reconnect.max", broker.reconnect_max, "must be >= broker.reconnect.initial")
    broker.client_id = expand(broker.client_id, robot_id, "broker.client_id")
    if broker.embedded:
        if broker.protocol != "3.1.1":
            broker.protocol = "3.1.1"  # amqtt speaks MQTT 3.1.1
        if broker.transport != "tcp" or tls.enabled:
            raise _err("broker.embedded", True, "the embedded broker serves plain TCP only")

    lim = root.section("limits")
    limits = Limits(
        max_publish_rate=lim.get("max_publish_rate", float, 0.0, min=0.0),
        max_payload=lim.get("max_payload", int, 268435455, min=64),
        max_inflight=lim.get("max_inflight", int, 100, min=1, max=65535),
    )
    lim.done()

    sp = root.section("spool")
    spool = SpoolConfig(
        path=sp.get("path", str, "~/.local/state/edgebot/mqtt_spool_{robot_id}.db"),
        max_bytes=sp.get("max_bytes", int, 64 * 1024 * 1024, min=1024),
        max_messages=sp.get("max_messages", int, 1_000_000, min=1),
        max_age=sp.get("max_age", float, 7 * 24 * 3600.0, min=1.0),
    )
    sp.done()
    spool.path = os.path.expanduser(expand(spool.path, robot_id, "spool.path"))
    if spool.path != ":memory:" and not os.path.isabs(spool.path):
        spool.path = os.path.join(base_dir, spool.path)

    status_topic = check_mqtt_topic(expand(root.get("status_topic", str, "edgebot/{robot_id}/status"),
                                           robot_id, "status_topic"), "status_topic")
    errors_topic = check_mqtt_topic(expand(root.get("errors_topic", str, "edgebot/{robot_id}/errors"),
                                           robot_id, "errors_topic"), "errors_topic")
    command_filter = root.get("command_filter", str, "")
    if command_filter:
        command_filter = check_mqtt_topic(expand(command_filter, robot_id, "command_filter"),
                                          "command_filter", wildcards=True)

    telemetry = []
    seen_pub = set()
    for i, item in enumerate(root.get("telemetry", list, [])):
        s = _Section(item, f"telemetry[{i}]")
        typ = s.get("type", str)
        cls = check_type(typ, f"telemetry[{i}].type")
        bat = s.section("batch")
        img = s.section("image")
        r = TelemetryRoute(
            ros_topic=check_ros_name(s.get("ros_topic", str), f"telemetry[{i}].ros_topic"),
            type=typ,
            mqtt_topic=check_mqtt_topic(expand(s.get("mqtt_topic", str), robot_id,
                                               f"telemetry[{i}].mqtt_topic"),
                                        f"telemetry[{i}].mqtt_topic"),
            qos=s.get("qos", int, 1, choices=[0, 1]),
            retain=s.get("retain", bool, False),
            max_rate=s.get("max_rate", float, 0.0, min=0.0),
            fields=_fields(s, "fields", cls),
            encoding=s.get("encoding", str, "json", choices=["json", "cdr"]),
            bytes=s.get("bytes", str, "omit", choices=["omit", "base64", "list"]),
            batch_max_messages=bat.get("max_messages", int, 1, min=1, max=10000),
            batch_max_delay=bat.get("max_delay", float, 0.0, min=0.0),
            ros_qos=s.get("ros_qos", str, "reliable",
                          choices=["reliable", "sensor_data", "latest_only", "latched"]),
            ros_depth=s.get("ros_depth", int, 100, min=1, max=10000),
            image_max_width=img.get("max_width", int, 0, min=0, max=8192),
            image_quality=img.get("quality", int, 70, min=1, max=100),
        )
        bat.done()
        img.done()
        if img.data and (typ.replace("/msg/", "/") not in ("sensor_msgs/Image",
                                                          "sensor_msgs/CompressedImage")):
            raise _err(f"telemetry[{i}].image", img.data,
                       "only for sensor_msgs/msg/Image or sensor_msgs/msg/CompressedImage")
        if img.data and (r.image_max_width <= 0 or r.encoding != "json" or r.fields):
            raise _err(f"telemetry[{i}].image", img.data,
                       "needs max_width > 0, encoding json and no fields")
        s.done()
        if r.encoding == "cdr" and (r.fields or r.batch_max_messages > 1):
            raise _err(f"telemetry[{i}].encoding", "cdr", "raw CDR takes no fields or batch")
        if r.batch_max_messages > 1 and r.batch_max_delay <= 0:
            raise _err(f"telemetry[{i}].batch.max_delay", r.batch_max_delay,
                       "must be > 0 when batch.max_messages > 1")
        if (r.ros_topic, r.mqtt_topic) in seen_pub:
            raise _err(f"telemetry[{i}]", r.ros_topic, "duplicate route")
        seen_pub.add((r.ros_topic, r.mqtt_topic))
        telemetry.append(r)

    commands = []
    seen_cmd = set()
    for i, item in enumerate(root.get("commands", list, [])):
        s = _Section(item, f"commands[{i}]")
        typ = s.get("type", str)
        cls = check_type(typ, f"commands[{i}].type")
        r = CommandRoute(
            mqtt_topic=check_mqtt_topic(expand(s.get("mqtt_topic", str), robot_id,
                                               f"commands[{i}].mqtt_topic"),
                                        f"commands[{i}].mqtt_topic"),
            ros_topic=check_ros_name(s.get("ros_topic", str), f"commands[{i}].ros_topic"),
            type=typ,
            required=_fields(s, "required", cls),
            ranges=_ranges(s, "ranges", cls),
            max_size=s.get("max_size", int, 4096, min=2),
            max_rate=s.get("max_rate", float, 10.0, min=0.0),
            qos=s.get("qos", int, 1, choices=[0, 1]),
        )
        s.done()
        if r.mqtt_topic in seen_cmd:
            raise _err(f"commands[{i}].mqtt_topic", r.mqtt_topic, "duplicate command topic")
        seen_cmd.add(r.mqtt_topic)
        commands.append(r)

    services = []
    for i, item in enumerate(root.get("services", list, [])):
        s = _Section(item, f"services[{i}]")
        typ = s.get("type", str)
        cls = check_type(typ, f"services[{i}].type", kind="srv")
        r = ServiceRoute(
            mqtt_topic=check_mqtt_topic(expand(s.get("mqtt_topic", str), robot_id,
                                               f"services[{i}].mqtt_topic"),
                                        f"services[{i}].mqtt_topic"),
            service=check_ros_name(s.get("service", str), f"services[{i}].service"),
            type=typ,
            required=_fields(s, "required", cls.Request),
            ranges=_ranges(s, "ranges", cls.Request),
            max_size=s.get("max_size", int, 4096, min=2),
            max_rate=s.get("max_rate", float, 2.0, min=0.0),
            timeout=s.get("timeout", float, 5.0, min=0.1),
        )
        s.done()
        if r.mqtt_topic in seen_cmd:
            raise _err(f"services[{i}].mqtt_topic", r.mqtt_topic, "topic already used")
        seen_cmd.add(r.mqtt_topic)
        services.append(r)
    notes = []
    if services and broker.embedded:
        notes.append(f"{len(services)} service route(s) left out: the embedded broker speaks "
                     "MQTT 3.1.1, request/response needs MQTT 5")
        services = []
    if services and broker.protocol != "5":
        raise _err("services", f"{len(services)} entries",
                   "MQTT request/response needs broker.protocol 5")
    root.done()
    return BridgeConfig(robot_id=robot_id, broker=broker, limits=limits, spool=spool,
                        status_topic=status_topic, errors_topic=errors_topic,
                        command_filter=command_filter, telemetry=telemetry, commands=commands,
                        services=services, profile=profile, notes=notes)


def resolve_profile(profile: str, base_dir: str) -> Optional[str]:
    if not profile:
        return None
    candidates = [profile] if profile.endswith((".yaml", ".yml")) else []
    candidates.append(os.path.join(base_dir, "mqtt", f"{profile}.yaml"))
    for c in candidates:
        c = c if os.path.isabs(c) else os.path.join(base_dir, c)
        if os.path.isfile(c):
            return c
    raise _err("profile", profile, f"no profile file (looked for {', '.join(candidates)})")


def read_yaml(path: str, what: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise _err(what, path, f"cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise _err(what, path, f"invalid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _err(what, path, "must contain a mapping")
    return data


def load(path: str = "", overrides: Optional[dict] = None) -> BridgeConfig:
    """Mapping file (may be empty: only overrides) + its profile + overrides -> BridgeConfig."""
    data: dict = read_yaml(path, "config") if path else {}
    base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    profile = (overrides or {}).get("profile") or data.get("profile") or ""
    merged = data
    prof_path = resolve_profile(str(profile), base_dir)
    if prof_path:
        prof = read_yaml(prof_path, "profile")
        prof.pop("profile", None)
        merged = deep_merge(prof, data)
    merged = deep_merge(merged, overrides or {})
    return parse(merged, base_dir)
