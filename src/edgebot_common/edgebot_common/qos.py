"""Named QoS profiles: the one place where depths and policies are chosen.

Nodes import a profile by name instead of passing a bare ``10``. Each distinct profile is
defined once; names that carry a different intent for the same policies are aliases of it
(the same object): ``COMMANDS`` and ``DIAGNOSTICS`` are ``RELIABLE`` (reliable, depth 10,
volatile), ``CLOCK`` is ``LATEST_ONLY`` (best effort, depth 1), ``TF_STATIC`` is ``LATCHED``
(reliable, transient local, depth 1). Never mutate a profile;
``copy.copy`` it first.

:func:`matching` picks the profile that matches a topic's current publishers (for bridges,
recorders and echo tools that subscribe to whatever is there).
"""

from collections.abc import Sequence

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)


def _keep_last(depth: int, reliable: bool, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


#: High-rate sensor streams (IMU, range, joint state): best effort, a few samples deep.
SENSOR_DATA = _keep_last(5, reliable=False)

#: Streams where only the newest sample matters (images, detections fed to a slow model).
LATEST_ONLY = _keep_last(1, reliable=False)

#: Camera images (Image/CompressedImage): only the newest matters (depth 1), but reliable: a
#: 640x480 frame (921 kB) is larger than Fast DDS's default shared-memory segment and goes
#: out as UDP fragments, which best effort loses between processes. Reliable KEEP_LAST 1 never
#: blocks the publisher and also matches best-effort subscribers.
IMAGES = _keep_last(1, reliable=True)

#: Reliable telemetry that should not be dropped (odometry, detections, state): depth 10.
RELIABLE = _keep_last(10, reliable=True)

#: Commands (cmd_vel, wheel commands, pin outputs): an alias of RELIABLE.
COMMANDS = RELIABLE

#: Latched status (e-stop state, robot description): the last value reaches late joiners.
LATCHED = _keep_last(1, reliable=True, latched=True)

#: Subscribers to a latched topic (echo tools, recorders, /tf_static listeners): reliable,
#: transient local, depth 100 as tf2_ros's static listener. Topics without keys are one
#: instance in DDS: a depth-1 reader keeps only the newest of the samples that arrive before
#: it takes them, so with several latching publishers (each rover's state publisher on
#: /tf_static) it lost all but one; this keeps each publisher's last sample.
LATCHED_READER = _keep_last(100, reliable=True, latched=True)

#: /diagnostics, as diagnostic_updater publishes it: an alias of RELIABLE.
DIAGNOSTICS = RELIABLE

#: /clock from the simulator: an alias of LATEST_ONLY.
CLOCK = LATEST_ONLY

#: Recorders that must not lose samples while they write to disk: reliable, a deep queue.
#: (Best-effort publishers are still matched with SENSOR_DATA.)
RECORDING = _keep_last(200, reliable=True)

#: /tf, as tf2_ros's TransformBroadcaster and TransformListener use it: reliable, depth 100.
TF = _keep_last(100, reliable=True)

#: /tf_static, as tf2_ros's StaticTransformBroadcaster: latched, depth 1 (one message holding
#: every static transform; a late listener gets it): an alias of LATCHED. For publishers:
#: listeners subscribe with LATCHED_READER (several nodes publish static transforms).
TF_STATIC = LATCHED

PROFILES = {
    "sensor_data": SENSOR_DATA,
    "latest_only": LATEST_ONLY,
    "images": IMAGES,
    "commands": COMMANDS,
    "reliable": RELIABLE,
    "latched": LATCHED,
    "diagnostics": DIAGNOSTICS,
    "clock": CLOCK,
    "tf": TF,
    "tf_static": TF_STATIC,
    "latched_reader": LATCHED_READER,
}


def by_name(name: str) -> QoSProfile:
    """Profile by name (for parameters that choose one); ValueError lists the names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown QoS profile {name!r}; allowed: {sorted(PROFILES)}") from None


def matching(
    publishers: Sequence[QoSProfile],
    reliable: QoSProfile | None = None,
    no_publisher: QoSProfile | None = None,
    latched: QoSProfile | None = None,
) -> QoSProfile:
    """The named profile a subscription needs to receive from every one of ``publishers``
    (their offered profiles, e.g. ``[i.qos_profile for i in
    node.get_publishers_info_by_topic(topic)]``):

    - any best-effort publisher (or none known: ``no_publisher``, default SENSOR_DATA):
      SENSOR_DATA (best effort matches every publisher);
    - all reliable and all transient-local: ``latched`` (default LATCHED_READER: late joiners
      get each publisher's last sample);
    - all reliable: ``reliable`` (default RELIABLE; a recorder passes the deeper RECORDING).
    """
    if not publishers:
        return no_publisher if no_publisher is not None else SENSOR_DATA
    if any(p.reliability != ReliabilityPolicy.RELIABLE for p in publishers):
        return SENSOR_DATA
    if all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in publishers):
        return latched if latched is not None else LATCHED_READER
    return reliable if reliable is not None else RELIABLE


def matching_for_topic(
    node,
    topic: str,
    reliable: QoSProfile | None = None,
    no_publisher: QoSProfile | None = None,
    latched: QoSProfile | None = None,
) -> QoSProfile:
    """:func:`matching` for the publishers ``node`` currently sees on ``topic``."""
    infos = node.get_publishers_info_by_topic(topic)
    return matching([i.qos_profile for i in infos], reliable, no_publisher, latched)
