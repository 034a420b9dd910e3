"""Home Assistant MQTT discovery (ROS-free): the robot as one HA device, built from the config.

The bridge section ``home_assistant:`` (off by default) is :class:`HomeAssistantConfig`;
:func:`build` turns it and the robot's identity into what the bridge publishes (retained) on
every connect: one **device discovery** payload on ``<prefix>/device/<node_id>/config`` whose
``cmps`` hold the entities, and the removals of disabled entities. What Home Assistant sends
back (the e-stop switch, the stop button) is not parsed here: :func:`ha_command_routes` makes
them the bridge's own service routes, checked like every other command (allow-list, exact
payloads, rate limit, error reports; ``edgebot_mqtt.inbound``).

Schema relied on -- Home Assistant's documented MQTT discovery
(home-assistant.io/integrations/mqtt, sections "MQTT Discovery", "Device discovery payload",
"Using abbreviations in Discovery messages"; the abbreviation table is
homeassistant/components/mqtt/abbreviations.py; device-based discovery since HA 2024.11). Written
down from those pages, checked here by :func:`validate` (and by the tests):

- topic ``<discovery_prefix>/device/<object_id>/config``; ``object_id`` of ``[a-zA-Z0-9_-]``;
  the prefix is ``homeassistant`` unless configured otherwise in HA;
- device payload: ``dev`` (device: ``ids`` identifiers, ``name``, ``mf`` manufacturer,
  ``mdl`` model, ``sw`` sw_version) and ``o`` (origin: ``name`` required, ``sw``, ``url``)
  are required, ``cmps`` (components) maps a component id to its config, which needs ``p``
  (platform) and ``uniq_id`` (unique_id); options at the root (``avty_t``
  availability_topic, ``pl_avail``/``pl_not_avail``, ``qos``) are shared by all components;
- per platform: ``sensor`` needs ``stat_t`` (state_topic), takes ``val_tpl``
  (value_template), ``unit_of_meas``, ``dev_cla`` (device_class), ``stat_cla``
  (state_class), ``sug_dsp_prc``; ``switch`` needs ``cmd_t`` (command_topic), takes
  ``stat_t``, ``pl_on``/``pl_off``, ``stat_on``/``stat_off``; ``button`` needs ``cmd_t``,
  takes ``pl_prs`` (payload_press); ``camera`` needs ``t`` (topic) carrying the image bytes
  (``img_e: b64`` when base64); all take ``name``, ``ic`` (icon), ``ent_cat``;
- removing: a component is removed by publishing the device payload with that component
  reduced to its platform (``{"p": "sensor"}``); an entity of the older per-entity discovery
  (``<prefix>/<platform>/<object_id>/<entity>/config``) and a whole device are removed by an
  empty retained payload on their config topic. The bridge does both for disabled entities,
  so none is left behind whichever way it was discovered before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

_TOPIC_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_PREFIX = re.compile(r"^[^#+\s\0]+(/[^#+\s\0]+)*$")

#: entity -> HA platform
PLATFORMS = {
    "battery_voltage": "sensor",
    "battery_percentage": "sensor",
    "follower_state": "sensor",
    "detections_rate": "sensor",
    "speed": "sensor",
    "estop": "switch",
    "stop": "button",
    "camera": "camera",
}
#: every platform Home Assistant's MQTT integration knows (its SUPPORTED_COMPONENTS): a
#: removal ``{"p": x}`` must name one of these, or HA ignores it and the entity stays
HA_PLATFORMS = frozenset(
    {
        "alarm_control_panel",
        "binary_sensor",
        "button",
        "camera",
        "climate",
        "cover",
        "device_automation",
        "device_tracker",
        "event",
        "fan",
        "humidifier",
        "image",
        "lawn_mower",
        "light",
        "lock",
        "notify",
        "number",
        "scene",
        "select",
        "sensor",
        "siren",
        "switch",
        "tag",
        "text",
        "update",
        "vacuum",
        "valve",
        "water_heater",
    }
)
#: what each platform's component config must hold (besides ``p`` and ``uniq_id``)
REQUIRED = {
    "sensor": ("stat_t",),
    "binary_sensor": ("stat_t",),
    "switch": ("cmd_t",),
    "button": ("cmd_t",),
    "camera": ("t",),
}
#: allowed keys per platform (abbreviated), to catch a misspelt key before HA ignores it
COMMON_KEYS = {
    "p",
    "uniq_id",
    "name",
    "ic",
    "ent_cat",
    "obj_id",
    "qos",
    "avty_t",
    "pl_avail",
    "pl_not_avail",
    "json_attr_t",
    "json_attr_tpl",
}
KEYS = {
    "sensor": COMMON_KEYS
    | {
        "stat_t",
        "val_tpl",
        "unit_of_meas",
        "dev_cla",
        "stat_cla",
        "sug_dsp_prc",
        "exp_aft",
        "frc_upd",
    },
    "switch": COMMON_KEYS
    | {
        "cmd_t",
        "stat_t",
        "pl_on",
        "pl_off",
        "stat_on",
        "stat_off",
        "val_tpl",
        "opt",
        "ret",
        "dev_cla",
    },
    "button": COMMON_KEYS | {"cmd_t", "pl_prs", "ret", "dev_cla"},
    "camera": COMMON_KEYS | {"t", "img_e"},
}
STR_KEYS = {
    "uniq_id",
    "name",
    "ic",
    "stat_t",
    "cmd_t",
    "t",
    "val_tpl",
    "unit_of_meas",
    "dev_cla",
    "stat_cla",
    "pl_on",
    "pl_off",
    "stat_on",
    "stat_off",
    "pl_prs",
    "img_e",
    "avty_t",
    "pl_avail",
    "pl_not_avail",
    "ent_cat",
    "p",
}


class Entities(BaseModel):
    """Which entities the device has (each on by default when the section is enabled)."""

    model_config = ConfigDict(extra="forbid")
    battery_voltage: StrictBool = True
    battery_percentage: StrictBool = True
    follower_state: StrictBool = True
    detections_rate: StrictBool = True
    speed: StrictBool = True
    estop: StrictBool = True
    stop: StrictBool = True
    camera: StrictBool = True


_ROS_NAME = re.compile(r"^~?/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


class Sources(BaseModel):
    """The ROS side of the entities (node-relative names, like the rest of the bridge)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _ros_name(cls, v: str) -> str:
        if not _ROS_NAME.match(v):
            raise ValueError("must be a valid ROS name (letters, digits, _, /)")
        return v

    battery: StrictStr = "battery"  # sensor_msgs/BatteryState
    follower_state: StrictStr = "follower/state"  # std_msgs/String
    detections: StrictStr = "detections"  # edgebot_interfaces/Detection2DArray
    odom: StrictStr = "odom"  # nav_msgs/Odometry
    estop: StrictStr = "estop"  # std_msgs/Bool (latched)
    estop_service: StrictStr = "estop"  # std_srvs/SetBool
    camera: StrictStr = "camera/image_raw/compressed"  # sensor_msgs/CompressedImage or Image


