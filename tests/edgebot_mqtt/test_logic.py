"""ROS-free parts: config validation, JSON encoding/batching, command validation, rate limits."""

import json
import math

import pytest

from edgebot_common.msg_dict import to_dict
from edgebot_mqtt import config as C
from edgebot_mqtt import encoding
from edgebot_mqtt.commands import Rejected, Validator
from edgebot_mqtt.ratelimit import Decimator, TokenBucket


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def base(**kw):
    d = {"robot_id": "r1", "spool": {"path": ":memory:"}}
    d.update(kw)
    return d


def test_config_defaults_and_templates():
    cfg = C.parse(
        base(
            telemetry=[
                {
                    "ros_topic": "imu/data",
                    "type": "sensor_msgs/msg/Imu",
                    "mqtt_topic": "edgebot/{robot_id}/imu",
                    "max_rate": 5,
                    "fields": ["header.stamp", "angular_velocity.z"],
                }
            ]
        )
    )
    assert cfg.telemetry[0].mqtt_topic == "edgebot/r1/imu"
    assert cfg.telemetry[0].qos == 1 and cfg.telemetry[0].encoding == "json"
    assert cfg.status_topic == "edgebot/r1/status"
    assert cfg.broker.client_id == "edgebot-r1"


@pytest.mark.parametrize(
    "data, text",
    [
        (
            base(
                telemetry=[
                    {"ros_topic": "a", "type": "std_msgs/msg/String", "mqtt_topic": "x", "qos": 2}
                ]
            ),
            "telemetry[0].qos = 2: must be one of [0, 1]",
        ),
        (
            base(telemetry=[{"ros_topic": "a", "type": "std_msgs/msg/Nope", "mqtt_topic": "x"}]),
            "telemetry[0].type = 'std_msgs/msg/Nope'",
        ),
        (
            base(
                telemetry=[{"ros_topic": "a", "type": "std_msgs/msg/String", "mqtt_topic": "x/#"}]
            ),
            "must not contain wildcards",
        ),
        (
            base(
                telemetry=[
                    {
                        "ros_topic": "a",
                        "type": "std_msgs/msg/String",
                        "mqtt_topic": "x",
                        "fields": ["nope"],
                    }
                ]
            ),
            "telemetry[0].fields[0] = 'nope': no field 'nope'",
        ),
        (
            base(
                telemetry=[
                    {"ros_topic": "a", "type": "std_msgs/msg/String", "mqtt_topic": "{host}/x"}
                ]
            ),
            "only the placeholder {robot_id}",
        ),
        (
            base(
                commands=[
                    {
                        "mqtt_topic": "c",
                        "ros_topic": "cmd_vel",
                        "type": "geometry_msgs/msg/Twist",
                        "ranges": {"linear.x": [1, -1]},
                    }
                ]
            ),
            "min <= max",
        ),
        (
            base(
                commands=[
                    {
                        "mqtt_topic": "c",
                        "ros_topic": "stop",
                        "type": "std_msgs/msg/Bool",
                        "payloads": {"GO": {"dta": True}},
                    }
                ]
            ),
            "commands[0].payloads.GO = {'dta': True}: not a std_msgs/msg/Bool",
        ),
        (
            base(
                commands=[
                    {
                        "mqtt_topic": "c",
                        "ros_topic": "stop",
                        "type": "std_msgs/msg/Bool",
                        "payloads": {"GO": {"data": True}},
                        "refuse": {"GO": "no"},
                    }
                ]
            ),
            "commands[0].refuse = ['GO']: a payload is either in payloads or refused",
        ),
        (
            base(
                services=[
                    {
                        "mqtt_topic": "s",
                        "service": "estop",
                        "type": "std_srvs/srv/SetBool",
                        "reply": "never",
                    }
                ]
            ),
            "services[0].reply = 'never': must be one of ['required', 'optional']",
        ),
        (base(broker={"port": 70000}), "broker.port = 70000: must be <= 65535"),
        (
            base(broker={"tls": {"enabled": True, "ca_file": "/nonexistent/ca.pem"}}),
            "file does not exist",
        ),
        (base(broker={"hots": "x"}), "broker.hots = 'x': unknown key"),
        (
            base(
                services=[{"mqtt_topic": "s", "service": "estop", "type": "std_srvs/srv/SetBool"}],
                broker={"protocol": "3.1.1"},
            ),
            "needs broker.protocol 5",
        ),
    ],
)
def test_config_errors_name_key_value_allowed(data, text):
    with pytest.raises(C.ConfigError) as e:
        C.parse(data)
    assert text in str(e.value)


