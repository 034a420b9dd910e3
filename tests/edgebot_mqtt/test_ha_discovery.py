"""Home Assistant discovery payloads (pure): every payload checked against the schema's
required keys and types (ha_discovery.validate), the config section, removals, commands."""

import json

import pytest

from edgebot_mqtt import config as C
from edgebot_mqtt import ha_discovery as H


def _build(**section):
    cfg = C.parse({"robot_id": "rover1", "home_assistant": {"enabled": True, **section}})
    h = cfg.home_assistant
    base = C.expand(h.base_topic, cfg.robot_id, "base_topic")
    return h, H.build(h, cfg.robot_id, base, cfg.status_topic, "1.2.3")


def test_off_by_default():
    assert C.parse({}).home_assistant.enabled is False


def test_device_payload_has_every_entity_and_passes_the_schema():
    _, d = _build()
    ((topic, payload, retain),) = d.publishes
    assert topic == "homeassistant/device/edgebot_rover1/config" and retain
    doc = json.loads(payload)
    H.validate(topic, doc)
    assert doc["dev"] == {
        "ids": ["edgebot_rover1"],
        "name": "edgebot rover1",
        "mf": "edgebot",
        "mdl": "edgebot",
        "sw": "1.2.3",
    }
    assert doc["o"]["name"] and doc["o"]["sw"] == "1.2.3"
    # availability from the bridge's retained status topic (its LWT says offline)
    assert (doc["avty_t"], doc["pl_avail"], doc["pl_not_avail"]) == (
        "edgebot/rover1/status",
        "online",
        "offline",
    )
    c = doc["cmps"]
    assert {k: v["p"] for k, v in c.items()} == H.PLATFORMS
    assert c["estop"]["cmd_t"] == "edgebot/rover1/ha/estop/set"
    assert c["estop"]["stat_t"] == "edgebot/rover1/ha/estop"
    assert (c["estop"]["pl_on"], c["estop"]["pl_off"]) == ("ON", "OFF")
    assert c["stop"]["cmd_t"] == "edgebot/rover1/ha/stop/press" and c["stop"]["pl_prs"] == "PRESS"
    assert c["camera"]["t"] == "edgebot/rover1/ha/camera"
    assert (
        c["battery_voltage"]["dev_cla"] == "voltage" and c["battery_voltage"]["unit_of_meas"] == "V"
    )
    assert c["battery_percentage"]["dev_cla"] == "battery"
    assert c["speed"]["dev_cla"] == "speed" and c["speed"]["unit_of_meas"] == "m/s"
    assert len({v["uniq_id"] for v in c.values()}) == len(c)


def test_prefix_base_topic_and_names_are_configurable():
    _, d = _build(
        discovery_prefix="ha/disc",
        base_topic="plant/{robot_id}",
        name="Rover One",
        model="edgebot-mk2",
    )
    topic, payload, _ = d.publishes[0]
    doc = json.loads(payload)
    H.validate(topic, doc)
    assert topic == "ha/disc/device/edgebot_rover1/config"
    assert doc["dev"]["name"] == "Rover One" and doc["dev"]["mdl"] == "edgebot-mk2"
    assert doc["cmps"]["speed"]["stat_t"] == "plant/rover1/speed"


def test_disabled_entities_are_removed_both_ways():
    h, d = _build(entities={"camera": False, "stop": False})
    topic, payload, _ = d.publishes[0]
    doc = json.loads(payload)
    H.validate(topic, doc)
    # device-based removal: the component reduced to its platform
    assert doc["cmps"]["camera"] == {"p": "camera"} and doc["cmps"]["stop"] == {"p": "button"}
    # per-entity discovery topics emptied, retained
    assert d.publishes[1:] == [
        ("homeassistant/button/edgebot_rover1/stop/config", b"", True),
        ("homeassistant/camera/edgebot_rover1/camera/config", b"", True),
    ]
    gone = H.removal(h, "rover1")
    assert gone[0] == ("homeassistant/device/edgebot_rover1/config", b"", True)
    assert ("homeassistant/switch/edgebot_rover1/estop/config", b"", True) in gone
    assert len(gone) == 1 + len(H.PLATFORMS) and all(p == b"" and r for _, p, r in gone)


def test_removals_of_real_platforms_pass():
    _, d = _build()
    topic, payload, _ = d.publishes[0]
    doc = json.loads(payload)
    doc["cmps"].update({"gone_light": {"p": "light"}, "gone_bs": {"p": "binary_sensor"}})
    H.validate(topic, doc)


