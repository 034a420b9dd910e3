"""What the demo watches: an rclpy node (in this process, on its own context) recording the
simulator's status and ground truth, odometry, detections, follower and mission state,
diagnostics and the MQTT bridge's statistics; and an independent MQTT subscriber counting what
reaches the broker."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

from edgebot_common import transforms as T
from edgebot_common.background import BackgroundNode

#: the fleet rover whose topics the demo watches (the first)
FLEET_WATCH = "rover1/"
#: the other rovers of a fleet: their tracks and missions only (make demo ROBOTS=2|3)
FLEET_OTHERS = ("rover2", "rover3")


def _t(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class Monitor:
    """Records what the demo reports; ``snapshot()`` gives a plain-data copy."""

    def __init__(self, target_class: str, name: str = "demo_monitor"):
        from diagnostic_msgs.msg import DiagnosticArray
        from nav_msgs.msg import Odometry
        from std_msgs.msg import String

        from edgebot_common import qos

        self.target_class = target_class
        self.lock = threading.Lock()
        self.status: dict = {}
        self.pose = None  # (x, y, yaw) latest ground truth
        self.path: list[tuple] = []  # (t, x, y, yaw) ground truth, 10 Hz
        self.odom: list[tuple] = []  # (t, x, y) odometry, 10 Hz
        self.det_times: list[float] = []  # sim time of every detections message
        self.det_target_times: list[float] = []
        self.det_objects = Counter()
        self.det_msgs = 0
        self.states: list[tuple] = []  # (t, state)
        self.state = "-"
        self.diag: dict[str, dict] = {}
        self.mqtt_stats: dict = {}
        self.mission: dict = {}  # edgebot_mission's latest mission/state (JSON)
        self.mission_states: list[tuple] = []  # (t, state)
        self.sim_t = 0.0
        # rover2/rover3 of a fleet: {ns: {"path": [(t, x, y, yaw)], "mission": {...}}}
        self.others: dict[str, dict] = {}
        self._last_path_t = -1.0
        self._last_odom_t = -1.0

        self.bg = BackgroundNode(name)
        n = self.node = self.bg.node
        n.create_subscription(String, "sim/status", self._on_status, qos.LATCHED)
        n.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, qos.SENSOR_DATA)
        # one rover's topics: the demo's own, or rover1's in a fleet (make demo ROBOTS=N; the
        # others are in sim/status's `fleet`); only one of the two ever has a publisher
        for pre in ("", FLEET_WATCH):
            n.create_subscription(
                Odometry, pre + "sim/ground_truth", self._on_truth, qos.SENSOR_DATA
            )
            n.create_subscription(Odometry, pre + "odom", self._on_odom, qos.SENSOR_DATA)
            n.create_subscription(String, pre + "follower/state", self._on_state, qos.SENSOR_DATA)
            n.create_subscription(String, pre + "mqtt/stats", self._on_mqtt, qos.SENSOR_DATA)
            n.create_subscription(String, pre + "mission/state", self._on_mission, qos.LATCHED)
        for ns in FLEET_OTHERS:
            n.create_subscription(
                Odometry, f"{ns}/sim/ground_truth", self._other_truth(ns), qos.SENSOR_DATA
            )
            n.create_subscription(
                String, f"{ns}/mission/state", self._other_mission(ns), qos.LATCHED
            )
        try:
            from edgebot_interfaces.msg import Detection2DArray

            for pre in ("", FLEET_WATCH):
                n.create_subscription(
                    Detection2DArray, pre + "detections", self._on_det, qos.SENSOR_DATA
                )
        except ImportError:
            pass

    def _on_status(self, msg):
        try:
            st = json.loads(msg.data)
        except ValueError:
            return
        with self.lock:
            self.status = st
            self.sim_t = max(self.sim_t, float(st.get("sim_time", 0.0)))

    def _on_truth(self, msg):
        t = _t(msg.header.stamp)
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        yaw = T.to_yaw((q.x, q.y, q.z, q.w))
        with self.lock:
            self.sim_t = max(self.sim_t, t)
            self.pose = (p.x, p.y, yaw)
            if t - self._last_path_t >= 0.1:
                self.path.append((t, p.x, p.y, yaw))
                self._last_path_t = t

    def _on_odom(self, msg):
        t = _t(msg.header.stamp)
        with self.lock:
            if t - self._last_odom_t >= 0.1:
                p = msg.pose.pose.position
                self.odom.append((t, p.x, p.y))
                self._last_odom_t = t

    def _on_state(self, msg):
        text = msg.data
        try:
            d = json.loads(text)
            if isinstance(d, dict) and "state" in d:
                text = str(d["state"])
        except ValueError:
            pass
        with self.lock:
            if text != self.state:
                self.states.append((self.sim_t, text))
                self.state = text

    def _on_det(self, msg):
        t = _t(msg.header.stamp) or self.sim_t
        names = []
        for d in msg.detections:
            name = (
                getattr(d, "class_name", None)
                or getattr(d, "label", None)
                or getattr(d, "class_id", "?")
            )
            names.append(str(name))
        with self.lock:
            self.det_msgs += 1
            self.det_times.append(t)
            self.det_objects.update(names)
            if self.target_class in names:
                self.det_target_times.append(t)

    def _on_diag(self, msg):
        with self.lock:
            for s in msg.status:
                self.diag[s.name] = {
                    "level": int.from_bytes(s.level, "little")
                    if isinstance(s.level, bytes)
                    else int(s.level),
                    "message": s.message,
                    **{kv.key: kv.value for kv in s.values},
                }

    def _on_mission(self, msg):
        try:
            d = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(d, dict):
            with self.lock:
                if d.get("state") != self.mission.get("state"):
                    self.mission_states.append((self.sim_t, str(d.get("state"))))
                self.mission = d

    def _other(self, ns: str) -> dict:
        return self.others.setdefault(ns, {"path": [], "mission": {}})

    def _other_truth(self, ns: str):
        def cb(msg):
            t = _t(msg.header.stamp)
            p, q = msg.pose.pose.position, msg.pose.pose.orientation
            with self.lock:
                path = self._other(ns)["path"]
                if not path or t - path[-1][0] >= 0.1:
                    path.append((t, p.x, p.y, T.to_yaw((q.x, q.y, q.z, q.w))))

        return cb

    def _other_mission(self, ns: str):
        def cb(msg):
            try:
                d = json.loads(msg.data)
            except ValueError:
                return
            if isinstance(d, dict):
                with self.lock:
                    self._other(ns)["mission"] = d

        return cb

    def _on_mqtt(self, msg):
        try:
            d = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(d, dict):
            with self.lock:
                self.mqtt_stats = d

    def snapshot(self) -> dict:
        """A plain-data copy of everything recorded (for the pure summary and plot code)."""
        with self.lock:
            return {
                "status": dict(self.status),
                "sim_t": self.sim_t,
                "pose": self.pose,
                "state": self.state,
                "path": list(self.path),
                "odom": list(self.odom),
                "det_times": list(self.det_times),
                "det_target_times": list(self.det_target_times),
                "det_objects": dict(self.det_objects),
                "det_msgs": self.det_msgs,
                "states": list(self.states),
                "diag": dict(self.diag),
                "mqtt_stats": dict(self.mqtt_stats),
                "mission": dict(self.mission),
                "mission_states": list(self.mission_states),
                "others": {
                    ns: {"path": list(o["path"]), "mission": dict(o["mission"])}
                    for ns, o in self.others.items()
                },
            }

    def close(self):
        self.bg.close()


def first_seq(msg):
    """The bridge's ``seq`` of a telemetry publish (JSON message or batch: its first entry; raw
    CDR: the MQTT 5 user property), None for anything else (status, error reports)."""
    props = getattr(msg, "properties", None)
    for k, v in getattr(props, "UserProperty", None) or []:
        if k == "seq" and str(v).isdigit():
            return int(v)
    try:
        obj = json.loads(msg.payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(obj, dict) and isinstance(obj.get("batch"), list) and obj["batch"]:
        obj = obj["batch"][0]
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


class MqttCounter:
    """Counts what reaches the embedded broker (telemetry delivered), independently of the
    bridge's own statistics: every message (``count``, ``topics``) and, per MQTT topic, the
    distinct telemetry publishes by the bridge's ``seq`` (``distinct``; a publish the bridge
    sent again after a lost PUBACK counts once) -- what the bridge's ``by_topic`` counts."""

    def __init__(self, port: int):
        self.port = port
        self.count = 0
        self.topics = Counter()
        self.distinct = Counter()
        self._seen: dict[str, set] = {}
        self.connected = False
        self.client = None
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            return
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edgebot-demo-{os.getpid()}")
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_disconnect = lambda *a, **k: setattr(self, "connected", False)
        c.reconnect_delay_set(0.5, 2.0)
        self.client = c
        c.connect_async("127.0.0.1", port, keepalive=30)
        c.loop_start()

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        if not getattr(reason, "is_failure", False):
            self.connected = True
            client.subscribe("#", qos=1)

    def _on_message(self, client, userdata, msg):
        if msg.topic.startswith("$"):
            return
        self.count += 1
        self.topics[msg.topic.split("/")[-1]] += 1
        seq = first_seq(msg)
        if seq is not None:
            seen = self._seen.setdefault(msg.topic, set())
            if seq not in seen:
                seen.add(seq)
                self.distinct[msg.topic] += 1

    def figures(self) -> dict:
        return {"count": self.count, "topics": dict(self.topics), "distinct": dict(self.distinct)}

    def close(self):
        if self.client is not None:
            self.client.loop_stop()
            try:
                self.client.disconnect()
            except Exception:
                pass