def test_profile_merge_and_overrides(tmp_path):
    (tmp_path / "mqtt").mkdir()
    (tmp_path / "mqtt" / "p.yaml").write_text(
        "broker: {port: 8883, keepalive: 60}\nlimits: {max_publish_rate: 100}\n"
    )
    (tmp_path / "map.yaml").write_text(
        "profile: p\nrobot_id: a\nbroker: {keepalive: 20}\nspool: {path: sp.db}\n"
    )
    cfg = C.load(str(tmp_path / "map.yaml"), {"robot_id": "b", "broker": {"host": "h"}})
    assert (cfg.broker.port, cfg.broker.keepalive, cfg.broker.host) == (8883, 20, "h")
    assert cfg.limits.max_publish_rate == 100 and cfg.robot_id == "b"
    assert cfg.spool.path == str(tmp_path / "sp.db")
    with pytest.raises(C.ConfigError, match="profile = 'nope'"):
        C.load(str(tmp_path / "map.yaml"), {"profile": "nope"})


def test_shipped_configs_are_valid():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "config"
    cfg = C.load(str(root / "mqtt_bridge.yaml"), {"spool": {"path": ":memory:"}})
    assert cfg.telemetry and cfg.commands
    aws = C.load(
        str(root / "mqtt_bridge.yaml"),
        {
            "profile": "aws_iot",
            "spool": {"path": ":memory:"},
            "broker": {"tls": {"enabled": False}},
        },
    )
    assert aws.limits.max_publish_rate == 100 and aws.limits.max_payload == 128 * 1024
    assert aws.broker.port == 8883


def test_json_body_fields_stamp_nan_and_bytes():
    from sensor_msgs.msg import Image, Imu

    m = Imu()
    m.header.stamp.sec, m.header.stamp.nanosec = 12, 500000000
    m.angular_velocity.z = 0.25
    m.linear_acceleration.x = float("nan")
    b = encoding.body(to_dict(m), ["angular_velocity.z", "linear_acceleration"])
    obj = json.loads(encoding.single(7, b))
    assert obj["seq"] == 7 and obj["stamp"] == 12.5
    assert obj["data"] == {
        "angular_velocity": {"z": 0.25},
        "linear_acceleration": {"x": None, "y": 0.0, "z": 0.0},
    }
    img = Image(height=2, width=3, encoding="rgb8", step=9, data=bytes(18))
    d = json.loads(encoding.single(1, encoding.body(to_dict(img, bytes_as="omit"))))
    assert d["data"]["data"] == "<18 bytes>" and d["data"]["width"] == 3


def test_batch_payload_and_batcher():
    clock = Clock()
    bt = encoding.Batcher(3, 0.5, clock=clock)
    assert bt.add('{"stamp":1,"data":{}}') is None
    assert not bt.due()
    clock.t += 0.6
    assert bt.due()
    items = bt.take() + ['{"stamp":2,"data":{}}']
    entries = encoding.decode(encoding.batch([5, 6], items))
    assert [e["seq"] for e in entries] == [5, 6] and entries[1]["stamp"] == 2
    assert bt.add("{}") is None and bt.add("{}") is None and len(bt.add("{}")) == 3