class HomeAssistantConfig(BaseModel):
    """``home_assistant:`` section of the bridge mapping."""

    model_config = ConfigDict(extra="forbid")
    enabled: StrictBool = False
    #: with enabled false: remove the device from Home Assistant (empty retained payloads on
    #: its discovery topics) on every connect, instead of leaving it "unavailable" for good
    remove: StrictBool = False
    discovery_prefix: StrictStr = "homeassistant"
    #: MQTT base of the states and commands of the entities ({robot_id} expanded)
    base_topic: StrictStr = "edgebot/{robot_id}/ha"
    name: StrictStr = ""  # device name in HA; empty = "edgebot <robot_id>"
    model: StrictStr = "edgebot"
    manufacturer: StrictStr = "edgebot"
    entities: Entities = Field(default_factory=Entities)
    sources: Sources = Field(default_factory=Sources)
    #: sensor states (battery, speed, detections/s) go out at most this often [s]
    state_period: StrictFloat = Field(1.0, ge=0.1, le=3600.0, allow_inf_nan=False)
    #: camera snapshots: one every camera_period s, at most camera_width pixels wide
    camera_period: StrictFloat = Field(2.0, ge=0.2, le=3600.0, allow_inf_nan=False)
    camera_width: StrictInt = Field(320, ge=16, le=4096)
    camera_quality: StrictInt = Field(70, ge=1, le=100)
    #: commands (e-stop switch, stop button) accepted per second on each; more are rejected
    command_rate: StrictFloat = Field(2.0, gt=0.0, le=100.0, allow_inf_nan=False)
    #: may the switch's OFF release the e-stop from Home Assistant? (false: OFF is refused)
    estop_allow_release: StrictBool = False

    @field_validator("discovery_prefix", "base_topic")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _PREFIX.match(v):
            raise ValueError("must be an MQTT topic without wildcards, spaces or empty levels")
        if "{" in v.replace("{robot_id}", ""):
            raise ValueError("only the placeholder {robot_id} is allowed")
        return v


