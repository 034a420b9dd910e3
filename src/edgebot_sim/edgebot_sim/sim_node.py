"""sim_node: the PyBullet world of a scenario, stepped at a fixed rate, with virtual devices.

Publishes ``/clock`` (so the other nodes run on simulated time), ``sim/ground_truth``,
``wheel_states`` (the wheel joints: "encoders via the simulator") and ``sim/status`` (latched
JSON: scenario, seed, device endpoints, reached/distance/clearance, real-time factor).
Serves the camera as an MJPEG stream, a virtual Firmata Arduino on a pseudo-terminal (motor
pins drive the wheels, the sonar is a ray cast from ``sonar_link``) and a virtual I2C IMU fed by
the body's motion; the real driver nodes connect to those.

ROS glue only: the physics loop is :class:`edgebot_sim.runner.SimRunner` (one thread, PyBullet
is not thread-safe), the devices are :class:`edgebot_sim.devices.DeviceSet`. ``robots`` > 1:
several rovers in the one world, each under its own namespace (:mod:`edgebot_sim.fleet`, the
per-rover topics in :class:`edgebot_sim.rover_io.RoverIO`).
"""

from __future__ import annotations

import json
import threading
import traceback

import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import faults, fleet, map_tf
from . import scenario as scen
from .rover_io import RoverIO, stamp
from .runner import Outputs, SimRunner, State
from .sim_params import SPECS

__all__ = ["SPECS", "SimNode", "main", "stamp"]


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
        self.spaces = fleet.namespaces(p)
        try:
            base = scen.load(p["scenario"])
            for k in range(1, len(self.spaces) + 1):
                base.for_rover(k, len(self.spaces))  # the spawn rule fits the floor
        except scen.ScenarioError as e:
            raise ConfigError(str(e)) from None
        self.rejects = RejectCounter(self.get_logger().warn)
        self.fleet = fleet.start_devices(p, seed=base.resolved(p["seed"]).seed)
        self.devices = self.fleet[0]
        try:
            self.runner = SimRunner(p, base, self.fleet, outputs=self)
        except Exception:
            for d in self.fleet:
                d.stop(self.get_logger().warn)
            raise

        self.pub_clock = self.create_publisher(Clock, "/clock", qos.CLOCK)
        self.pub_status = self.create_publisher(String, "sim/status", qos.LATCHED)
        tf_p = declare_params(self, map_tf.SPECS)
        self.io = [RoverIO(self, i, ns, p, tf_p) for i, ns in enumerate(self.spaces)]
        self.create_service(Trigger, "sim/reset", self._on_reset)
        self.faults = faults.FaultHooks(self.devices)
        self.add_on_set_parameters_callback(self._on_fault)
        self.diag = Diagnostics(self, hardware_id=f"pybullet:{self.runner.scenario.name}")
        self.diag.add("simulator", self._diag)
        self.status()
        self._thread = threading.Thread(target=self._physics, name="physics", daemon=True)
        self._thread.start()
        self.create_timer(1.0, self.status)
        s = self.runner.scenario
        ends = {ns or "rover": d.endpoints for ns, d in zip(self.spaces, self.fleet)}
        self.get_logger().info(
            f"scenario {s.name!r} seed {s.seed}: {json.dumps(ends)}; speed {p['speed']}"
        )

    # -- inputs ---------------------------------------------------------------------------------
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
        self.io[s.rover].state(s)

    def status(self) -> None:
        """``sim/status``: the rover's status; a fleet's: the first rover's, ``reached`` once
        every rover reached its target, every rover's in ``fleet`` (and on ``<ns>/sim/status``)."""
        sts = [self.runner.status(i) for i in range(len(self.io))]
        for io, st in zip(self.io, sts):
            io.status(st)
        top = sts[0]
        if len(sts) > 1:
            done = all(st["reached"] for st in sts)
            at = max(st["reached_at"] for st in sts) if done else None
            top = dict(top, fleet=sts, reached=done, reached_at=at)
        self.pub_status.publish(String(data=json.dumps(top)))

    def log(self, level: str, text: str) -> None:
        getattr(self.get_logger(), level)(text)

    def missing(self) -> list:
        out = []
        for key, count, what in (
            ("start.publishers", self.count_publishers, "publisher"),
            ("start.subscribers", self.count_subscribers, "subscriber"),
        ):
            for t in fleet.gate_topics(self.p[key], self.spaces):
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
        for d in self.fleet:
            d.stop(self.get_logger().warn)
        self.runner.close()
        if self.runner.error:
            raise RuntimeError(f"physics loop failed: {self.runner.error}")


def main(args=None):
    run_node(SimNode, args)


if __name__ == "__main__":
    main()
