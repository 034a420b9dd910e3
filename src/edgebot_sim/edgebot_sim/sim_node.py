"""sim_node: the PyBullet world of a scenario, stepped at a fixed rate, with virtual devices.

Publishes ``/clock`` (so the other nodes run on simulated time), ``sim/ground_truth``,
``wheel_states`` (the wheel joints: "encoders via the simulator") and ``sim/status`` (latched
JSON: scenario, seed, device endpoints, reached/distance/clearance, real-time factor).
Serves the camera as an MJPEG stream, a virtual Firmata Arduino on a pseudo-terminal (motor
pins drive the wheels, the sonar is a ray cast from ``sonar_link``) and a virtual I2C IMU fed by
the body's motion; the real driver nodes connect to those.

ROS glue only: the physics loop is :class:`edgebot_sim.runner.SimRunner` (one thread, PyBullet
is not thread-safe), the devices are :class:`edgebot_sim.devices.DeviceSet`.
"""

from __future__ import annotations

import json
import threading
import traceback

import rclpy
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import faults
from . import scenario as scen
from .devices import DeviceSet
from .map_tf import MapOdomTf
from .runner import Outputs, SimRunner, State, parse_wheel_cmd
from .world import WHEEL_JOINTS

SPECS = [
    ParamSpec("scenario", "open_field", "scenario name (config/scenarios/<name>.yaml) or path"),
    ParamSpec(
        "seed",
        -1,
        "random seed; -1 = the scenario's (settable: sim/reset uses it)",
        min=-1,
        read_only=False,
    ),
    ParamSpec("speed", 1.0, "target real-time factor; 0 = as fast as possible", min=0.0, max=100.0),
    ParamSpec(
        "physics_rate", 240.0, "physics steps per simulated second [Hz]", min=60.0, max=2000.0
    ),
    ParamSpec(
        "clock_rate", 100.0, "/clock messages per simulated second [Hz]", min=1.0, max=1000.0
    ),
    ParamSpec(
        "state_rate", 50.0, "ground truth and wheel_states rate (sim time) [Hz]", min=1.0, max=500.0
    ),
    ParamSpec("publish_wheel_states", True, "publish wheel_states from the wheel joints"),
    ParamSpec(
        "drive",
        "auto",
        "what moves the wheels: the virtual Arduino's motor pins "
        "(firmata), wheel_cmd directly (wheel_cmd, no Arduino in the loop), or auto "
        "(firmata when arduino.enabled)",
        choices=["auto", "firmata", "wheel_cmd"],
    ),
    ParamSpec(
        "wheel_cmd_timeout",
        0.5,
        "drive=wheel_cmd: stop when no command for this long (sim time) [s]",
        min=0.0,
        min_exclusive=True,
    ),
    ParamSpec(
        "wheel_max_torque", 0.3, "wheel motor torque limit [N m]", min=0.0, min_exclusive=True
    ),
    ParamSpec(
        "start.wait",
        False,
        "hold simulated time at 0 until the drivers are connected "
        "to the virtual devices and the start.* topics are up (fair time-to-target)",
    ),
    ParamSpec("start.publishers", "", "comma-separated topics that need a publisher first"),
    ParamSpec("start.subscribers", "", "comma-separated topics that need a subscriber first"),
    ParamSpec("start.settle", 2.0, "wall seconds to wait once everything is up", min=0.0, max=60.0),
    ParamSpec(
        "start.timeout", 120.0, "wall seconds after which time starts anyway", min=0.0, max=3600.0
    ),
    ParamSpec("camera.enabled", True, "render the camera and serve it as MJPEG"),
    ParamSpec("camera.fps", 10.0, "frames per simulated second", min=0.1, max=60.0),
    ParamSpec("camera.width", 320, "image width [px]", min=16, max=1920),
    ParamSpec("camera.height", 240, "image height [px]", min=16, max=1080),
    ParamSpec("camera.hfov_deg", 60.0, "horizontal field of view [deg]", min=10.0, max=170.0),
    ParamSpec("camera.host", "127.0.0.1", "MJPEG server address"),
    ParamSpec("camera.port", 8080, "MJPEG server port (0 = any free port)", min=0, max=65535),
    ParamSpec("camera.jpeg_quality", 85, "JPEG quality", min=10, max=100),
    ParamSpec("arduino.enabled", True, "serve a virtual Firmata Arduino on a pty"),
    ParamSpec(
        "arduino.link", "", "symlink to the pty (what firmata_node's port names); empty = none"
    ),
    ParamSpec(
        "arduino.pin_map",
        "",
        "pin map file (as firmata_node's pin_map); empty = config/firmata.yaml",
    ),
    ParamSpec(
        "arduino.firmware",
        "",
        "run real firmware on an emulated AVR (edgebot_avr) "
        "instead of the Python board model: a .hex path or an installed image name "
        "(StandardFirmata); empty = the model",
    ),
    ParamSpec(
        "arduino.sonar_rate", 20.0, "sonar ray casts per simulated second [Hz]", min=1.0, max=200.0
    ),
    ParamSpec("imu.enabled", True, "serve a virtual I2C IMU over TCP"),
    ParamSpec("imu.chip", "mpu6050", "virtual IMU chip", choices=["mpu6050", "bno055"]),
    ParamSpec("imu.host", "127.0.0.1", "virtual IMU server address"),
    ParamSpec("imu.port", 0, "virtual IMU server port (0 = any free port)", min=0, max=65535),
    ParamSpec(
        "imu.rate", 200.0, "IMU motion updates per simulated second [Hz]", min=1.0, max=1000.0
    ),
    ParamSpec("imu.noise", True, "the chip's noise and bias"),
]