@dataclass
class Discovery:
    """What to publish: (topic, payload bytes, retain) in order; the topics to listen on."""

    publishes: list[tuple[str, bytes, bool]] = field(default_factory=list)
    device_topic: str = ""
    device: dict = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)  # entity state/command topics


def node_id(robot_id: str) -> str:
    """HA object id of the robot's device (``[a-zA-Z0-9_-]``)."""
    return "edgebot_" + re.sub(r"[^A-Za-z0-9_-]", "_", robot_id)


def topics(base: str) -> dict[str, str]:
    return {
        "battery": f"{base}/battery",
        "follower_state": f"{base}/follower_state",
        "detections_rate": f"{base}/detections_rate",
        "speed": f"{base}/speed",
        "estop_state": f"{base}/estop",
        "estop_set": f"{base}/estop/set",
        "stop_press": f"{base}/stop/press",
        "camera": f"{base}/camera",
    }


#: per entity, its component config besides ``p`` and ``uniq_id``; the values of the topic
#: keys (``stat_t``, ``cmd_t``, ``t``) name an entry of :func:`topics`
_TOPIC_KEYS = ("stat_t", "cmd_t", "t")
_MEASUREMENT = {"stat_cla": "measurement"}
COMPONENTS = {
    "battery_voltage": {
        "name": "Battery voltage",
        "stat_t": "battery",
        "val_tpl": "{{ value_json.voltage }}",
        "unit_of_meas": "V",
        "dev_cla": "voltage",
        "sug_dsp_prc": 2,
        **_MEASUREMENT,
    },
    "battery_percentage": {
        "name": "Battery",
        "stat_t": "battery",
        "val_tpl": "{{ value_json.percentage }}",
        "unit_of_meas": "%",
        "dev_cla": "battery",
        "sug_dsp_prc": 0,
        **_MEASUREMENT,
    },
    "follower_state": {"name": "Follower state", "stat_t": "follower_state", "ic": "mdi:robot"},
    "detections_rate": {
        "name": "Detections per second",
        "stat_t": "detections_rate",
        "unit_of_meas": "1/s",
        "ic": "mdi:eye",
        "sug_dsp_prc": 1,
        **_MEASUREMENT,
    },
    "speed": {
        "name": "Speed",
        "stat_t": "speed",
        "unit_of_meas": "m/s",
        "dev_cla": "speed",
        "sug_dsp_prc": 2,
        **_MEASUREMENT,
    },
    "estop": {
        "name": "Emergency stop",
        "stat_t": "estop_state",
        "cmd_t": "estop_set",
        "pl_on": "ON",
        "pl_off": "OFF",
        "stat_on": "ON",
        "stat_off": "OFF",
        "ic": "mdi:car-brake-alert",
    },
    "stop": {"name": "Stop", "cmd_t": "stop_press", "pl_prs": "PRESS", "ic": "mdi:stop-circle"},
    "camera": {"name": "Camera", "t": "camera"},
}


