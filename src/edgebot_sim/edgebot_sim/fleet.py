"""Several rovers in one simulated world: their namespaces, frames and devices. ROS-free.

``robots`` = 1 is the one-rover simulator as it always was: the rover's topics are the node's
own (``wheel_states``, ``sim/ground_truth``), its frames ``odom`` and ``base_link``. With
``robots`` = N > 1 the rovers are ``rover1`` .. ``roverN`` (``fleet.prefix``):

- topics under the rover's namespace: ``/rover1/wheel_states``, ``/rover1/sim/status``, ...;
  the one ``/clock`` and ``/sim/status`` (every rover's status) stay global;
- frames with the namespace as prefix, on the shared ``/tf`` (the ``frame_prefix`` convention
  of robot_state_publisher, as in the nav2 and TurtleBot 4 multi-robot setups):
  ``map`` -> ``rover1/odom`` -> ``rover1/base_link`` -> ``rover1/camera_link`` ...; ``map`` is
  the one world frame all rovers share;
- each rover its own virtual Arduino (pty), IMU (TCP) and camera (MJPEG), at the ports and
  links ``fleet.camera_ports`` / ``fleet.imu_ports`` / ``fleet.arduino_links`` list.
"""

from __future__ import annotations

from .devices import DeviceSet

#: the per-rover list parameters and the device parameter each one sets
LISTS = {
    "fleet.camera_ports": ("camera.port", int),
    "fleet.imu_ports": ("imu.port", int),
    "fleet.arduino_links": ("arduino.link", str),
}


def namespaces(p: dict) -> list[str]:
    """The rovers' namespaces: ``[""]`` for one rover (the node's own), else prefix1..N."""
    n = int(p["robots"])
    if n <= 1 and not p.get("fleet.namespaced", False):
        return [""]
    return [f"{p['fleet.prefix']}{k}" for k in range(1, n + 1)]


def name(ns: str, relative: str) -> str:
    """A topic or frame of the rover with namespace ``ns`` (``ns/relative``, or as is)."""
    return f"{ns}/{relative}" if ns else relative


def _split(key: str, text: str, n: int, conv) -> list | None:
    from edgebot_common.node_main import ConfigError

    items = [x.strip() for x in text.split(",")] if text.strip() else []
    if not items:
        return None
    if len(items) < n:
        raise ConfigError(
            f"parameter '{key}' = {text!r}: must list {n} values (one per rover, robots = {n})"
        )
    items = items[:n]  # a launch file may list more (fleet.launch.yaml lists three)
    try:
        out = [conv(x) for x in items]
    except ValueError:
        raise ConfigError(f"parameter '{key}' = {text!r}: must be comma-separated ports") from None
    if conv is int and any(not 0 <= v <= 65535 for v in out):
        raise ConfigError(f"parameter '{key}' = {text!r}: ports must be 0..65535")
    return out


def rover_params(p: dict) -> list[dict]:
    """One parameter dict per rover: ``p`` with that rover's device ports and pty link.
    ``ConfigError`` naming the parameter when a list does not fit ``robots``."""
    n = len(namespaces(p))
    if not namespaces(p)[0]:
        return [p]
    lists = {key: _split(key, p[key], n, conv) for key, (_, conv) in LISTS.items()}
    out = []
    for i in range(n):
        q = dict(p)
        for key, (dev_key, conv) in LISTS.items():
            values = lists[key]
            q[dev_key] = values[i] if values else conv()  # 0 = any free port, "" = no link
        out.append(q)
    return out


def start_devices(p: dict, seed: int) -> list[DeviceSet]:
    """Every rover's devices (each rover's IMU noise seeded apart); all stopped again when one
    cannot start."""
    started: list[DeviceSet] = []
    try:
        for i, q in enumerate(rover_params(p)):
            started.append(DeviceSet.start(q, seed=seed + 1000 * i))
    except Exception:
        for d in started:
            d.stop(lambda text: None)
        raise
    return started


def gate_topics(text: str, spaces: list[str]) -> list[str]:
    """The start gate's comma-separated relative topics, for every rover's namespace."""
    topics = [t.strip() for t in text.split(",") if t.strip()]
    return [t if t.startswith("/") else name(ns, t) for ns in spaces for t in topics]
