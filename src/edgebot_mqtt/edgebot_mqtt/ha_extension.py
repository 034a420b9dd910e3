"""Home Assistant on the bridge: the ROS glue around :mod:`.ha_discovery`.

Registered through the bridge's extension seam (``MqttBridge._extensions``) when
``home_assistant.enabled``: on every connect it publishes the device discovery payload
(retained) and the current states; it subscribes to the robot's topics for the entity states
(battery, follower state, detections per second, odometry speed, e-stop, a camera snapshot
JPEG made like the bridge's image telemetry). The commands (the e-stop switch, the stop button)
are not taken here: the configuration turns them into the bridge's own service routes
(``ha_discovery.ha_command_routes``), so they pass the same allow-list, validation, rate limit,
error reports and stats as every cloud command.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time

from std_msgs.msg import Bool, String

from edgebot_common import qos as Q
from edgebot_common.msg_dict import get_message_class

from . import ha_discovery as H
from . import images
from .config import expand


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("edgebot_mqtt")
    except Exception:
        return "0.1.0"


class HomeAssistantRemoval:
    """``enabled: false, remove: true``: clear the device's retained discovery on connect."""

    def __init__(self, node):
        self.link = node.link
        self.publishes = H.removal(node.cfg.home_assistant, node.cfg.robot_id)
        self.link.add_on_connect(self._on_connect)

    def _on_connect(self) -> None:
        for topic, payload, retain in self.publishes:
            self.link.publish_now(topic, payload, qos=1, retain=retain)


def attach(node):
    """What the bridge's extension seam calls: the HA extension the config asks for, or None."""
    h = node.cfg.home_assistant
    if h.enabled:
        return HomeAssistant(node)
    if h.remove:
        return HomeAssistantRemoval(node)
    return None


class HomeAssistant:
    def __init__(self, node):
        self.node = node
        cfg = node.cfg
        self.cfg = h = cfg.home_assistant
        base = expand(h.base_topic, cfg.robot_id, "home_assistant.base_topic")
        self.d = H.build(h, cfg.robot_id, base, cfg.status_topic, _version())
        self.link = node.link
        self._lock = threading.Lock()
        self._state = {}  # state topic -> last payload (re-sent on connect)
        self._detections = 0
        self._det_t0 = time.monotonic()
        self._speed = None
        self._battery = None
        self._last_cam = -math.inf
        e, s = h.entities, h.sources
        if e.battery_voltage or e.battery_percentage:
            node.create_subscription(
                get_message_class("sensor_msgs/msg/BatteryState"),
                s.battery,
                self._on_battery,
                Q.SENSOR_DATA,
            )
        if e.follower_state:
            node.create_subscription(String, s.follower_state, self._on_follower, Q.RELIABLE)
        if e.detections_rate:
            node.create_subscription(
                get_message_class("edgebot_interfaces/msg/Detection2DArray"),
                s.detections,
                self._on_detections,
                Q.RELIABLE,
            )
        if e.speed:
            node.create_subscription(
                get_message_class("nav_msgs/msg/Odometry"), s.odom, self._on_odom, Q.RELIABLE
            )
        if e.estop:
            node.create_subscription(Bool, s.estop, self._on_estop, Q.LATCHED)
        if e.camera:
            compressed = s.camera.endswith("compressed")
            cls = get_message_class(
                "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
            )
            # JPEGs are small: best effort matches any publisher; raw frames need reliable
            node.create_subscription(
                cls, s.camera, self._on_camera, Q.LATEST_ONLY if compressed else Q.IMAGES
            )
        if e.battery_voltage or e.battery_percentage or e.detections_rate or e.speed:
            node.create_timer(h.state_period, self._publish_sensors)
        self.link.add_on_connect(self._on_connect)

    # -- MQTT ----------------------------------------------------------------------------------
    def _on_connect(self) -> None:
        for topic, payload, retain in self.d.publishes:
            self.link.publish_now(topic, payload, qos=1, retain=retain)
        with self._lock:
            states = list(self._state.items())
        for topic, payload in states:
            self.link.publish_now(topic, payload, qos=1, retain=True)

    def _state_out(self, key: str, payload: bytes, retain: bool = True) -> None:
        topic = self.d.topics[key]
        if retain:
            with self._lock:
                if self._state.get(topic) == payload:
                    return
                self._state[topic] = payload
        self.link.publish_now(topic, payload, qos=1 if retain else 0, retain=retain)

    # -- ROS -> states -------------------------------------------------------------------------
    def _on_battery(self, m) -> None:
        pct = None if math.isnan(m.percentage) else round(float(m.percentage) * 100.0, 1)
        v = None if math.isnan(m.voltage) else round(float(m.voltage), 3)
        self._battery = {"voltage": v, "percentage": pct}

    def _on_follower(self, m) -> None:
        self._state_out("follower_state", m.data.encode()[:255])

    def _on_detections(self, m) -> None:
        self._detections += len(m.detections)

    def _on_odom(self, m) -> None:
        v = m.twist.twist.linear
        self._speed = math.hypot(v.x, v.y)

    def _on_estop(self, m) -> None:
        self._state_out("estop_state", b"ON" if m.data else b"OFF")

    def _on_camera(self, m) -> None:
        now = time.monotonic()
        if now - self._last_cam < self.cfg.camera_period or not self.link.connected:
            return
        self._last_cam = now
        try:
            snap = images.jpeg_summary(m, {}, self.cfg.camera_width, self.cfg.camera_quality)
        except images.ImageError as e:
            self.node.rejects.reject("bad_image", f"{self.cfg.sources.camera}: {e}")
            return
        self._state_out("camera", base64.b64decode(snap["jpeg_base64"]), retain=False)

    def _publish_sensors(self) -> None:
        if not self.link.connected:
            return
        e = self.cfg.entities
        if self._battery is not None and (e.battery_voltage or e.battery_percentage):
            self._state_out("battery", json.dumps(self._battery, sort_keys=True).encode())
        if self._speed is not None and e.speed:
            self._state_out("speed", f"{self._speed:.3f}".encode())
        if e.detections_rate:
            now = time.monotonic()
            rate = self._detections / max(1e-6, now - self._det_t0)
            self._detections, self._det_t0 = 0, now
            self._state_out("detections_rate", f"{rate:.2f}".encode())