def twist_validator(**kw):
    args = dict(
        required=["linear.x"],
        ranges={"linear.x": (-0.5, 0.5), "angular.z": (-2, 2)},
        max_size=200,
        max_rate=0.0,
    )
    args.update(kw)
    return Validator("geometry_msgs/msg/Twist", **args)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b'{"linear": {"x": 0.1}' + b" " * 300 + b"}", "oversize"),
        (b'{"linear": {"x": 0.1}', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'[1, 2]', "not_object"),
        (b'{"linear": {"x": NaN}}', "malformed_json"),
        (b'{"linear": {"x": 1e999}}', "not_finite"),
        (b'{"angular": {"z": 0.1}}', "missing_field"),
        (b'{"linear": {"x": 0.9}}', "out_of_range"),
        (b'{"linear": {"x": "fast"}}', "bad_field"),
        (b'{"linear": {"x": 0.1, "w": 1}}', "bad_field"),
        (b'{"linear": {"x": 0.1}, "angular": {"z": true}}', "bad_field"),
    ],
)
def test_command_rejections(payload, reason):
    with pytest.raises(Rejected) as e:
        twist_validator().validate(payload)
    assert e.value.reason == reason, e.value.detail


def test_command_accepted_and_rate_limited():
    clock = Clock()
    v = twist_validator(max_rate=2.0, clock=clock)
    msg, _ = v.validate(b'{"linear": {"x": 0.2}, "angular": {"z": -1}}')
    assert msg.linear.x == 0.2 and msg.angular.z == -1.0
    v.validate(b'{"linear": {"x": 0.2}}')
    with pytest.raises(Rejected) as e:
        v.validate(b'{"linear": {"x": 0.2}}')
    assert e.value.reason == "rate_limited"
    clock.t += 0.5
    v.validate(b'{"linear": {"x": 0.2}}')


def test_decimator_and_token_bucket():
    clock = Clock()
    d = Decimator(10.0, clock=clock)
    passed = 0
    for _i in range(100):  # 100 messages over 1 s at 100 Hz
        passed += d.allow()
        clock.t += 0.01
    assert 9 <= passed <= 11 and d.decimated == 100 - passed
    assert all(Decimator(0).allow() for _ in range(5))
    tb = TokenBucket(100.0, clock=clock)
    n = sum(tb.take() for _ in range(500))
    assert n == 100
    clock.t += 0.055
    assert tb.available() == 5
    assert math.isclose(TokenBucket(0).available(), 1 << 30)


