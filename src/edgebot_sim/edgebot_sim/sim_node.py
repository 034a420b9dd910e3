"""sim_node: the PyBullet world of a scenario, stepped at a fixed rate, with virtual devices.

Publishes ``/clock`` (so the other nodes run on simulated time), ``sim/ground_truth``,
``wheel_states`` (the wheel joints: "encoders via the simulator") and ``sim/status`` (latched
JSON: scenario, seed, device endpoints, reached/distance/clearance, real-time factor).
Serves the camera as an MJPEG stream, a virtual Firmata Arduino on a pseudo-terminal (motor
pins drive the wheels, the sonar is a ray cast from ``sonar_link``) and a virtual I2C IMU fed by
the body's motion; the real driver nodes connect to those.

Physics runs in one thread (PyBullet is not thread-safe); ROS callbacks only swap values.
"""
from __future__ import annotations

import json
import math
import threading
import time
from typing import Optional

import cv2
import rclpy
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_common.diagnostics import OK, WARN, ERROR, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import scenario as scen
from .mjpeg import MjpegServer
from .world import WHEEL_JOINTS, SimWorld

SPECS = [
    ParamSpec("scenario", "open_field", "scenario name (config/scenarios/<name>.yaml) or path"),
    ParamSpec("seed", -1, "random seed; -1 = the scenario's (settable: sim/reset uses it)",
              min=-1, read_only=False),
    ParamSpec("speed", 1.0, "target real-time factor; 0 = as fast as possible", min=0.0,
              max=100.0),
    ParamSpec("physics_rate", 240.0, "physics steps per simulated second [Hz]", min=60.0,
              max=2000.0),
    ParamSpec("clock_rate", 100.0, "/clock messages per simulated second [Hz]", min=1.0,
              max=1000.0),
    ParamSpec("state_rate", 50.0, "ground truth and wheel_states rate (sim time) [Hz]",
              min=1.0, max=500.0),
    ParamSpec("publish_wheel_states", True, "publish wheel_states from the wheel joints"),
    ParamSpec("drive", "auto", "what moves the wheels: the virtual Arduino's motor pins "
              "(firmata), wheel_cmd directly (wheel_cmd, no Arduino in the loop), or auto "
              "(firmata when arduino.enabled)", choices=["auto", "firmata", "wheel_cmd"]),
    ParamSpec("wheel_cmd_timeout", 0.5, "drive=wheel_cmd: stop when no command for this long "
              "(sim time) [s]", min=0.0, min_exclusive=True),
    ParamSpec("wheel_max_torque", 0.3, "wheel motor torque limit [N m]", min=0.0,
              min_exclusive=True),
    ParamSpec("start.wait", False, "hold simulated time at 0 until the drivers are connected "
              "to the virtual devices and the start.* topics are up (fair time-to-target)"),
    ParamSpec("start.publishers", "", "comma-separated topics that need a publisher first"),
    ParamSpec("start.subscribers", "", "comma-separated topics that need a subscriber first"),
    ParamSpec("start.settle", 2.0, "wall seconds to wait once everything is up", min=0.0,
              max=60.0),
    ParamSpec("start.timeout", 120.0, "wall seconds after which time starts anyway",
              min=0.0, max=3600.0),
    ParamSpec("camera.enabled", True, "render the camera and serve it as MJPEG"),
    ParamSpec("camera.fps", 10.0, "frames per simulated second", min=0.1, max=60.0),
    ParamSpec("camera.width", 320, "image width [px]", min=16, max=1920),
    ParamSpec("camera.height", 240, "image height [px]", min=16, max=1080),
    ParamSpec("camera.hfov_deg", 60.0, "horizontal field of view [deg]", min=10.0, max=170.0),
    ParamSpec("camera.host", "127.0.0.1", "MJPEG server address"),
    ParamSpec("camera.port", 8080, "MJPEG server port (0 = any free port)", min=0, max=65535),
    ParamSpec("camera.jpeg_quality", 85, "JPEG quality", min=10, max=100),
    ParamSpec("arduino.enabled", True, "serve a virtual Firmata Arduino on a pty"),
    ParamSpec("arduino.link", "", "symlink to the pty (what firmata_node's port names); "
              "empty = none"),
    ParamSpec("arduino.pin_map", "", "pin map file (as firmata_node's pin_map); empty = "
              "config/firmata.yaml"),
    ParamSpec("arduino.sonar_rate", 20.0, "sonar ray casts per simulated second [Hz]",
              min=1.0, max=200.0),
    ParamSpec("imu.enabled", True, "serve a virtual I2C IMU over TCP"),
    ParamSpec("imu.chip", "mpu6050", "virtual IMU chip", choices=["mpu6050", "bno055"]),
    ParamSpec("imu.host", "127.0.0.1", "virtual IMU server address"),
    ParamSpec("imu.port", 0, "virtual IMU server port (0 = any free port)", min=0, max=65535),
    ParamSpec("imu.rate", 200.0, "IMU motion updates per simulated second [Hz]", min=1.0,
              max=1000.0),
    ParamSpec("imu.noise", True, "the chip's noise and bias"),
]


