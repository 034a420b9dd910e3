"""The bridge configuration (mapping file + profile + overrides): loading and validation, ROS-free.

``load(path, overrides)`` reads the mapping YAML, merges it over its profile (``profile: aws_iot``
-> ``mqtt/aws_iot.yaml`` next to the mapping file, or a path) and the overrides (from ROS
parameters) over it, checks every key and returns a :class:`BridgeConfig`.

Two passes, one definition of every key and default:

1. shape: pydantic models (the ones below) -- unknown keys forbidden, strict types (no bool
   for a number, no string for an integer), finite numbers only (NaN/inf rejected), ranges;
2. meaning: ``{robot_id}`` templates, MQTT topic and ROS name syntax, message types and field
   paths, file existence, combinations of keys (:func:`_finish`).

Errors are :class:`ConfigError` naming the file (when there is one), the key path, the value
and what is allowed, e.g.::

    /path/mqtt_bridge.yaml: telemetry[2].qos = 3: must be one of [0, 1]
"""

from __future__ import annotations

import copy
import os
import re
import typing
from typing import Annotated, Any, Optional

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    model_validator,
)

from edgebot_common.config_errors import key_path
from edgebot_common.msg_dict import MessageFieldError, from_dict, get_message_class

from .ha_discovery import HomeAssistantConfig, ha_command_filters, ha_command_routes


class ConfigError(ValueError):
    pass


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


# -- value types: strict, finite --------------------------------------------------------------
def _num_to_str(v):
    # YAML reads `protocol: 5` or `robot_id: 7` as numbers; they name strings here
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return v


def one_of(*values):
    def check(v):
        if v not in values:
            raise ValueError(f"must be one of {list(values)}")
        return v

    return AfterValidator(check)


Int = Annotated[int, Strict()]
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]  # strict float takes ints too
Bool = Annotated[bool, Strict()]
Str = Annotated[str, BeforeValidator(_num_to_str), Strict()]
Qos = Annotated[Int, one_of(0, 1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)

    @model_validator(mode="before")
    @classmethod
    def _none_is_default(cls, data):
        # `key:` with no value in YAML means "the default", as if the key were absent
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


# -- the configuration objects (one definition of each key and its default) --------------------
class TlsConfig(_Model):
    enabled: Bool = False
    ca_file: Str = ""
    cert_file: Str = ""
    key_file: Str = ""
    insecure: Bool = False


class ReconnectConfig(_Model):
    initial: Annotated[Float, Field(ge=0.01)] = 0.5
    max: Annotated[Float, Field(ge=0.01)] = 30.0


class BrokerConfig(_Model):
    host: Str = "localhost"
    port: Annotated[Int, Field(ge=0, le=65535)] | None = None  # None: 8883 with TLS, else 1883
    transport: Annotated[Str, one_of("tcp", "websockets")] = "tcp"
    ws_path: Str = "/mqtt"
    protocol: Annotated[Str, one_of("5", "3.1.1")] = "5"
    client_id: Str = "edgebot-{robot_id}"
    keepalive: Annotated[Int, Field(ge=2, le=65535)] = 30
    clean_start: Bool = True
    session_expiry: Annotated[Int, Field(ge=0)] = 0
    connect_timeout: Annotated[Float, Field(ge=0.1)] = 10.0
    username: Str = ""
    password: Str = ""
    embedded: Bool = False
    tls: TlsConfig = Field(default_factory=TlsConfig)
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)

    @property
    def reconnect_initial(self) -> float:
        return self.reconnect.initial

    @property
    def reconnect_max(self) -> float:
        return self.reconnect.max


class Limits(_Model):
    #: publishes per second per connection, 0 = unlimited
    max_publish_rate: Annotated[Float, Field(ge=0.0)] = 0.0
    max_payload: Annotated[Int, Field(ge=64)] = 268435455
    max_inflight: Annotated[Int, Field(ge=1, le=65535)] = 100
    #: error reports (rejected commands) go out at most once per this many seconds, counts per
    #: reason aggregated in between; they are charged to max_publish_rate like telemetry
    error_period: Annotated[Float, Field(ge=0.05, le=3600.0)] = 1.0


class SpoolConfig(_Model):
    path: Str = "~/.local/state/edgebot/mqtt_spool_{robot_id}.db"
    max_bytes: Annotated[Int, Field(ge=1024)] = 64 * 1024 * 1024
    max_messages: Annotated[Int, Field(ge=1)] = 1_000_000
    max_age: Annotated[Float, Field(ge=1.0)] = 7 * 24 * 3600.0


class BatchConfig(_Model):
    max_messages: Annotated[Int, Field(ge=1, le=10000)] = 1
    max_delay: Annotated[Float, Field(ge=0.0)] = 0.0