def test_image_downsampled_jpeg_never_raw():
    import base64

    import cv2
    import numpy as np
    from sensor_msgs.msg import CompressedImage, Image

    from edgebot_common.image import numpy_to_image
    from edgebot_mqtt.images import ImageError, jpeg_summary

    arr = np.zeros((48, 64, 3), np.uint8)
    arr[:, :32] = (255, 0, 0)  # left half red in rgb8
    img = numpy_to_image(arr, "rgb8")
    out = jpeg_summary(img, {"frame_id": "camera_link"}, 32, 80)
    assert (out["width"], out["height"], out["source_width"]) == (32, 24, 64)
    dec = cv2.imdecode(
        np.frombuffer(base64.b64decode(out["jpeg_base64"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert dec.shape == (24, 32, 3)
    assert dec[12, 4, 2] > 200 and dec[12, 28, 2] < 60  # red (BGR index 2) on the left only
    ok, buf = cv2.imencode(".jpg", np.zeros((100, 200, 3), np.uint8))
    comp = CompressedImage(format="jpeg", data=buf.tobytes())
    assert jpeg_summary(comp, {}, 50, 70)["height"] == 25
    with pytest.raises(ImageError):
        jpeg_summary(CompressedImage(format="jpeg", data=b"not a jpeg"), {}, 50, 70)
    with pytest.raises(ImageError):
        jpeg_summary(Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(3)), {}, 50, 70)


def test_image_option_only_for_images():
    with pytest.raises(C.ConfigError, match="only for sensor_msgs/msg/Image"):
        C.parse(
            base(
                telemetry=[
                    {
                        "ros_topic": "a",
                        "type": "std_msgs/msg/String",
                        "mqtt_topic": "x",
                        "image": {"max_width": 100},
                    }
                ]
            )
        )
    cfg = C.parse(
        base(
            telemetry=[
                {
                    "ros_topic": "camera/image_raw",
                    "type": "sensor_msgs/msg/Image",
                    "mqtt_topic": "x",
                    "image": {"max_width": 160, "quality": 50},
                }
            ]
        )
    )
    assert (cfg.telemetry[0].image_max_width, cfg.telemetry[0].image_quality) == (160, 50)


@pytest.mark.parametrize(
    "data, text",
    [
        (
            base(limits={"max_publish_rate": float("nan")}),
            "limits.max_publish_rate = nan: must be a finite number",
        ),
        (
            base(broker={"connect_timeout": float("inf")}),
            "broker.connect_timeout = inf: must be a finite",
        ),
        (base(broker={"reconnect": {"initial": float("nan")}}), "broker.reconnect.initial = nan"),
        (
            base(
                services=[
                    {
                        "mqtt_topic": "s",
                        "service": "estop",
                        "type": "std_srvs/srv/SetBool",
                        "timeout": float("nan"),
                    }
                ]
            ),
            "services[0].timeout = nan: must be a finite",
        ),
        (base(broker={"port": True}), "broker.port = True: must be an integer"),
        (base(broker={"port": "1883"}), "broker.port = '1883': must be an integer"),
        (base(broker=5), "broker = 5: must be a mapping"),
        (
            base(telemetry=[{"ros_topic": "a", "type": "std_msgs/msg/String"}]),
            "telemetry[0].mqtt_topic = None: is required",
        ),
        (
            base(
                telemetry=[
                    {
                        "ros_topic": "a",
                        "type": "std_msgs/msg/String",
                        "mqtt_topic": "x",
                        "batch": {"size": 3},
                    }
                ]
            ),
            "telemetry[0].batch.size = 3: unknown key (allowed: max_delay, max_messages)",
        ),
        (
            base(
                commands=[
                    {
                        "mqtt_topic": "c",
                        "ros_topic": "cmd_vel",
                        "type": "geometry_msgs/msg/Twist",
                        "ranges": {"linear.x": [0]},
                    }
                ]
            ),
            "ranges.linear.x = [0]: must be [min, max]",
        ),
    ],
)
def test_config_finite_strict_and_unknown_keys(data, text):
    """pydantic models: NaN/inf, bools for numbers, strings for integers and unknown keys are
    refused with the key path, the value and what is allowed."""
    with pytest.raises(C.ConfigError) as e:
        C.parse(data)
    assert text in str(e.value)


def test_config_error_names_the_file(tmp_path):
    (tmp_path / "map.yaml").write_text("robot_id: a\nlimits: {max_publish_rate: .nan}\n")
    with pytest.raises(C.ConfigError) as e:
        C.load(str(tmp_path / "map.yaml"), {"spool": {"path": ":memory:"}})
    assert str(e.value).startswith(f"{tmp_path / 'map.yaml'}: limits.max_publish_rate = nan")


class _Msg:
    """What the link hands over: paho's MQTTMessage attributes used by the bridge."""

    def __init__(self, topic, payload, retain=False):
        self.topic, self.payload, self.retain = topic, payload, retain


def test_inbound_dispatch_without_ros():
    from geometry_msgs.msg import Twist

    from edgebot_mqtt.inbound import Inbound, PendingRequests
    from edgebot_mqtt.link import matches

    cfg = C.parse(
        base(
            command_filter="edgebot/{robot_id}/cmd/#",
            commands=[
                {
                    "mqtt_topic": "edgebot/{robot_id}/cmd/cmd_vel",
                    "ros_topic": "cmd_vel",
                    "type": "geometry_msgs/msg/Twist",
                    "ranges": {"linear.x": [-1, 1]},
                },
                {"mqtt_topic": "other/cmd", "ros_topic": "cmd2", "type": "geometry_msgs/msg/Twist"},
            ],
        )
    )
    published, reported = [], []
    inb = Inbound(cfg, lambda *a: reported.append(a))
    for r in cfg.commands:
        inb.add_command(r, Twist, published.append)
    # the filter covers the first topic; the second needs its own subscription
    assert inb.subscriptions() == [("edgebot/r1/cmd/#", 1), ("other/cmd", 1)]
    inb.on_mqtt(_Msg("edgebot/r1/cmd/cmd_vel", b'{"linear": {"x": 0.5}}'))
    inb.on_mqtt(_Msg("edgebot/r1/cmd/cmd_vel", b'{"linear": {"x": 5}}'))
    inb.on_mqtt(_Msg("edgebot/r1/cmd/launch", b"{}"))
    assert [m.linear.x for m in published] == [0.5] and inb.accepted == 1
    assert [(t, r) for t, r, _ in reported] == [
        ("edgebot/r1/cmd/cmd_vel", "out_of_range"),
        ("edgebot/r1/cmd/launch", "unknown_topic"),
    ]
    assert matches("a/+/c", "a/b/c") and matches("a/#", "a/b/c") and not matches("a/+", "a/b/c")
    clock = Clock()
    pend = PendingRequests(clock=clock)
    k1 = pend.open(1.0, "reply", b"c1", "estop")
    pend.open(5.0, "reply", b"c2", "estop")
    pend.attach(k1, "future")
    clock.t += 2.0
    assert [(f, corr) for f, _, _, corr, _, _ in pend.expired()] == [("future", b"c1")]
    assert pend.close(k1) is None and len(pend.items) == 1


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b'{"linear": {"x": 1' + b"0" * 400 + b"}}", "not_finite"),  # 10^400: OverflowError
        (b'{"linear": ' + b"[" * 2000 + b"]" * 2000 + b"}", "too_deep"),  # RecursionError
        (b'{"linear": ' + b"[" * 20 + b"]" * 20 + b"}", "too_deep"),  # max_depth 16
        (b'{"linear": {"x": 0.1}, "angular": {"z": "\\ud800"}}', "bad_string"),  # lone surrogate
        (b'{"\\udc00": 1}', "bad_string"),
    ],
)
def test_hostile_commands_rejected_with_a_reason(payload, reason):
    with pytest.raises(Rejected) as e:
        twist_validator(max_size=100000).validate(payload)
    assert e.value.reason == reason, e.value.detail