def stamp(t: float) -> Time:
    sec = int(t)
    return Time(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


class SimNode(Node, Outputs):
    NODE_NAME = "sim_node"

    def __init__(self):
        super().__init__("sim_node")
        self.p = p = declare_params(self, SPECS)
        declare_params(self, faults.SPECS)
        if p["drive"] == "auto":
            p["drive"] = "firmata" if p["arduino.enabled"] else "wheel_cmd"
        if self.get_parameter("use_sim_time").value:
            raise ConfigError("sim_node publishes /clock: run it with use_sim_time false")
        try:
            base = scen.load(p["scenario"])
        except scen.ScenarioError as e:
            raise ConfigError(str(e)) from None
        self.rejects = RejectCounter(self.get_logger().warn)
        self.devices = DeviceSet.start(p, seed=base.resolved(p["seed"]).seed)
        try:
            self.runner = SimRunner(p, base, self.devices, outputs=self)
        except Exception:
            self.devices.stop(self.get_logger().warn)
            raise

        self.pub_clock = self.create_publisher(Clock, "/clock", qos.CLOCK)
        self.pub_truth = self.create_publisher(Odometry, "sim/ground_truth", qos.RELIABLE)
        self.pub_wheels = (
            self.create_publisher(JointState, "wheel_states", qos.SENSOR_DATA)
            if p["publish_wheel_states"]
            else None
        )
        self.pub_status = self.create_publisher(String, "sim/status", qos.LATCHED)
        if p["drive"] == "wheel_cmd":
            self.create_subscription(JointState, "wheel_cmd", self._on_wheel_cmd, qos.COMMANDS)
        self.create_service(Trigger, "sim/reset", self._on_reset)
        self.map_tf = MapOdomTf(self, self.rejects)  # map -> odom on /tf (REP 105)
        self.faults = faults.FaultHooks(self.devices)
        self.add_on_set_parameters_callback(self._on_fault)
        self.diag = Diagnostics(self, hardware_id=f"pybullet:{self.runner.scenario.name}")
        self.diag.add("simulator", self._diag)
        self.status()
        self._thread = threading.Thread(target=self._physics, name="physics", daemon=True)
        self._thread.start()
        self.create_timer(1.0, self.status)
        s = self.runner.scenario
        self.get_logger().info(
            f"scenario {s.name!r} seed {s.seed}: "
            f"{json.dumps(self.devices.endpoints)}; speed {p['speed']}"
        )

    # -- inputs ---------------------------------------------------------------------------------
    def _on_wheel_cmd(self, msg: JointState):
        try:
            left, right = parse_wheel_cmd(list(msg.name), list(msg.velocity))
        except ValueError as e:
            self.rejects.reject("wheel_cmd", str(e))
            return
        self.runner.set_wheel_target(left, right)

    def _on_reset(self, request, response):
        """New episode: the scenario rebuilt with the current ``seed`` parameter; simulated
        time goes on (the clock never jumps back), the episode's time starts at 0."""
        if not self.runner.request_reset(int(self.get_parameter("seed").value), 30.0):
            response.success = False
            response.message = "the physics loop did not take the reset within 30 s"
            return response
        s = self.runner.scenario
        response.success = True
        response.message = json.dumps(
            {
                "episode": self.runner.episode,
                "seed": s.seed,
                "start": [s.start.x, s.start.y, s.start.yaw],
                "target": [s.target.x, s.target.y],
            }
        )
        return response

    def _on_fault(self, params):
        """``fault.*`` parameters switch the simulator's fault hooks (edgebot_sim.faults)."""
        reason = self.faults.apply(params, self.get_logger().warning)
        return SetParametersResult(successful=reason is None, reason=reason or "")

    # -- the runner's outputs (called from the physics thread) ----------------------------------
    def _physics(self):
        try:
            self.runner.run()
        except Exception as e:
            if self.runner.stopped or not self.context.ok():
                return  # shutting down: the context went away under a publish
            self.runner.error = f"{type(e).__name__}: {e}"
            self.get_logger().error(f"physics loop failed: {traceback.format_exc()}")
            rclpy.try_shutdown(context=self.context)

    def clock(self, t: float) -> None:
        self.faults.hold_clock(lambda: self.runner.stopped)  # fault.clock_stall
        self.pub_clock.publish(Clock(clock=stamp(t)))

    def state(self, s: State) -> None:
        odo = Odometry()
        odo.header.stamp = stamp(s.time)
        odo.header.frame_id = "map"
        odo.child_frame_id = "base_link"
        pp, oo = odo.pose.pose.position, odo.pose.pose.orientation
        pp.x, pp.y, pp.z = s.position
        oo.x, oo.y, oo.z, oo.w = s.orientation
        tl, ta = odo.twist.twist.linear, odo.twist.twist.angular
        tl.x, tl.y, tl.z = s.linear
        ta.x, ta.y, ta.z = s.angular
        self.pub_truth.publish(odo)
        self.map_tf.truth(s.time, odo.header.stamp, s.position, s.orientation)
        if self.pub_wheels is not None:
            js = JointState(
                name=list(WHEEL_JOINTS), position=s.wheel_position, velocity=s.wheel_velocity
            )
            js.header.stamp = odo.header.stamp
            self.pub_wheels.publish(js)

    def status(self) -> None:
        self.pub_status.publish(String(data=json.dumps(self.runner.status())))

    def log(self, level: str, text: str) -> None:
        getattr(self.get_logger(), level)(text)

    def missing(self) -> list:
        out = []
        for key, count, what in (
            ("start.publishers", self.count_publishers, "publisher"),
            ("start.subscribers", self.count_subscribers, "subscriber"),
        ):
            for t in filter(None, (x.strip() for x in self.p[key].split(","))):
                if count(t) < 1:
                    out.append(f"{what} of {t}")
        return out

    # -- status and lifecycle -------------------------------------------------------------------
    def _diag(self):
        r = self.runner
        if r.error:
            return ERROR, f"physics loop failed: {r.error}", {}
        level = OK if self.p["speed"] == 0 or r.rtf >= 0.9 * self.p["speed"] else WARN
        return level, f"running, real-time factor {r.rtf:.2f}", r.diag_values()

    def shutdown(self):
        self.runner.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        try:
            self.status()
        except Exception:
            pass
        self.devices.stop(self.get_logger().warn)
        self.runner.close()
        if self.runner.error:
            raise RuntimeError(f"physics loop failed: {self.runner.error}")


def main(args=None):
    run_node(SimNode, args)


if __name__ == "__main__":
    main()
