"""firmata_node: an Arduino running Firmata as ROS 2 topics. ROS glue only: the board link is
:class:`~.client.BoardLink`, its life (connect, probe, back off, re-apply)
:class:`~.supervisor.LinkSupervisor`, command checks and timeouts :mod:`~.commands`, messages
:mod:`~.messages`, parameters and the pin map :mod:`~.node_config`, diagnostics :mod:`~.status`.
"""

from __future__ import annotations

import math
import threading
import time

from rclpy.node import Node
from sensor_msgs.msg import BatteryState, JointState, Range
from std_msgs.msg import Bool, Float32, Float64

from edgebot_common import qos as Q
from edgebot_common.backoff import Backoff
from edgebot_common.diagnostics import Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import messages as M
from . import pinmap as PM
from . import status
from .client import BoardLink, LinkLost
from .commands import CommandTimeouts, apply_timeouts, wheel_duties
from .encoders import WheelEncoder
from .node_config import SPECS, load_config
from .supervisor import LinkSupervisor


class FirmataNode(Node):
    NODE_NAME = "firmata_node"

    def __init__(self):
        super().__init__("firmata_node")
        self.p = p = declare_params(self, SPECS)
        try:
            self.pm, self.baud = load_config(p)
        except PM.PinMapError as e:
            raise ConfigError(str(e)) from None
        pm = self.pm
        log = self.get_logger()
        self.rejects = RejectCounter(log=log.warning, period_s=5.0)
        self.guard = CommandTimeouts(p["command_timeout"])

        self._digital_pub = {
            d.name: self.create_publisher(Bool, d.name, Q.RELIABLE) for d in pm.digital_inputs
        }
        self._analog_pub = {
            a.name: self.create_publisher(
                BatteryState if a.type == "battery" else Float32, a.name, Q.SENSOR_DATA
            )
            for a in pm.analog_inputs
        }
        self._sonar_pub = {
            s.name: self.create_publisher(Range, f"{s.name}/range", Q.SENSOR_DATA)
            for s in pm.sonars + pm.ir_ranges
        }
        self.encoders = {e.name: WheelEncoder(e.counts_per_rev, e.reversed) for e in pm.encoders}
        self._wheels_pub = (
            self.create_publisher(JointState, "wheel_states", Q.SENSOR_DATA)
            if pm.encoders
            else None
        )
        self._digital: dict[str, bool] = {}
        self._analog: dict[str, int] = {}
        self._in_lock = threading.Lock()

        if pm.motors:
            self.create_subscription(JointState, "wheel_cmd", self._on_wheel_cmd, Q.COMMANDS)
        for typ, outs, cb in (
            (Float64, pm.pwm_outputs, self._on_pwm),
            (Bool, pm.digital_outputs, self._on_digital_cmd),
            (Float64, pm.servos, self._on_servo),
            (Float64, pm.tones, self._on_tone),
        ):
            for o in outs:
                self.create_subscription(
                    typ, f"{o.name}/cmd", lambda m, o=o, cb=cb: cb(o, m), Q.COMMANDS
                )

        self.sup = LinkSupervisor(
            self._make_link,
            p["port"],
            Backoff(p["reconnect.initial"], p["reconnect.max"]),
            log=self._log,
            on_connected=self._on_connected,
            on_outputs_reset=self.guard.reset,
        )
        try:  # synchronous, so a pin map the board cannot do stops us
            self.sup.connect_first()
        except PM.PinMapError as e:
            raise ConfigError(f"pin map does not fit the board: {e}") from None

        self.create_timer(min(0.05, p["command_timeout"] / 4.0), self._safety_tick)
        self.create_timer(1.0 / p["publish_rate"], self._publish_inputs)
        if pm.sonars:
            self.create_timer(1.0 / p["sonar_rate"], self._publish_sonar)
        for r in pm.ir_ranges:
            self.create_timer(1.0 / r.rate_hz, lambda r=r: self._publish_ir(r))
        self.diag = Diagnostics(self, hardware_id=f"arduino@{p['port'] or 'auto'}")
        self.diag.add("connection", lambda: status.connection(self.sup, self.baud, p["keep_alive"]))
        link_status = status.LinkStatus(time.monotonic())
        self.diag.add(
            "link", lambda: link_status(self.link, self.guard, self.rejects, time.monotonic())
        )
        if pm.encoders:
            self.create_timer(1.0 / p["wheel_states_rate"], self._publish_wheels)
            self.diag.add("encoders", status.EncoderStatus(self.encoders))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._link_loop, name="firmata-link", daemon=True)
        self._thread.start()

    @property
    def link(self):
        return self.sup.link

    def _make_link(self, port: str) -> BoardLink:
        p = self.p
        return BoardLink(
            self.pm,
            port,
            self.baud,
            arduino_wait=p["arduino_wait"],
            keep_alive_s=p["keep_alive"],
            instance_id=p["instance_id"],
            on_digital=self._on_digital_in,
            on_analog=self._on_analog_in,
            encoders=self.encoders,
        )

    def _log(self, level: str, text: str) -> None:
        # One call site per severity: rclpy refuses a call site whose severity changes
        # ("Logger severity cannot be changed between calls"), which killed the link thread.
        log = self.get_logger()
        if level == "error":
            log.error(text)
        elif level == "warning":
            log.warning(text)
        else:
            log.info(text)

    def _on_connected(self, link) -> None:
        self.get_logger().info(
            f"connected to {link.firmware_id.strip()} on {link.port} at "
            f"{self.baud} baud; pin map applied"
        )

    def _link_loop(self) -> None:
        while not self._stop.wait(self.sup.step()):
            continue

    def _write(self, fn, *args) -> bool:
        try:
            if self.link is not None:
                fn(*args)
                return True
        except LinkLost:
            pass
        self.rejects.reject("not_connected", "command dropped: board not connected")
        return False

    def _finite(self, what: str, v: float) -> bool:
        if math.isfinite(v):
            return True
        self.rejects.reject("non_finite", f"{what} = {v}: rejected")
        return False

    def _on_wheel_cmd(self, msg: JointState) -> None:
        duties, rejects = wheel_duties(msg.name, msg.velocity, self.pm, self.p["wheel_cmd_mode"])
        for reason, detail in rejects:
            self.rejects.reject(reason, detail)
        if not duties or self.link is None:
            return
        if all(self._write(self.link.write_motor, m, d) for m, d in duties):
            self.guard.touch("motors")

    def _on_pwm(self, o: PM.PwmOutput, msg: Float64) -> None:
        v = msg.data
        if not self._finite(f"{o.name}/cmd", v):
            return
        if not 0.0 <= v <= 1.0:
            self.rejects.reject("out_of_range", f"{o.name}/cmd = {v}: clamped to 0..1")
            v = min(1.0, max(0.0, v))
        if self.link is not None and self._write(self.link.write_pwm, o, v):
            self.guard.touch(o.name)

    def _on_digital_cmd(self, o: PM.DigitalOutput, msg: Bool) -> None:
        if self.link is not None:
            self._write(self.link.write_digital, o, bool(msg.data))

    def _on_servo(self, s: PM.Servo, msg: Float64) -> None:
        v = msg.data
        if not self._finite(f"{s.name}/cmd", v):
            return
        if not s.min_angle <= v <= s.max_angle:
            self.rejects.reject(
                "out_of_range", f"{s.name}/cmd = {v}: clamped to [{s.min_angle}, {s.max_angle}] rad"
            )
        if self.link is not None:
            self._write(self.link.write_servo, s, v)

    def _on_tone(self, t: PM.ToneOutput, msg: Float64) -> None:
        if self._finite(f"{t.name}/cmd", msg.data) and self.link is not None:
            self._write(self.link.write_tone, t, msg.data)

    def _safety_tick(self) -> None:
        """Command timeout: motors and PWM outputs go to their safe value."""
        link = self.link
        if link is not None and link.connected:
            apply_timeouts(self.guard, self.pm, link)

    def _on_digital_in(self, name: str, value: bool) -> None:
        # published under the lock, so a periodic publish never overtakes a change with the
        # value from before it
        with self._in_lock:
            changed = self._digital.get(name) != value
            self._digital[name] = value
            if changed:
                self._digital_pub[name].publish(Bool(data=value))

    def _on_analog_in(self, name: str, raw: int) -> None:
        with self._in_lock:
            self._analog[name] = raw

    def _publish_inputs(self) -> None:
        if not self.sup.connected:
            return
        with self._in_lock:
            for name, v in self._digital.items():
                self._digital_pub[name].publish(Bool(data=v))
            analog = dict(self._analog)
        stamp = self.get_clock().now().to_msg()
        for a in self.pm.analog_inputs:
            if a.name in analog:
                self._analog_pub[a.name].publish(M.analog_msg(a, analog[a.name], stamp))

    def _publish_sonar(self) -> None:
        link = self.link
        if link is None or not link.connected:
            return
        stamp = self.get_clock().now().to_msg()
        for s in self.pm.sonars:
            cm = link.sonar_cm(s.trigger)
            if cm is not None:
                self._sonar_pub[s.name].publish(M.sonar_msg(s, cm, stamp))

    def _publish_ir(self, r: PM.IrRange) -> None:
        with self._in_lock:
            raw = self._analog.get(r.name)
        if raw is not None and self.sup.connected:
            self._sonar_pub[r.name].publish(M.ir_msg(r, raw, self.get_clock().now().to_msg()))

    def _publish_wheels(self) -> None:
        if self.sup.connected:
            self._wheels_pub.publish(
                M.wheel_states_msg(
                    self.pm.encoders,
                    self.encoders,
                    time.monotonic(),
                    self.get_clock().now().to_msg(),
                )
            )

    def shutdown(self) -> None:
        """Safe outputs and a board reset before we go."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.sup.close()


def main(args=None):
    run_node(FirmataNode, args)


if __name__ == "__main__":
    main()