@pytest.mark.parametrize(
    "cmd, reason",
    [
        (
            {"name": ["left_wheel_joint", "left_wheel_joint"], "velocity": [1.0, 2.0]},
            "duplicate_name",
        ),
        ({"name": ["left_wheel_joint", "right_wheel_joint"], "velocity": [1.0]}, "length_mismatch"),
        ({"name": ["left_wheel_joint"], "position": [0.0, 1.0]}, "length_mismatch"),
        ({"name": ["left_wheel_joint", "right_wheel_joint"], "velocity": [1.0, 2.0]}, None),
        (
            {
                "name": ["left_wheel_joint", "right_wheel_joint"],
                "velocity": [1.0, 2.0],
                "effort": [],
            },
            None,
        ),
    ],
)
def test_joint_state_names_unique_arrays_consistent(cmd, reason):
    v = Validator("sensor_msgs/msg/JointState")
    if reason is None:
        msg, _ = v.validate(json.dumps(cmd).encode())
        assert list(msg.name) == cmd["name"]
        return
    with pytest.raises(Rejected) as e:
        v.validate(json.dumps(cmd).encode())
    assert e.value.reason == reason, e.value.detail


def test_command_freshness_stamp_max_age_and_skew():
    wall = Clock(1_700_000_000.0)
    v = twist_validator(max_age=0.5, clock_skew=1.0, wall=wall)
    msg, data = v.validate(json.dumps({"linear": {"x": 0.1}, "stamp": wall.t - 0.2}).encode())
    assert msg.linear.x == 0.1 and "stamp" not in data
    for stamp, reason in (
        (wall.t - 0.8, "stale"),
        (wall.t + 1.5, "bad_stamp"),
        ("now", "bad_stamp"),
    ):
        with pytest.raises(Rejected) as e:
            v.validate(json.dumps({"linear": {"x": 0.1}, "stamp": stamp}).encode())
        assert e.value.reason == reason, (stamp, e.value.detail)
    v.validate(json.dumps({"linear": {"x": 0.1}, "stamp": wall.t + 0.9}).encode())  # within skew
    v.validate(b'{"linear": {"x": 0.1}}')  # no stamp: accepted ...
    strict = twist_validator(max_age=0.5, require_stamp=True, wall=wall)
    with pytest.raises(Rejected) as e:  # ... unless one is required
        strict.validate(b'{"linear": {"x": 0.1}}')
    assert e.value.reason == "missing_field"
    # types with a header: its stamp is the send time
    js = Validator("sensor_msgs/msg/JointState", max_age=0.5, wall=wall)
    old = {"header": {"stamp": {"sec": int(wall.t) - 10, "nanosec": 0}}, "name": ["a"]}
    with pytest.raises(Rejected) as e:
        js.validate(json.dumps(old).encode())
    assert e.value.reason == "stale"
    cfg = C.parse(
        base(
            commands=[
                {
                    "mqtt_topic": "c",
                    "ros_topic": "cmd_vel",
                    "type": "geometry_msgs/msg/Twist",
                    "max_age": 0.5,
                    "max_depth": 4,
                }
            ]
        )
    )
    assert cfg.commands[0].validator_args()["max_age"] == 0.5


