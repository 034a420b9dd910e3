"""edgebot_common.qos: each profile defined once (aliases), matching the publishers' QoS."""

import copy

from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from edgebot_common import qos
from edgebot_testing import wait_for


def test_identical_profiles_are_aliases_and_the_rest_differ():
    assert qos.COMMANDS is qos.RELIABLE and qos.DIAGNOSTICS is qos.RELIABLE
    assert qos.CLOCK is qos.LATEST_ONLY and qos.TF_STATIC is qos.LATCHED
    distinct = {id(p): p for p in qos.PROFILES.values()}.values()
    keys = [(p.history, p.depth, p.reliability, p.durability) for p in distinct]
    assert len(keys) == len(set(keys))  # no two names define the same policies apart
    assert (qos.RELIABLE.depth, qos.RELIABLE.reliability) == (10, ReliabilityPolicy.RELIABLE)
    assert (qos.CLOCK.depth, qos.CLOCK.reliability) == (1, ReliabilityPolicy.BEST_EFFORT)


def _pub(reliable=True, latched=False):
    p = copy.copy(qos.RELIABLE)
    p.reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
    p.durability = DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE
    return p


def test_matching_the_publishers():
    assert qos.matching([]) is qos.SENSOR_DATA
    assert qos.matching([], no_publisher=qos.RELIABLE) is qos.RELIABLE
    assert qos.matching([_pub(), _pub(reliable=False)]) is qos.SENSOR_DATA
    assert qos.matching([_pub(latched=True), _pub(latched=True)]) is qos.LATCHED_READER
    assert qos.matching([_pub(latched=True), _pub()]) is qos.RELIABLE
    assert qos.matching([_pub()], reliable=qos.RECORDING) is qos.RECORDING
    assert qos.matching([_pub(reliable=False, latched=True)]) is qos.SENSOR_DATA
    assert qos.matching([_pub(latched=True)], latched=qos.LATCHED_READER) is qos.LATCHED_READER


def _late_reader_of_two_latching_publishers(profile):
    """Two nodes (as two rovers' state publishers) latch one sample each on a topic; a reader
    made afterwards with ``profile`` is spun only once both samples are in: what it gets."""
    import time

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        pubs = [rclpy.create_node(f"latcher{i}", context=ctx) for i in (1, 2)]
        for i, n in enumerate(pubs, 1):
            n.create_publisher(String, "latched_topic", qos.LATCHED).publish(String(data=f"r{i}"))
        reader = rclpy.create_node("late_reader", context=ctx)
        got = []
        reader.create_subscription(String, "latched_topic", lambda m: got.append(m.data), profile)
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(reader)
        wait_for(lambda: reader.count_publishers("latched_topic") == 2, 10, what="publishers")
        time.sleep(1.0)  # both historical samples delivered before the first take
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
        return sorted(got)
    finally:
        rclpy.shutdown(context=ctx)


def test_a_late_latched_reader_gets_every_publishers_sample():
    """DDS keeps the depth per instance, and a keyless topic is one instance: a depth-1 reader
    keeps only the newest of the samples that arrived before it took them (a fleet test lost
    one rover's /tf_static this way). The profile matching() picks for latched publishers
    keeps each publisher's sample."""
    profile = qos.matching([_pub(latched=True), _pub(latched=True)])
    assert _late_reader_of_two_latching_publishers(profile) == ["r1", "r2"]
    # the case it guards against: a depth-1 latched reader loses one
    assert len(_late_reader_of_two_latching_publishers(qos.LATCHED)) == 1