def _component(entity: str, uid: str, t: dict[str, str]) -> dict:
    c = {"p": PLATFORMS[entity], "uniq_id": f"{uid}_{entity}"}
    for k, v in COMPONENTS[entity].items():
        c[k] = t[v] if k in _TOPIC_KEYS else v
    return c


def build(
    cfg: HomeAssistantConfig,
    robot_id: str,
    base_topic: str,
    availability_topic: str,
    sw_version: str,
) -> Discovery:
    """The discovery payloads for ``cfg`` (``base_topic`` already expanded)."""
    oid = node_id(robot_id)
    t = topics(base_topic)
    device = {
        "dev": {
            "ids": [oid],
            "name": cfg.name or f"edgebot {robot_id}",
            "mf": cfg.manufacturer,
            "mdl": cfg.model,
            "sw": sw_version,
        },
        "o": {
            "name": "edgebot mqtt_bridge",
            "sw": sw_version,
            "url": "https://github.com/edgebot/edgebot",
        },
        "cmps": {},
        "avty_t": availability_topic,
        "pl_avail": "online",
        "pl_not_avail": "offline",
        "qos": 1,
    }
    out = Discovery(
        device_topic=f"{cfg.discovery_prefix}/device/{oid}/config", device=device, topics=t
    )
    for entity, platform in PLATFORMS.items():
        if getattr(cfg.entities, entity):
            device["cmps"][entity] = _component(entity, oid, t)
        else:
            # device-based removal: the component reduced to its platform ...
            device["cmps"][entity] = {"p": platform}
    out.publishes.append((out.device_topic, json.dumps(device, sort_keys=True).encode(), True))
    for entity, platform in PLATFORMS.items():
        if not getattr(cfg.entities, entity):
            # ... and the per-entity discovery topic emptied (retained), should it exist
            out.publishes.append(
                (f"{cfg.discovery_prefix}/{platform}/{oid}/{entity}/config", b"", True)
            )
    return out


def removal(cfg: HomeAssistantConfig, robot_id: str) -> list[tuple[str, bytes, bool]]:
    """Remove the whole device (discovery switched off after it was on): empty retained
    payloads on its device topic and on every per-entity topic."""
    oid = node_id(robot_id)
    return [(f"{cfg.discovery_prefix}/device/{oid}/config", b"", True)] + [
        (f"{cfg.discovery_prefix}/{platform}/{oid}/{entity}/config", b"", True)
        for entity, platform in PLATFORMS.items()
    ]


# --- checking payloads against the schema above --------------------------------------------
class SchemaError(ValueError):
    pass