def test_inbound_ignores_retained_and_never_drops_silently():
    from geometry_msgs.msg import Twist

    from edgebot_mqtt.inbound import Inbound

    cfg = C.parse(
        base(
            commands=[
                {"mqtt_topic": "cmd", "ros_topic": "cmd_vel", "type": "geometry_msgs/msg/Twist"}
            ]
        )
    )
    published, reported = [], []
    inb = Inbound(cfg, lambda *a: reported.append(a))

    def publish(msg):
        if msg.linear.x == 0.3:
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
        published.append(msg)

    inb.add_command(cfg.commands[0], Twist, publish)
    inb.on_mqtt(_Msg("cmd", b'{"linear": {"x": 0.2}}', retain=True))
    inb.on_mqtt(_Msg("cmd", b'{"linear": {"x": 0.3}}'))
    inb.on_mqtt(_Msg("cmd", b'{"linear": {"x": 0.1}}'))
    assert [m.linear.x for m in published] == [0.1] and inb.accepted == 1
    assert [r for _, r, _ in reported] == ["retained", "publish_failed"]


def test_error_reports_aggregated_and_complete():
    from collections import Counter

    from edgebot_mqtt.errors import ErrorReports

    clock = Clock()
    er = ErrorReports(1.0, clock=clock, wall=clock)
    er.add("t", "out_of_range", "x = 5")
    first = er.take()  # the first after a quiet period: at once
    assert first["count"] == 1 and first["reason"] == "out_of_range" and first["detail"] == "x = 5"
    reports, total = [first], Counter(first["by_reason"])
    for i in range(2000):  # 2,000 rejections at 500/s
        er.add("t", "rate_limited" if i % 10 else "bad_field", "d")
        clock.t += 0.002
        r = er.take()
        if r:
            reports.append(r)
    clock.t += 1.0
    reports.append(er.take())
    for r in reports[1:]:
        total.update(r["by_reason"])
    assert len(reports) <= 2 + 4.0 / 1.0  # one per second over the 4 s, + first and last
    assert total == Counter({"out_of_range": 1, "rate_limited": 1800, "bad_field": 200})
    assert sum(r["count"] for r in reports) == 2001 and er.take() is None


def test_token_bucket_charge_goes_into_debt():
    clock = Clock()
    tb = TokenBucket(10.0, clock=clock)
    for _ in range(15):
        tb.charge()
    assert not tb.take()
    clock.t += 0.5  # 5 tokens back: the debt of 5 paid, none spare
    assert not tb.take()
    clock.t += 0.15
    assert tb.take() and not tb.take()


def test_ros_parameters_override_the_mapping():
    from edgebot_mqtt.node_config import SPECS, overrides

    p = {s.name: s.default for s in SPECS}
    assert overrides(p) == {}
    p.update(
        {
            "robot_id": "r9",
            "broker.port": 8884,
            "broker.tls.ca_file": "/ca.pem",
            "spool.path": "/tmp/s.db",
            "broker.embedded": True,
        }
    )
    assert overrides(p) == {
        "robot_id": "r9",
        "spool": {"path": "/tmp/s.db"},
        "broker": {"port": 8884, "embedded": True, "tls": {"ca_file": "/ca.pem", "enabled": True}},
    }
