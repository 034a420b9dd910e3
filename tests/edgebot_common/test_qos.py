"""edgebot_common.qos: each profile defined once (aliases), matching the publishers' QoS."""

import copy

from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from edgebot_common import qos


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
    assert qos.matching([_pub(latched=True), _pub(latched=True)]) is qos.LATCHED
    assert qos.matching([_pub(latched=True), _pub()]) is qos.RELIABLE
    assert qos.matching([_pub()], reliable=qos.RECORDING) is qos.RECORDING
    assert qos.matching([_pub(reliable=False, latched=True)]) is qos.SENSOR_DATA
    assert qos.matching([_pub(latched=True)], latched=qos.LATCHED_READER) is qos.LATCHED_READER