def validate(topic: str, payload: dict) -> None:
    """Raise SchemaError unless ``payload`` is a device discovery payload HA accepts."""
    parts = topic.split("/")
    if (
        len(parts) < 4
        or parts[-1] != "config"
        or parts[-3] != "device"
        or not _TOPIC_PART.match(parts[-2])
    ):
        raise SchemaError(f"{topic}: not <prefix>/device/<object_id>/config")
    for key in ("dev", "o", "cmps"):
        if not isinstance(payload.get(key), dict):
            raise SchemaError(f"'{key}' is required and must be a mapping")
    dev, o, cmps = payload["dev"], payload["o"], payload["cmps"]
    ids = dev.get("ids")
    if not (isinstance(ids, str) and ids) and not (
        isinstance(ids, list) and ids and all(isinstance(i, str) and i for i in ids)
    ):
        raise SchemaError("dev.ids must be a non-empty string or list of strings")
    for k in ("name", "mf", "mdl", "sw"):
        if k in dev and not isinstance(dev[k], str):
            raise SchemaError(f"dev.{k} must be a string")
    if not isinstance(o.get("name"), str) or not o["name"]:
        raise SchemaError("o.name (origin name) is required")
    for k in ("avty_t", "pl_avail", "pl_not_avail"):
        if k in payload and not isinstance(payload[k], str):
            raise SchemaError(f"{k} must be a string")
    if "qos" in payload and payload["qos"] not in (0, 1, 2):
        raise SchemaError("qos must be 0, 1 or 2")
    uids = set()
    for cid, c in cmps.items():
        if not _TOPIC_PART.match(cid):
            raise SchemaError(f"cmps id {cid!r}: [a-zA-Z0-9_-] only")
        if not isinstance(c, dict) or not isinstance(c.get("p"), str):
            raise SchemaError(f"cmps.{cid}: 'p' (platform) is required")
        p = c["p"]
        if set(c) == {"p"}:
            if p not in HA_PLATFORMS:
                raise SchemaError(f"cmps.{cid}: removal names platform {p!r}, not an HA platform")
            continue  # a removal
        if p not in KEYS:
            raise SchemaError(f"cmps.{cid}: platform {p!r} not supported here")
        unknown = set(c) - KEYS[p]
        if unknown:
            raise SchemaError(f"cmps.{cid}: unknown key(s) {sorted(unknown)} for {p}")
        for k in ("uniq_id",) + REQUIRED[p]:
            if not isinstance(c.get(k), str) or not c[k]:
                raise SchemaError(f"cmps.{cid}: '{k}' is required for {p}")
        for k, v in c.items():
            if k in STR_KEYS and not isinstance(v, str):
                raise SchemaError(f"cmps.{cid}.{k} must be a string")
        if "sug_dsp_prc" in c and (not isinstance(c["sug_dsp_prc"], int) or c["sug_dsp_prc"] < 0):
            raise SchemaError(f"cmps.{cid}.sug_dsp_prc must be an integer >= 0")
        for k in ("stat_t", "cmd_t", "t"):
            if k in c and ("+" in c[k] or "#" in c[k]):
                raise SchemaError(f"cmps.{cid}.{k} must not contain wildcards")
        if c["uniq_id"] in uids:
            raise SchemaError(f"cmps.{cid}: uniq_id {c['uniq_id']!r} used twice")
        uids.add(c["uniq_id"])


# --- commands from Home Assistant ----------------------------------------------------------
def ha_command_filters(base_topic: str) -> list[str]:
    """Where Home Assistant's command topics live: the bridge listens there, so a command on
    one that is not a route (a disabled entity, a misspelt topic) is refused like any other."""
    return [f"{base_topic}/+/set", f"{base_topic}/+/press"]


def ha_command_routes(cfg: HomeAssistantConfig, base_topic: str) -> dict[str, dict]:
    """The e-stop switch and the stop button as the bridge's service routes (entity -> route):
    std_srvs/SetBool on ``sources.estop_service``, HA's exact payloads, ``command_rate``, no
    MQTT 5 reply needed; OFF releases only with ``estop_allow_release``, else it is refused."""
    t = topics(base_topic)
    common = {
        "type": "std_srvs/srv/SetBool",
        "service": cfg.sources.estop_service,
        "reply": "optional",
        "max_size": 16,
        "max_rate": cfg.command_rate,
    }
    out = {}
    if cfg.entities.estop:
        r = dict(common, mqtt_topic=t["estop_set"], payloads={"ON": {"data": True}})
        if cfg.estop_allow_release:
            r["payloads"]["OFF"] = {"data": False}
        else:
            r["refuse"] = {
                "OFF": "releasing the e-stop from Home Assistant is not allowed "
                "(home_assistant.estop_allow_release: false)"
            }
        out["estop"] = r
    if cfg.entities.stop:
        out["stop"] = dict(common, mqtt_topic=t["stop_press"], payloads={"PRESS": {"data": True}})
    return out