class ImageConfig(_Model):
    max_width: Annotated[Int, Field(ge=0, le=8192)] = 0  # > 0: a downsampled JPEG
    quality: Annotated[Int, Field(ge=1, le=100)] = 70


class TelemetryRoute(_Model):
    ros_topic: Str
    type: Str
    mqtt_topic: Str
    qos: Qos = 1
    retain: Bool = False
    max_rate: Annotated[Float, Field(ge=0.0)] = 0.0
    fields: list[Str] = Field(default_factory=list)
    encoding: Annotated[Str, one_of("json", "cdr")] = "json"
    bytes: Annotated[Str, one_of("omit", "base64", "list")] = "omit"
    batch: BatchConfig = Field(default_factory=BatchConfig)
    ros_qos: Annotated[Str, one_of("reliable", "sensor_data", "latest_only", "latched")] = (
        "reliable"
    )
    ros_depth: Annotated[Int, Field(ge=1, le=10000)] = 100
    image: ImageConfig | None = None

    @property
    def batch_max_messages(self) -> int:
        return self.batch.max_messages

    @property
    def batch_max_delay(self) -> float:
        return self.batch.max_delay

    @property
    def image_max_width(self) -> int:
        return self.image.max_width if self.image else 0

    @property
    def image_quality(self) -> int:
        return self.image.quality if self.image else 70


Bounds = tuple[Float, Float]


class _InboundRoute(_Model):
    """What commands and service requests share: the allow-listed topic, the ROS type and the
    checks a payload passes before it reaches ROS."""

    mqtt_topic: Str
    type: Str
    required: list[Str] = Field(default_factory=list)
    ranges: dict[Str, Bounds] = Field(default_factory=dict)
    max_size: Annotated[Int, Field(ge=2)] = 4096
    max_rate: Annotated[Float, Field(ge=0.0)] = 10.0
    max_depth: Annotated[Int, Field(ge=1, le=100)] = 16  # JSON nesting
    max_age: Annotated[Float, Field(ge=0.0)] = 0.0  # s; 0 = no freshness check
    require_stamp: Bool = False  # with max_age: a stamp is needed
    clock_skew: Annotated[Float, Field(ge=0.0)] = 1.0  # s a stamp may lie in the future
    #: exact text payloads taken instead of JSON, each standing for its JSON object
    payloads: dict[Str, dict[Str, Any]] = Field(default_factory=dict)
    #: text payloads refused (reason ``forbidden``), each with the detail to report
    refuse: dict[Str, Str] = Field(default_factory=dict)

    def validator_args(self) -> dict:
        return dict(
            required=self.required,
            ranges=self.ranges,
            max_size=self.max_size,
            max_rate=self.max_rate,
            max_depth=self.max_depth,
            max_age=self.max_age,
            require_stamp=self.require_stamp,
            clock_skew=self.clock_skew,
            payloads=self.payloads,
            refuse=self.refuse,
        )


class CommandRoute(_InboundRoute):
    ros_topic: Str
    qos: Qos = 1


class ServiceRoute(_InboundRoute):
    service: Str
    max_rate: Annotated[Float, Field(ge=0.0)] = 2.0
    timeout: Annotated[Float, Field(ge=0.1)] = 5.0
    #: required: MQTT 5 request/response (a request without ResponseTopic is refused);
    #: optional: a request without one is called too (MQTT 3.1.1 works), its failures go to
    #: the error reports only
    reply: Annotated[Str, one_of("required", "optional")] = "required"


class BridgeConfig(_Model):
    profile: Str = ""
    robot_id: Str = "robot"
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    limits: Limits = Field(default_factory=Limits)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    status_topic: Str = "edgebot/{robot_id}/status"
    errors_topic: Str = "edgebot/{robot_id}/errors"
    command_filter: Str = ""
    telemetry: list[TelemetryRoute] = Field(default_factory=list)
    commands: list[CommandRoute] = Field(default_factory=list)
    services: list[ServiceRoute] = Field(default_factory=list)
    #: Home Assistant MQTT discovery (off by default): src/edgebot_mqtt/ha_discovery.py
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    _notes: list[str] = PrivateAttr(default_factory=list)
    _filters: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """Warnings for the log (not a key of the file)."""
        return self._notes

    @property
    def command_filters(self) -> list[str]:
        """Topic filters the bridge takes commands on: ``command_filter`` and Home Assistant's
        command topics; what arrives there and is not a route is refused (``unknown_topic``)."""
        return ([self.command_filter] if self.command_filter else []) + self._filters


# -- pydantic errors -> one line naming key, value and what is allowed -------------------------
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number (not NaN or infinity)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be [min, max] numbers",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "too_short": "must be [min, max] numbers",
    "too_long": "must be [min, max] numbers",
}