@pytest.mark.parametrize(
    "mutate,why",
    [
        (lambda d: d.pop("dev"), "'dev' is required"),
        (lambda d: d.pop("o"), "'o' is required"),
        (lambda d: d["o"].pop("name"), "o.name"),
        (lambda d: d["dev"].update(ids=[]), "dev.ids"),
        (lambda d: d["dev"].update(sw=3), "dev.sw must be a string"),
        (lambda d: d["cmps"]["speed"].pop("stat_t"), "'stat_t' is required for sensor"),
        (lambda d: d["cmps"]["estop"].pop("cmd_t"), "'cmd_t' is required for switch"),
        (lambda d: d["cmps"]["stop"].pop("cmd_t"), "'cmd_t' is required for button"),
        (lambda d: d["cmps"]["camera"].pop("t"), "'t' is required for camera"),
        (lambda d: d["cmps"]["speed"].pop("uniq_id"), "'uniq_id' is required"),
        (lambda d: d["cmps"]["speed"].update(state_topic="x"), "unknown key(s) ['state_topic']"),
        (lambda d: d["cmps"]["speed"].update(unit_of_meas=1), "unit_of_meas must be a string"),
        (lambda d: d["cmps"]["speed"].update(stat_t="a/+/b"), "wildcards"),
        (lambda d: d["cmps"]["speed"].update(uniq_id=d["cmps"]["estop"]["uniq_id"]), "used twice"),
        (lambda d: d.update(qos=3), "qos"),
        (lambda d: d["cmps"].update({"bad id": {"p": "sensor"}}), "[a-zA-Z0-9_-]"),
        # a removal must name a platform HA knows, or HA ignores it and the entity stays
        (lambda d: d["cmps"].update({"old": {"p": "sensorr"}}), "not an HA platform"),
        (lambda d: d["cmps"].update({"old": {"p": 3}}), "'p' (platform) is required"),
    ],
)
def test_validator_catches_what_ha_would_refuse(mutate, why):
    _, d = _build()
    topic, payload, _ = d.publishes[0]
    doc = json.loads(payload)
    mutate(doc)
    with pytest.raises(H.SchemaError) as e:
        H.validate(topic, doc)
    assert why in str(e.value)
    with pytest.raises(H.SchemaError, match="not <prefix>/device"):
        H.validate("homeassistant/sensor/x/config", json.loads(payload))


def _ha_cfg(robot_id="rover1", **section):
    return C.parse({"robot_id": robot_id, "home_assistant": {"enabled": True, **section}})


def test_commands_are_service_routes_of_the_bridge():
    """The switch and the button are the bridge's own service routes (its allow-list), with
    HA's exact payloads; the bridge listens on HA's command topics so others are refused."""
    cfg = _ha_cfg(command_rate=5.0)
    routes = {r.mqtt_topic: r for r in cfg.services}
    est, stop = routes["edgebot/rover1/ha/estop/set"], routes["edgebot/rover1/ha/stop/press"]
    for r in (est, stop):
        assert (r.type, r.service, r.reply, r.max_rate) == (
            "std_srvs/srv/SetBool",
            "estop",
            "optional",
            5.0,
        )
    assert est.payloads == {"ON": {"data": True}} and "estop_allow_release" in est.refuse["OFF"]
    assert stop.payloads == {"PRESS": {"data": True}} and stop.refuse == {}
    assert cfg.command_filters == ["edgebot/rover1/ha/+/set", "edgebot/rover1/ha/+/press"]
    # release allowed: OFF is a payload like ON
    est2 = _ha_cfg(estop_allow_release=True).services[0]
    assert est2.payloads == {"ON": {"data": True}, "OFF": {"data": False}} and est2.refuse == {}
    # a disabled entity has no route: its topic is not on the allow-list
    assert [r.mqtt_topic for r in _ha_cfg(entities={"estop": False}).services] == [
        "edgebot/rover1/ha/stop/press"
    ]
    assert _ha_cfg(sources={"estop_service": "safety/estop"}).services[0].service == "safety/estop"


def test_commands_need_no_mqtt5_and_collisions_are_config_errors():
    svc = {
        "mqtt_topic": "edgebot/{robot_id}/cmd/estop",
        "service": "estop",
        "type": "std_srvs/srv/SetBool",
    }
    # the embedded broker (MQTT 3.1.1) keeps the HA routes, leaves out the request/response one
    cfg = C.parse(
        {
            "broker": {"embedded": True},
            "services": [svc],
            "home_assistant": {"enabled": True},
        }
    )
    assert [r.reply for r in cfg.services] == ["optional", "optional"]
    assert any("1 service route(s) left out" in n for n in cfg.notes)
    assert len(C.parse({"broker": {"protocol": "3.1.1"}, **_hs()}).services) == 2
    taken = dict(svc, mqtt_topic="edgebot/{robot_id}/ha/estop/set")
    with pytest.raises(C.ConfigError) as e:
        C.parse({"services": [taken], **_hs()})
    assert "home_assistant.entities.estop.mqtt_topic" in str(e.value) and "already used" in str(
        e.value
    )


def _hs(**section):
    return {"home_assistant": {"enabled": True, **section}}


