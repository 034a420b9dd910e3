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


def test_commands_allow_list_and_payloads():
    h, d = _build()
    t = d.topics
    assert H.parse_command(d, h, t["estop_set"], b"ON") == ("estop", True)
    assert H.parse_command(d, h, t["estop_set"], b"OFF") == ("estop", False)
    assert H.parse_command(d, h, t["stop_press"], b"PRESS") == ("stop", None)
    for topic, payload, retained, reason in [
        (t["estop_set"], b"on", False, "bad_payload"),
        (t["estop_set"], b"ON", True, "retained"),
        (t["estop_set"], b"\xff", False, "bad_payload"),
        (t["estop_set"], b"X" * 100, False, "too_large"),
        (t["stop_press"], b"ON", False, "bad_payload"),
        (t["estop_state"], b"ON", False, "not_allowed"),
        ("edgebot/rover1/ha/other", b"ON", False, "not_allowed"),
    ]:
        with pytest.raises(H.Rejected) as e:
            H.parse_command(d, h, topic, payload, retained)
        assert e.value.reason == reason
    h2, d2 = _build(entities={"estop": False})
    with pytest.raises(H.Rejected, match="not_allowed"):
        H.parse_command(d2, h2, d2.topics["estop_set"], b"ON")


def test_bad_section_is_one_line_naming_the_key():
    for section, expect in [
        ({"enabled": "yes"}, "home_assistant.enabled = 'yes'"),
        ({"discovery_prefix": "ha/#"}, "home_assistant.discovery_prefix"),
        ({"base_topic": "x/{id}"}, "only the placeholder {robot_id}"),
        ({"entities": {"lamp": True}}, "home_assistant.entities.lamp"),
        ({"sources": {"odom": "no spaces"}}, "home_assistant.sources.odom"),
        ({"camera_period": 0.0}, "home_assistant.camera_period"),
    ]:
        with pytest.raises(C.ConfigError) as e:
            C.parse({"home_assistant": section})
        assert expect in str(e.value) and "\n" not in str(e.value)
