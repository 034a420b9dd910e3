"""msgconv (ROS-free): compiled per-type message -> dict converters equal generic to_dict."""

import json
import math

import pytest

from edgebot_common import msgconv
from edgebot_common.msg_dict import to_dict
from edgebot_mqtt import encoding


def samples():
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import Point32, PolygonStamped
    from sensor_msgs.msg import (
        CompressedImage,
        Image,
        Imu,
        JointState,
        NavSatFix,
        PointCloud2,
        PointField,
        Range,
    )
    from std_msgs.msg import Byte, Char, String, UInt8MultiArray

    r = Range(radiation_type=1, field_of_view=0.26, min_range=0.02, max_range=4.0, range=1.25)
    r.header.frame_id = "sonar"
    r.header.stamp.sec, r.header.stamp.nanosec = 1700000000, 250000000
    nan = Range(range=float("nan"), variance=float("inf"))
    imu = Imu()
    imu.angular_velocity.z = 0.5
    imu.orientation_covariance[4] = 2.0  # a fixed-size array (numpy)
    img = Image(height=2, width=3, encoding="mono8", step=3, data=bytes(range(6)))
    cimg = CompressedImage(format="jpeg", data=b"\xff\xd8\xff")
    fix = NavSatFix(latitude=48.1, longitude=11.5, altitude=520.0)
    fix.status.status = 2
    js = JointState(name=["a", "b"], position=[1.0, 2.0], velocity=[], effort=[0.5, 0.25])
    pc = PointCloud2(
        height=1,
        width=2,
        fields=[
            PointField(name="x", offset=0, datatype=7, count=1),
            PointField(name="y", offset=4, datatype=7, count=1),
        ],
        point_step=8,
        row_step=16,
        data=bytes(16),
        is_dense=True,
    )
    diag = DiagnosticArray(
        status=[
            DiagnosticStatus(
                level=b"\x01", name="n", message="m", values=[KeyValue(key="k", value="v")]
            )
        ]
    )
    poly = PolygonStamped()
    poly.polygon.points = [Point32(x=1.0, y=2.0), Point32(x=3.0)]
    return [
        r,
        nan,
        imu,
        img,
        cimg,
        fix,
        js,
        pc,
        diag,
        poly,
        Byte(data=b"\x07"),
        Char(data=65),
        String(data='quote " and \\ and ünïcode'),
        UInt8MultiArray(data=b"\x01\x02"),
    ]


@pytest.mark.parametrize("bytes_as", ["omit", "base64", "list"])
def test_converter_equals_to_dict(bytes_as):
    for msg in samples():
        want = to_dict(msg, bytes_as=bytes_as)
        got = msgconv.converter(type(msg))(msg, bytes_as)
        assert list(got) == list(want), type(msg).__name__  # same keys, same order
        # same values and types, down to NaN and nested order (JSON text compares all of it)
        assert encoding.dumps(got) == encoding.dumps(want), type(msg).__name__
        assert json.dumps(got, allow_nan=True) == json.dumps(want, allow_nan=True)


def test_converter_is_cached_and_default_bytes_as_is_list():
    from sensor_msgs.msg import Image

    f = msgconv.converter(Image)
    assert msgconv.converter(Image) is f
    img = Image(data=b"\x01\x02")
    assert f(img)["data"] == [1, 2] == to_dict(img)["data"]
    assert msgconv.converter(Image, ["header"]) is msgconv.converter(Image, ("header",))
    assert msgconv.converter(Image, ["header"]) is not f


def test_only_top_level_fields_keep_declaration_order_and_ignore_unknown():
    from sensor_msgs.msg import Imu

    m = Imu()
    m.angular_velocity.z = 1.5
    m.header.stamp.sec = 7
    only = msgconv.top_level(["angular_velocity.z", "header", "no_such.field"])
    assert only == {"angular_velocity", "header", "no_such"}
    got = msgconv.converter(Imu, only)(m, "omit")
    full = to_dict(m, bytes_as="omit")
    assert list(got) == ["header", "angular_velocity"]
    assert got == {k: full[k] for k in ("header", "angular_velocity")}
    # what the bridge sends is the same as with the full conversion
    fields = ["angular_velocity.z", "no_such.field"]
    assert encoding.body(got, fields) == encoding.body(full, fields)
    assert json.loads(encoding.body(got, fields))["stamp"] == 7.0


def test_values_are_read_fresh_each_call():
    from sensor_msgs.msg import Range

    f = msgconv.converter(Range)
    m = Range()
    for v in (0.5, float("nan"), 3.0):
        m.range = v
        out = f(m, "omit")["range"]
        assert out == v or (math.isnan(v) and math.isnan(out))


def test_not_a_message_class():
    with pytest.raises(TypeError):
        msgconv.converter(dict)
    assert not msgconv.is_message_class(int)


def test_plain_type_names():
    for t in ("float", "double", "uint8", "int64", "boolean", "string", "wstring", "string<=10"):
        assert msgconv._plain(t), t
    for t in (
        "octet",
        "char",
        "sequence<uint8>",
        "double[9]",
        "string[2]",
        "sequence<string>",
        "std_msgs/Header",
        "string<=5[3]",
    ):
        assert not msgconv._plain(t), t