def test_bad_section_is_one_line_naming_the_key():
    for section, expect in [
        ({"enabled": "yes"}, "home_assistant.enabled = 'yes'"),
        ({"discovery_prefix": "ha/#"}, "home_assistant.discovery_prefix"),
        ({"base_topic": "x/{id}"}, "only the placeholder {robot_id}"),
        ({"entities": {"lamp": True}}, "home_assistant.entities.lamp"),
        ({"sources": {"odom": "no spaces"}}, "home_assistant.sources.odom"),
        ({"camera_period": 0.0}, "home_assistant.camera_period"),
        ({"estop_allow_release": "yes"}, "home_assistant.estop_allow_release = 'yes'"),
    ]:
        with pytest.raises(C.ConfigError) as e:
            C.parse({"home_assistant": section})
        assert expect in str(e.value) and "\n" not in str(e.value)


class _Client:
    """A ROS service client's surface as Inbound uses it; answers with real futures."""

    def __init__(self):
        self.ready, self.requests, self.futures = True, [], []

    def service_is_ready(self):
        return self.ready

    def call_async(self, req):
        from concurrent.futures import Future

        self.requests.append(req.data)
        self.futures.append(Future())
        return self.futures[-1]


class _Msg:
    def __init__(self, topic, payload, retain=False):
        self.topic, self.payload, self.retain, self.properties = topic, payload, retain, None


def test_ha_commands_take_the_common_inbound_path():
    """ON/PRESS reach the service; everything else is refused with the reason any command
    gets: not allow-listed, release forbidden, bad payload, retained, rate limited, service
    unavailable, refused by the service, timed out."""
    from std_srvs.srv import SetBool

    from edgebot_mqtt.inbound import Inbound
    from edgebot_mqtt.ratelimit import TokenBucket

    cfg = _ha_cfg(entities={"stop": False}, command_rate=1.0)
    reported = []
    inb = Inbound(cfg, lambda *a: reported.append(a))
    client = _Client()
    for r in cfg.services:
        inb.add_service(r, SetBool, client)
    assert inb.subscriptions() == [
        ("edgebot/rover1/ha/+/set", 1),
        ("edgebot/rover1/ha/+/press", 1),
    ]
    clock = [0.0]
    topic = "edgebot/rover1/ha/estop/set"
    inb.services[topic][1].bucket = TokenBucket(1.0, burst=1.0, clock=lambda: clock[0])

    inb.on_mqtt(_Msg(topic, b"ON"))
    assert client.requests == [True] and inb.accepted == 1
    for m in (
        _Msg(topic, b"ON"),  # a second within the same second: rate limited
        _Msg(topic, b"OFF"),  # release forbidden by default
        _Msg(topic, b"on"),
        _Msg(topic, b"ON", retain=True),
        _Msg("edgebot/rover1/ha/stop/press", b"PRESS"),  # entity disabled: no route
    ):
        inb.on_mqtt(m)
    assert [r for _, r, _ in reported] == [
        "rate_limited",
        "forbidden",
        "bad_payload",
        "retained",
        "unknown_topic",
    ]
    assert "estop_allow_release" in reported[1][2]
    assert client.requests == [True] and inb.accepted == 1

    # the service's answers: refused (success false) and an exception are reported
    reported.clear()
    client.futures[0].set_result(SetBool.Response(success=False, message="monitor says no"))
    clock[0] += 1.0
    inb.on_mqtt(_Msg(topic, b"ON"))
    client.futures[1].set_exception(RuntimeError("boom"))
    client.ready = False
    clock[0] += 1.0
    inb.on_mqtt(_Msg(topic, b"ON"))
    assert [(r, d) for _, r, d in reported] == [
        ("service_refused", "service estop: monitor says no"),
        ("service_failed", "service estop: boom"),
        ("unavailable", "service estop not available"),
    ]
    # no answer within the route's timeout
    reported.clear()
    client.ready = True
    clock[0] += 1.0
    inb.on_mqtt(_Msg(topic, b"ON"))
    key = next(iter(inb.calls.pending.items))
    item = inb.calls.pending.items[key]
    inb.calls.pending.items[key] = (item[0], -1.0) + item[2:]  # its deadline has passed
    inb.calls.expire()
    assert [r for _, r, _ in reported] == ["timeout"] and client.futures[-1].cancelled()

    # with estop_allow_release the OFF payload releases
    cfg2 = _ha_cfg(estop_allow_release=True)
    inb2, client2 = Inbound(cfg2, lambda *a: reported.append(a)), _Client()
    for r in cfg2.services:
        inb2.add_service(r, SetBool, client2)
    inb2.on_mqtt(_Msg(topic, b"OFF"))
    inb2.on_mqtt(_Msg("edgebot/rover1/ha/stop/press", b"PRESS"))
    assert client2.requests == [False, True]
