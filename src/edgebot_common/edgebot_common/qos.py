"""Named QoS profiles: the one place where depths and policies are chosen.

Nodes import a profile by name instead of passing a bare ``10``.
"""
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

#: High-rate sensor streams (IMU, range, joint state): best effort, a few samples deep.
SENSOR_DATA = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=5,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)

#: Streams where only the newest sample matters (images, detections fed to a slow model).
LATEST_ONLY = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)

#: Camera images (Image/CompressedImage): only the newest matters (depth 1), but reliable: a
#: 640x480 frame (921 kB) is larger than Fast DDS's default shared-memory segment and goes
#: out as UDP fragments, which best effort loses between processes. Reliable KEEP_LAST 1 never
#: blocks the publisher and also matches best-effort subscribers.
IMAGES = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: Commands (cmd_vel, wheel commands, pin outputs): reliable, depth 10.
COMMANDS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: Reliable telemetry that should not be dropped (odometry, detections, state).
RELIABLE = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: Latched status (e-stop state, robot description): the last value reaches late joiners.
LATCHED = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

#: /diagnostics, as diagnostic_updater publishes it.
DIAGNOSTICS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: /clock from the simulator.
CLOCK = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)

#: Recorders that must not lose samples while they write to disk: reliable, a deep queue.
#: (Best-effort publishers are still matched with SENSOR_DATA.)
RECORDING = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=200,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: /tf, as tf2_ros's TransformBroadcaster and TransformListener use it: reliable, depth 100.
TF = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

#: /tf_static, as tf2_ros's StaticTransformBroadcaster: latched, depth 1 (one message holding
#: every static transform; a late listener gets it).
TF_STATIC = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

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
}


def by_name(name: str) -> QoSProfile:
    """Profile by name (for parameters that choose one); ValueError lists the names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown QoS profile {name!r}; allowed: {sorted(PROFILES)}") from None
