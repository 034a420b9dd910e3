"""Throttle, RejectCounter, Backoff and msg_dict (ROS-free apart from message classes)."""

import math
import random

import pytest
from geometry_msgs.msg import Twist
from sensor_msgs.msg import Image, Imu

from edgebot_common.backoff import Backoff
from edgebot_common.msg_dict import (
    MessageFieldError,
    finite_check,
    from_dict,
    get_message_class,
    to_dict,
    to_yaml,
    type_name_of,
)
from edgebot_common.throttle import RejectCounter, Throttle


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_throttle_and_reject_counter():
    clock = FakeClock()
    th = Throttle(1.0, clock)
    assert th.ready() and not th.ready()
    clock.t = 1.0
    assert th.ready()
    logged = []
    rc = RejectCounter(log=logged.append, period_s=5.0, clock=clock)
    for _ in range(10):
        rc.reject("nan", "linear.x is NaN")
    assert rc.counts["nan"] == 10 and len(logged) == 1
    clock.t = 7.0
    rc.reject("nan", "again")
    assert len(logged) == 2 and "+9 more" in logged[1]
    rc.reject("range", "too fast")
    assert rc.total == 12 and rc.as_dict() == {"nan": 11, "range": 1}


def test_backoff_grows_caps_and_resets():
    b = Backoff(initial=0.5, maximum=4.0, factor=2.0, jitter=0.0)
    assert [b.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    b.reset()
    assert b.next_delay() == 0.5
    j = Backoff(initial=1.0, maximum=1.0, jitter=0.1, rng=random.Random(1))
    assert all(0.9 <= j.next_delay() <= 1.1 for _ in range(20))
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_msg_dict_round_trip_and_validation():
    cls = get_message_class("geometry_msgs/msg/Twist")
    assert cls is Twist and get_message_class("geometry_msgs/Twist") is Twist
    assert type_name_of(Twist) == "geometry_msgs/msg/Twist"
    t = from_dict(Twist, {"linear": {"x": 1, "y": 0.5}, "angular": {"z": -0.25}})
    assert (t.linear.x, t.linear.y, t.angular.z) == (1.0, 0.5, -0.25)
    assert to_dict(t)["linear"] == {"x": 1.0, "y": 0.5, "z": 0.0}
    with pytest.raises(MessageFieldError, match="linear.w: unknown field"):
        from_dict(Twist, {"linear": {"w": 1}})
    with pytest.raises(MessageFieldError, match="linear.x: expected a number"):
        from_dict(Twist, {"linear": {"x": "fast"}})
    with pytest.raises(MessageFieldError, match="angular.z: not a finite number"):
        finite_check({"angular": {"z": math.inf}})
    imu = Imu()
    imu.orientation_covariance[0] = 0.1
    d = to_dict(imu)
    assert d["orientation_covariance"][0] == 0.1 and len(d["orientation_covariance"]) == 9
    img = Image(height=1, width=2, encoding="mono8", step=2, data=bytes([1, 2]))
    assert to_dict(img)["data"] == [1, 2]
    assert to_dict(img, bytes_as="base64")["data"] == "AQI="
    assert "data:" in to_yaml(img)
    with pytest.raises(ValueError, match="unknown ROS type"):
        get_message_class("nope_msgs/msg/X")


def test_message_type_lookup_is_one_function_for_every_caller():
    from edgebot_common.msg_dict import UnknownTypeError

    assert get_message_class("/geometry_msgs/msg/Twist") is Twist  # slashes tolerated
    for bad in ("geometry_msgs/msg/Nope", "nope", "a/b/c/d"):
        with pytest.raises(LookupError):
            get_message_class(bad)
    assert issubclass(UnknownTypeError, ValueError)
