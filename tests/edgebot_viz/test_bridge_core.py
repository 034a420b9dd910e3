"""The Foxglove bridge's bookkeeping without ROS or a server: advertising, client
subscriptions, client publishing policy, status throttles."""

from edgebot_viz import msgdefs
from edgebot_viz.bridge_core import Registry, Topic, publish_refusal
from edgebot_viz.filters import RateLimiter, TopicFilter
from edgebot_viz.ros_util import message_class

GRAPH = [
    ("/imu/data", ["sensor_msgs/msg/Imu"]),
    ("/odd", ["no_pkg/msg/X"]),
    ("/quiet", ["std_msgs/msg/String"]),
    ("/parameter_events", ["rcl_interfaces/msg/P"]),
]


def test_wanted_advertises_published_allowed_topics_and_drops_vanished_ones():
    reg = Registry()
    allowed = TopicFilter([".*"], ["/parameter_events"]).allowed
    new, gone = reg.wanted(GRAPH, allowed, lambda t: t != "/quiet")
    assert new == [("/imu/data", "sensor_msgs/msg/Imu"), ("/odd", "no_pkg/msg/X")] and gone == []
    reg.add(Topic("/imu/data", "sensor_msgs/msg/Imu", "ch", RateLimiter(0)), 7)
    reg.skipped.add("/odd")  # an unknown type is never retried
    new, gone = reg.wanted(GRAPH, allowed, lambda t: t != "/quiet")
    assert new == [] and gone == []
    new, gone = reg.wanted(GRAPH[1:], allowed, lambda t: True)
    assert new == [("/quiet", "std_msgs/msg/String")] and gone == ["/imu/data"]
    t, sub = reg.remove("/imu/data", lambda t: 7)
    assert t.name == "/imu/data" and sub is None and reg.by_channel == {}
    assert reg.remove("/imu/data", lambda t: 7) == (None, None)


def test_the_last_client_unsubscribing_releases_the_ros_subscription():
    reg = Registry()
    t = Topic("/a", "std_msgs/msg/String", "ch", RateLimiter(0))
    reg.add(t, 1)
    assert reg.client_subscribed(99, 1) is None  # not a ROS channel
    assert reg.client_subscribed(1, 10) is t and reg.client_subscribed(1, 11) is t
    t.sub, t.last = "SUB", b"x"
    assert reg.client_unsubscribed(1, 10) is None
    assert reg.client_unsubscribed(1, 11) == "SUB" and t.sub is None and t.last is None
    assert reg.client_unsubscribed(99, 11) is None
    assert reg.stats()["channels"] == 1 and reg.stats()["ros_subscriptions"] == 0


def test_publish_refusal_reasons():
    policy = TopicFilter([".*/teleop/cmd_vel"])

    def refuse(topic, enc="cdr", schema="geometry_msgs/msg/Twist", graph=()):
        return publish_refusal(topic, enc, schema, policy, message_class, msgdefs.full_name, graph)[
            0
        ]

    assert "not in client_publish_allowlist" in refuse("/cmd_vel")
    assert "encoding 'json', only 'cdr'" in refuse("/teleop/cmd_vel", enc="json")
    assert "not installed" in refuse("/teleop/cmd_vel", schema="no_pkg/msg/Nope")
    assert "but the topic has" in refuse(
        "/teleop/cmd_vel", graph=[("/teleop/cmd_vel", ["std_msgs/msg/String"])]
    )
    refusal, cls = publish_refusal(
        "/teleop/cmd_vel",
        "cdr",
        "geometry_msgs/Twist",
        policy,
        message_class,
        msgdefs.full_name,
        [("/teleop/cmd_vel", ["geometry_msgs/msg/Twist"])],
    )
    assert refusal is None and cls.__name__ == "Twist"


def test_status_errors_are_throttled_per_client_channel_and_reason():
    reg = Registry()
    assert reg.status_due(("c", 1), "malformed", period=60.0)
    assert not reg.status_due(("c", 1), "malformed", period=60.0)
    assert reg.status_due(("c", 1), "refused", period=60.0)
    reg.set_client_pub(("c", 1), ("/t", object, "PUB"))
    assert reg.client_pub(("c", 1))[2] == "PUB" and reg.stats()["client_publishers"] == 1
    assert reg.drop_client_pub(("c", 1))[2] == "PUB"
    assert reg.status_due(("c", 1), "malformed", period=60.0)  # forgotten with the channel