def _model_at(loc) -> type | None:
    """The model class that holds the last key of ``loc`` (for 'allowed keys' in messages)."""
    cur: Any = BridgeConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if (
            not (isinstance(cur, type) and issubclass(cur, BaseModel))
            or part not in cur.model_fields
        ):
            return None
        ann = cur.model_fields[part].annotation
        while typing.get_origin(ann) in (list, list, typing.Union, Optional):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0] if args else None
        cur = ann
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _from_validation(e: ValidationError, data: dict) -> ConfigError:
    first = e.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    kind = first["type"]
    if kind == "value_error":
        allowed = str(first["msg"]).removeprefix("Value error, ")
    elif kind in ("greater_than_equal", "greater_than"):
        allowed = f"must be >= {first['ctx'].get('ge', first['ctx'].get('gt'))}"
    elif kind in ("less_than_equal", "less_than"):
        allowed = f"must be <= {first['ctx'].get('le', first['ctx'].get('lt'))}"
    else:
        allowed = _MESSAGES.get(kind, first["msg"])
    if kind == "extra_forbidden":
        model = _model_at(loc)
        if model is not None:
            allowed += f" (allowed: {', '.join(sorted(model.model_fields))})"
    value = None if kind == "missing" else first.get("input")
    if kind == "missing" and loc and isinstance(loc[-1], int):  # [min] for [min, max]
        loc, allowed = loc[:-1], "must be [min, max] numbers"
        value = data
        for part in loc:
            value = value[part]
    return _err(key_path(loc) or "<root>", value, allowed)


# -- pass 2: meaning --------------------------------------------------------------------------
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


def _topic(template: str, robot_id: str, path: str, wildcards: bool = False) -> str:
    return check_mqtt_topic(expand(template, robot_id, path), path, wildcards)


def _abs_path(p: str, base_dir: str) -> str:
    p = os.path.expanduser(p)
    return p if os.path.isabs(p) else os.path.join(base_dir, p)


def _finish_broker(b: BrokerConfig, robot_id: str, base_dir: str) -> None:
    tls = b.tls
    for key in ("ca_file", "cert_file", "key_file"):
        v = getattr(tls, key)
        if v:
            v = _abs_path(v, base_dir)
            setattr(tls, key, v)
            if tls.enabled and not os.path.isfile(v):
                raise _err(f"broker.tls.{key}", v, "file does not exist")
    if tls.enabled and bool(tls.cert_file) != bool(tls.key_file):
        raise _err("broker.tls.key_file", tls.key_file, "cert_file and key_file go together")
    if b.port is None:
        b.port = 8883 if tls.enabled else 1883
    if b.reconnect.max < b.reconnect.initial:
        raise _err("broker.reconnect.max", b.reconnect.max, "must be >= broker.reconnect.initial")
    b.client_id = expand(b.client_id, robot_id, "broker.client_id")
    if b.embedded:
        b.protocol = "3.1.1"  # amqtt speaks MQTT 3.1.1
        if b.transport != "tcp" or tls.enabled:
            raise _err("broker.embedded", True, "the embedded broker serves plain TCP only")


def _finish_telemetry(r: TelemetryRoute, p: str, robot_id: str) -> None:
    cls = check_type(r.type, f"{p}.type")
    check_ros_name(r.ros_topic, f"{p}.ros_topic")
    r.mqtt_topic = _topic(r.mqtt_topic, robot_id, f"{p}.mqtt_topic")
    for i, f in enumerate(r.fields):
        check_field_path(cls, f, f"{p}.fields[{i}]")
    if r.image is not None:
        img = r.image.model_dump()
        if r.type.replace("/msg/", "/") not in ("sensor_msgs/Image", "sensor_msgs/CompressedImage"):
            raise _err(
                f"{p}.image",
                img,
                "only for sensor_msgs/msg/Image or sensor_msgs/msg/CompressedImage",
            )
        if r.image.max_width <= 0 or r.encoding != "json" or r.fields:
            raise _err(f"{p}.image", img, "needs max_width > 0, encoding json and no fields")
    if r.encoding == "cdr" and (r.fields or r.batch.max_messages > 1):
        raise _err(f"{p}.encoding", "cdr", "raw CDR takes no fields or batch")
    if r.batch.max_messages > 1 and r.batch.max_delay <= 0:
        raise _err(
            f"{p}.batch.max_delay", r.batch.max_delay, "must be > 0 when batch.max_messages > 1"
        )