class SimNode(Node):
    NODE_NAME = "sim_node"

    def __init__(self):
        super().__init__("sim_node")
        self.p = p = declare_params(self, SPECS)
        if p["drive"] == "auto":
            p["drive"] = "firmata" if p["arduino.enabled"] else "wheel_cmd"
        if self.get_parameter("use_sim_time").value:
            raise ConfigError("sim_node publishes /clock: run it with use_sim_time false")
        try:
            base = scen.load(p["scenario"])
        except scen.ScenarioError as e:
            raise ConfigError(str(e)) from None
        self._base_scenario = base
        self.scenario = base.resolved(p["seed"])
        self._cached = None
        self.world = SimWorld(self.scenario, dt=1.0 / p["physics_rate"],
                              camera_size=(p["camera.width"], p["camera.height"]),
                              camera_hfov_deg=p["camera.hfov_deg"],
                              wheel_max_torque=p["wheel_max_torque"])
        self._cache()
        self._contact = False
        self._lock = threading.Lock()
        self._wheel_target = [0.0, 0.0]
        self._wheel_cmd_time = -math.inf
        self.rejects = RejectCounter(self.get_logger().warn)
        self.endpoints = {}
        self.devices = []
        self.arduino = None
        self.imu = None
        self.mjpeg: Optional[MjpegServer] = None
        try:
            self._start_devices()
        except Exception:
            self._stop_devices()
            raise

        self.pub_clock = self.create_publisher(Clock, "/clock", qos.CLOCK)
        self.pub_truth = self.create_publisher(Odometry, "sim/ground_truth", qos.RELIABLE)
        self.pub_wheels = (self.create_publisher(JointState, "wheel_states", qos.SENSOR_DATA)
                           if p["publish_wheel_states"] else None)
        self.pub_status = self.create_publisher(String, "sim/status", qos.LATCHED)
        if p["drive"] == "wheel_cmd":
            self.create_subscription(JointState, "wheel_cmd", self._on_wheel_cmd, qos.COMMANDS)

        self.rtf = 0.0
        self.time_offset = 0.0
        self.episode = 0
        self._reset_seed: Optional[int] = None
        self._reset_done = threading.Event()
        self.create_service(Trigger, "sim/reset", self._on_reset)
        self.holding: Optional[list] = None
        self.frames = 0
        self.min_clearance = math.inf
        self.reached_at: Optional[float] = None
        self.diag = Diagnostics(self, hardware_id=f"pybullet:{self.scenario.name}")
        self.diag.add("simulator", self._diag)
        self._stop = threading.Event()
        self._error: Optional[str] = None
        self.publish_status()
        self._thread = threading.Thread(target=self._run, name="physics", daemon=True)
        self._thread.start()
        self.create_timer(1.0, self.publish_status)
        self.get_logger().info(
            f"scenario {self.scenario.name!r} seed {self.scenario.seed}: "
            f"{json.dumps(self.endpoints)}; speed {p['speed']}")

    # -- devices --------------------------------------------------------------------------------
    def _start_devices(self):
        p = self.p
        if p["camera.enabled"]:
            self.mjpeg = MjpegServer(p["camera.host"], p["camera.port"])
            try:
                self.endpoints["camera_url"] = self.mjpeg.start()
            except OSError as e:
                raise ConfigError(f"parameter 'camera.port' = {p['camera.port']}: cannot serve "
                                  f"MJPEG on {p['camera.host']}: {e}") from None
        if p["arduino.enabled"] or p["drive"] == "firmata":
            from .devices import ArduinoDevice
            self.arduino = ArduinoDevice(p["arduino.pin_map"] or None, link=p["arduino.link"]
                                         or None)
            self.endpoints["arduino_port"] = self.arduino.start()
            if p["arduino.link"]:
                self.endpoints["arduino_link"] = p["arduino.link"]
        if p["imu.enabled"]:
            from .devices import ImuDevice
            self.imu = ImuDevice(p["imu.chip"], seed=self.scenario.seed, noise=p["imu.noise"])
            self.endpoints["imu_bus"] = self.imu.start(p["imu.host"], p["imu.port"])

    def _stop_devices(self):
        for dev in (self.arduino, self.imu, self.mjpeg):
            if dev is not None:
                try:
                    dev.stop()
                except Exception as e:  # noqa: BLE001 - shutdown must go on
                    self.get_logger().warn(f"stopping {type(dev).__name__}: {e}")

    # -- inputs ---------------------------------------------------------------------------------
    def _on_wheel_cmd(self, msg: JointState):
        try:
            if len(msg.velocity) != len(msg.name):
                raise ValueError("name and velocity lengths differ")
            vel = dict(zip(msg.name, msg.velocity))
            left, right = vel[WHEEL_JOINTS[0]], vel[WHEEL_JOINTS[1]]
            if not (math.isfinite(left) and math.isfinite(right)):
                raise ValueError("non-finite velocity")
        except (KeyError, ValueError) as e:
            self.rejects.reject("wheel_cmd", str(e))
            return
        with self._lock:
            self._wheel_target = [float(left), float(right)]
            self._wheel_cmd_time = self.sim_time()

    def _on_reset(self, request, response):
        """New episode: the scenario rebuilt with the current ``seed`` parameter; simulated
        time goes on (the clock never jumps back), the episode's time starts at 0."""
        seed = int(self.get_parameter("seed").value)
        self._reset_done.clear()
        self._reset_seed = seed
        if not self._reset_done.wait(30.0):
            response.success = False
            response.message = "the physics loop did not take the reset within 30 s"
            return response
        s = self.scenario
        response.success = True
        response.message = json.dumps({
            "episode": self.episode, "seed": s.seed, "start": [s.start.x, s.start.y, s.start.yaw],
            "target": [s.target.x, s.target.y]})
        return response

    def _reset(self):
        seed, self._reset_seed = self._reset_seed, None
        old = self.world
        self.scenario = self._base_scenario.resolved(seed)
        self.time_offset += old.time
        self.world = SimWorld(self.scenario, dt=old.dt, camera_size=old.camera_size,
                              camera_hfov_deg=old.camera_hfov_deg,
                              wheel_max_torque=old.wheel_max_torque)
        old.close()
        self.episode += 1
        self.reached_at = None
        self.min_clearance = math.inf
        self._cache()
        self.get_logger().info(f"episode {self.episode}: seed {seed}, start "
                               f"({self.scenario.start.x:.2f}, {self.scenario.start.y:.2f}), "
                               f"target ({self.scenario.target.x:.2f}, "
                               f"{self.scenario.target.y:.2f})")
        self.publish_status()
        self._reset_done.set()

    # -- physics loop ---------------------------------------------------------------------------
    def _every(self, rate: float) -> int:
        return max(1, int(round(self.p["physics_rate"] / rate)))

    def _run(self):
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - reported, then the node exits non-zero
            if self._stop.is_set() or not self.context.ok():
                return              # shutting down: the context went away under a publish
            import traceback
            self._error = f"{type(e).__name__}: {e}"
            self.get_logger().error(f"physics loop failed: {traceback.format_exc()}")
            rclpy.try_shutdown(context=self.context)

    def _missing(self) -> list:
        """What the start gate still waits for (empty: ready)."""
        p, out = self.p, []
        if self.arduino is not None and not self.arduino.board.host_connected:
            out.append("firmata host on the virtual Arduino")
        if self.mjpeg is not None and self.mjpeg.clients < 1:
            out.append("camera stream client")
        for t in filter(None, (x.strip() for x in p["start.publishers"].split(","))):
            if self.count_publishers(t) < 1:
                out.append(f"publisher of {t}")
        for t in filter(None, (x.strip() for x in p["start.subscribers"].split(","))):
            if self.count_subscribers(t) < 1:
                out.append(f"subscriber of {t}")
        return out

    def _hold(self):
        """Time stays at 0 while the drivers connect: devices answer, the camera streams."""
        p, w = self.p, self.world
        t0 = time.monotonic()
        ready_since = None
        last_frame = 0.0
        self.holding = self._missing()
        while not self._stop.is_set():
            now = time.monotonic()
            missing = self._missing()
            self.holding = missing
            if not missing:
                ready_since = ready_since or now
                if now - ready_since >= p["start.settle"]:
                    break
            else:
                ready_since = None
            if now - t0 > p["start.timeout"]:
                self.get_logger().warn(f"start gate timed out; still missing: {missing}")
                break
            if self.imu is not None:
                f, g, q = w.imu()
                self.imu.update(f, g, q)
            if self.arduino is not None:
                self.arduino.set_sonar(w.sonar_range())
            if self.mjpeg is not None and now - last_frame > 0.2:
                self._render()
                last_frame = now
            self.pub_clock.publish(Clock(clock=self._stamp()))
            time.sleep(0.05)
        self.holding = None
        self.get_logger().info(f"simulated time starts (held {time.monotonic() - t0:.1f} s)")

    def _loop(self):
        p, w = self.p, self.world
        if p["start.wait"]:
            self._hold()
        n_clock = self._every(p["clock_rate"])
        n_state = self._every(p["state_rate"])
        n_imu = self._every(p["imu.rate"])
        n_sonar = self._every(p["arduino.sonar_rate"])
        n_cam = self._every(p["camera.fps"])
        speed = p["speed"]
        wall0, sim0 = time.monotonic(), self.sim_time()
        rtf_wall, rtf_sim = wall0, sim0
        while not self._stop.is_set():
            if self._reset_seed is not None:
                self._reset()
            w = self.world
            if speed > 0:
                due = sim0 + (time.monotonic() - wall0) * speed
                ahead = self.sim_time() - due
                if ahead > 0:
                    time.sleep(min(ahead / speed, 0.02))
                    continue
                if -ahead > 0.5:          # fell behind by more than 0.5 s: do not burst
                    wall0, sim0 = time.monotonic(), self.sim_time()
            self._apply_drive()
            w.step()
            k = w.steps
            if k % n_imu == 0 and self.imu is not None:
                f, g, q = w.imu()
                self.imu.update(f, g, q)
            if k % n_sonar == 0 and self.arduino is not None:
                self.arduino.set_sonar(w.sonar_range())
            if k % n_cam == 0 and self.mjpeg is not None:
                self._render()
            if k % n_state == 0:
                self._publish_state()
            if k % n_clock == 0:
                self.pub_clock.publish(Clock(clock=self._stamp()))
            now = time.monotonic()
            if now - rtf_wall >= 1.0:
                self.rtf = (self.sim_time() - rtf_sim) / (now - rtf_wall)
                rtf_wall, rtf_sim = now, self.sim_time()

    def _apply_drive(self):
        if self.p["drive"] == "firmata":
            left, right = self.arduino.wheel_velocities()
        else:
            with self._lock:
                left, right = self._wheel_target
                if self.sim_time() - self._wheel_cmd_time > self.p["wheel_cmd_timeout"]:
                    left = right = 0.0
        if [left, right] != self.world._wheel_cmd:
            self.world.set_wheel_velocity(left, right)

    def _render(self):
        rgb = self.world.render()
        ok, jpg = cv2.imencode(".jpg", rgb[:, :, ::-1],
                               [cv2.IMWRITE_JPEG_QUALITY, self.p["camera.jpeg_quality"]])
        if ok:
            self.mjpeg.publish(jpg.tobytes())
            self.frames += 1

    def sim_time(self) -> float:
        """Simulated time since the node started (monotonic across episodes)."""
        return self.time_offset + self.world.time

    def _stamp(self):
        t = self.sim_time()
        sec = int(t)
        from builtin_interfaces.msg import Time
        return Time(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)

    def _publish_state(self):
        w = self.world
        stamp = self._stamp()
        (pos, orn), (lin, ang) = w.base_pose(), w.base_twist()
        odo = Odometry()
        odo.header.stamp = stamp
        odo.header.frame_id = "map"
        odo.child_frame_id = "base_link"
        pp, oo = odo.pose.pose.position, odo.pose.pose.orientation
        pp.x, pp.y, pp.z = pos
        oo.x, oo.y, oo.z, oo.w = orn
        # twist in the child frame (REP 105 / nav_msgs convention)
        from .world import rot
        R = rot(orn)
        vb, wb = R.T @ lin, R.T @ ang
        tl, ta = odo.twist.twist.linear, odo.twist.twist.angular
        tl.x, tl.y, tl.z = (float(v) for v in vb)
        ta.x, ta.y, ta.z = (float(v) for v in wb)
        self.pub_truth.publish(odo)
        if self.pub_wheels is not None:
            pos_, vel_ = w.wheel_states()
            js = JointState(name=list(WHEEL_JOINTS), position=pos_, velocity=vel_)
            js.header.stamp = stamp
            self.pub_wheels.publish(js)
        if self.reached_at is None and w.reached():
            self.reached_at = w.time
            self.get_logger().info(f"target reached {w.time:.2f} s into episode {self.episode}")
        if self.scenario.obstacles or self.scenario.floor.wall_height > 0:
            self.min_clearance = min(self.min_clearance, w.obstacle_clearance(0.5))
        contact = w.in_contact()
        if self.arduino is not None and contact != self._contact:
            self.arduino.set_bumper(contact)
        self._contact = contact
        self._cache()

    # -- status ---------------------------------------------------------------------------------
    def _cache(self):
        """Readings for status() taken in the physics thread (PyBullet is not thread-safe)."""
        w = self.world
        self._cached = (w.pose2d(), w.target_distance(), w.time)

    def status(self) -> dict:
        s = self.scenario
        (x, y, yaw), tdist, ep_time = self._cached
        return {
            "scenario": s.name, "seed": s.seed, "time_limit": s.time_limit,
            "sim_time": round(self.time_offset + ep_time, 4), "rtf": round(self.rtf, 3),
            "episode": self.episode, "episode_start": round(self.time_offset, 4),
            "episode_time": round(ep_time, 4),
            "pose": [round(x, 4), round(y, 4), round(yaw, 4)],
            "target": {"class": s.target.cls, "x": s.target.x, "y": s.target.y,
                       "reach_distance": s.target.reach_distance},
            "target_distance": round(tdist, 4),
            "reached": self.reached_at is not None, "reached_at": self.reached_at,
            "min_obstacle_clearance": (None if math.isinf(self.min_clearance)
                                       else round(self.min_clearance, 4)),
            "contact": self._contact,
            "camera_frames": self.frames, "endpoints": self.endpoints,
            "holding": self.holding,
            "error": self._error,
        }

    def publish_status(self):
        self.pub_status.publish(String(data=json.dumps(self.status())))

    def _diag(self):
        if self._error:
            return ERROR, f"physics loop failed: {self._error}", {}
        level = OK if self.p["speed"] == 0 or self.rtf >= 0.9 * self.p["speed"] else WARN
        vals = {"sim_time": self.time_offset + self._cached[2], "episode": self.episode, "real_time_factor": self.rtf,
                "camera_frames": self.frames,
                "camera_clients": self.mjpeg.clients if self.mjpeg else 0}
        if self.arduino is not None:
            vals.update(self.arduino.stats())
        return level, f"running, real-time factor {self.rtf:.2f}", vals

    def shutdown(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        try:
            self.publish_status()
        except Exception:  # noqa: BLE001 - context may be gone
            pass
        self._stop_devices()
        self.world.close()
        if self._error:
            raise RuntimeError(f"physics loop failed: {self._error}")


def main(args=None):
    run_node(SimNode, args)


if __name__ == "__main__":
    main()