def _finish_inbound(r: _InboundRoute, p: str, robot_id: str, cls) -> None:
    r.mqtt_topic = _topic(r.mqtt_topic, robot_id, f"{p}.mqtt_topic")
    for text, obj in r.payloads.items():
        try:
            from_dict(cls, copy.deepcopy(obj))
        except (MessageFieldError, TypeError, ValueError) as e:
            raise _err(f"{p}.payloads.{text}", obj, f"not a {r.type} ({e})") from None
    both = set(r.payloads) & set(r.refuse)
    if both:
        raise _err(f"{p}.refuse", sorted(both), "a payload is either in payloads or refused")
    if (r.payloads or r.refuse) and r.require_stamp:
        raise _err(f"{p}.require_stamp", True, "text payloads carry no stamp")
    for i, f in enumerate(r.required):
        check_field_path(cls, f, f"{p}.required[{i}]")
    for fpath, (lo, hi) in r.ranges.items():
        check_field_path(cls, fpath, f"{p}.ranges.{fpath}")
        if lo > hi:
            raise _err(
                f"{p}.ranges.{fpath}", [lo, hi], "must be [min, max] numbers with min <= max"
            )


def _finish(cfg: BridgeConfig, base_dir: str) -> BridgeConfig:
    rid = cfg.robot_id
    if not re.fullmatch(r"[A-Za-z0-9_-]+", rid):
        raise _err("robot_id", rid, "letters, digits, _ and - only")
    _finish_broker(cfg.broker, rid, base_dir)
    sp = cfg.spool
    sp.path = os.path.expanduser(expand(sp.path, rid, "spool.path"))
    if sp.path != ":memory:":
        sp.path = _abs_path(sp.path, base_dir)
    cfg.status_topic = _topic(cfg.status_topic, rid, "status_topic")
    cfg.errors_topic = _topic(cfg.errors_topic, rid, "errors_topic")
    if cfg.command_filter:
        cfg.command_filter = _topic(cfg.command_filter, rid, "command_filter", wildcards=True)

    seen_pub = set()
    for i, r in enumerate(cfg.telemetry):
        _finish_telemetry(r, f"telemetry[{i}]", rid)
        if (r.ros_topic, r.mqtt_topic) in seen_pub:
            raise _err(f"telemetry[{i}]", r.ros_topic, "duplicate route")
        seen_pub.add((r.ros_topic, r.mqtt_topic))
    seen_in = set()
    for i, r in enumerate(cfg.commands):
        p = f"commands[{i}]"
        cls = check_type(r.type, f"{p}.type")
        check_ros_name(r.ros_topic, f"{p}.ros_topic")
        _finish_inbound(r, p, rid, cls)
        if r.mqtt_topic in seen_in:
            raise _err(f"{p}.mqtt_topic", r.mqtt_topic, "duplicate command topic")
        seen_in.add(r.mqtt_topic)
    routes = [(f"services[{i}]", r) for i, r in enumerate(cfg.services)]
    ha = cfg.home_assistant
    if ha.enabled:  # the HA switch and button: service routes like any other (ha_discovery.py)
        base = _topic(ha.base_topic, rid, "home_assistant.base_topic")
        cfg._filters.extend(ha_command_filters(base))
        routes += [
            (f"home_assistant.entities.{name}", ServiceRoute.model_validate(d))
            for name, d in ha_command_routes(ha, base).items()
        ]
        cfg.services = [r for _, r in routes]
    for p, r in routes:
        cls = check_type(r.type, f"{p}.type", kind="srv")
        check_ros_name(r.service, f"{p}.service")
        _finish_inbound(r, p, rid, cls.Request)
        if r.mqtt_topic in seen_in:
            raise _err(f"{p}.mqtt_topic", r.mqtt_topic, "topic already used")
        seen_in.add(r.mqtt_topic)
    mqtt5 = [r for r in cfg.services if r.reply == "required"]
    if mqtt5 and cfg.broker.embedded:
        cfg.notes.append(
            f"{len(mqtt5)} service route(s) left out: the embedded broker "
            "speaks MQTT 3.1.1, request/response needs MQTT 5"
        )
        cfg.services = [r for r in cfg.services if r.reply != "required"]
    elif mqtt5 and cfg.broker.protocol != "5":
        raise _err(
            "services",
            f"{len(mqtt5)} entries",
            "MQTT request/response needs broker.protocol 5 (or reply: optional)",
        )
    return cfg


def parse(data: dict, base_dir: str = ".") -> BridgeConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _err("<root>", data, "must be a mapping")
    try:
        cfg = BridgeConfig.model_validate(data)
    except ValidationError as e:
        raise _from_validation(e, data) from None
    return _finish(cfg, base_dir)


# -- files ------------------------------------------------------------------------------------
def resolve_profile(profile: str, base_dir: str) -> str | None:
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


def load(path: str = "", overrides: dict | None = None) -> BridgeConfig:
    """Mapping file (may be empty: only overrides) + its profile + overrides -> BridgeConfig.
    Errors name the mapping file (and the profile file, when there is one)."""
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
    try:
        return parse(merged, base_dir)
    except ConfigError as e:
        files = " + ".join(f for f in (path, prof_path) if f)
        raise ConfigError(f"{files}: {e}" if files else str(e)) from None
