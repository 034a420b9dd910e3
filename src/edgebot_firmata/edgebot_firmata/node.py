"""firmata_node: an Arduino running FirmataExpress/StandardFirmata as ROS 2 topics.

Thin: parameters and the pin map in, :class:`~edgebot_firmata.client.BoardLink` for the
board, conversions to and from messages, a safety timer, a link thread that reconnects with
backoff. See the package README for topics and parameters.
"""
from __future__ import annotations

import glob
import math
import os
import threading
import time
from typing import Dict, Optional

from rclpy.node import Node
from sensor_msgs.msg import BatteryState, JointState, Range
from std_msgs.msg import Bool, Float32, Float64

from edgebot_common import qos as Q
from edgebot_common.backoff import Backoff
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter, Throttle

from . import pinmap as PM
from .client import BoardLink, LinkLost
from .virtual_arduino import BAUD

SPECS = [
    ParamSpec("port", "", "serial port of the board (/dev/ttyACM0); empty = auto-detect"),
    ParamSpec("pin_map", "", "pin map YAML file; empty = edgebot_bringup's config/firmata.yaml"),
    ParamSpec("firmware", "", "firmware on the board; empty = as the pin map says",
              choices=["", "FirmataExpress", "StandardFirmata"]),
    ParamSpec("baud", 0, "baud rate; 0 = 115200 for FirmataExpress, 57600 for StandardFirmata",
              min=0, max=2000000),
    ParamSpec("arduino_wait", 2.0, "seconds to wait for the board to reset after opening "
              "the port (a real Uno needs ~2; a virtual board ~0.05)", min=0.0, max=10.0),
    ParamSpec("instance_id", 1, "ARDUINO_INSTANCE_ID of the FirmataExpress sketch", min=1, max=127),
    ParamSpec("command_timeout", 0.25, "seconds without a command before motors and PWM "
              "outputs go to their safe value", min=0.01, max=10.0),
    ParamSpec("keep_alive", 1, "FirmataExpress keep-alive period [s]: the board resets itself "
              "(outputs off) when the host is silent this long; 0 = off", min=0, max=10),
    ParamSpec("wheel_cmd_mode", "velocity", "wheel_cmd velocity field: rad/s (velocity) or "
              "duty -1..1 (duty)", choices=["velocity", "duty"]),
    ParamSpec("publish_rate", 10.0, "rate of periodic digital/analog input messages [Hz]",
              min=0.1, max=200.0),
    ParamSpec("sonar_rate", 15.0, "rate of sonar/range messages [Hz]", min=0.1, max=50.0),
    ParamSpec("reconnect.initial", 0.5, "first reconnect delay [s]", min=0.05, max=10.0),
    ParamSpec("reconnect.max", 3.0, "longest reconnect delay [s]", min=0.05, max=60.0),
]


def _default_pin_map() -> str:
    try:
        from ament_index_python.packages import get_package_share_directory
        path = os.path.join(get_package_share_directory("edgebot_bringup"), "config",
                            "firmata.yaml")
        if os.path.exists(path):
            return path
    except Exception:
        pass
    return ""


def candidate_ports() -> list:
    """Serial ports an Arduino may be on (USB CDC/FTDI), for auto-detection."""
    ports = sorted(glob.glob("/dev/ttyACM*")) + sorted(glob.glob("/dev/ttyUSB*"))
    try:
        from serial.tools import list_ports
        for p in list_ports.comports():
            if p.pid is not None and p.device not in ports:
                ports.append(p.device)
    except Exception:
        pass
    return ports


class FirmataNode(Node):
    NODE_NAME = "firmata_node"

    def __init__(self):
        super().__init__("firmata_node")
        self.p = p = declare_params(self, SPECS)
        if p["reconnect.max"] < p["reconnect.initial"]:
            raise ConfigError(f"parameter 'reconnect.max' = {p['reconnect.max']}: must be >= "
                              f"reconnect.initial ({p['reconnect.initial']})")
        path = p["pin_map"] or _default_pin_map()
        if not path:
            raise ConfigError("parameter 'pin_map' = '': no pin map given and no "
                              "edgebot_bringup config/firmata.yaml installed")
        try:
            self.pm = pm = PM.load(path)
            if p["firmware"]:
                pm.firmware = p["firmware"]
            pm.check_board_model()
        except PM.PinMapError as e:
            raise ConfigError(f"pin map {path}: {e}") from None
        self.baud = p["baud"] or BAUD[pm.firmware]
        log = self.get_logger()
        self.rejects = RejectCounter(log=log.warning, period_s=5.0)
        self._err_throttle = Throttle(10.0)

        # -- publishers ----------------------------------------------------------------
        self._digital_pub = {d.name: self.create_publisher(Bool, d.name, Q.RELIABLE)
                             for d in pm.digital_inputs}
        self._analog_pub = {}
        for a in pm.analog_inputs:
            t = BatteryState if a.type == "battery" else Float32
            self._analog_pub[a.name] = self.create_publisher(t, a.name, Q.SENSOR_DATA)
        self._sonar_pub = {s.name: self.create_publisher(Range, f"{s.name}/range", Q.SENSOR_DATA)
                           for s in pm.sonars}
        self._digital: Dict[str, bool] = {}
        self._analog: Dict[str, int] = {}
        self._in_lock = threading.Lock()

        # -- subscriptions -------------------------------------------------------------
        if pm.motors:
            self.create_subscription(JointState, "wheel_cmd", self._on_wheel_cmd, Q.COMMANDS)
        for o in pm.pwm_outputs:
            self.create_subscription(Float64, f"{o.name}/cmd",
                                     lambda m, o=o: self._on_pwm(o, m), Q.COMMANDS)
        for o in pm.digital_outputs:
            self.create_subscription(Bool, f"{o.name}/cmd",
                                     lambda m, o=o: self._on_digital_cmd(o, m), Q.COMMANDS)
        for s in pm.servos:
            self.create_subscription(Float64, f"{s.name}/cmd",
                                     lambda m, s=s: self._on_servo(s, m), Q.COMMANDS)

        # -- state ---------------------------------------------------------------------
        self._last_cmd: Dict[str, float] = {}     # "motors" / pwm name -> monotonic time
        self._active: Dict[str, bool] = {}
        self.timeouts = 0
        self.reconnects = 0
        self.connects = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._port_was_missing = False
        self._next_probe = 0.0
        self._silent = 0
        self.board_resets = 0
        self._backoff = Backoff(p["reconnect.initial"], p["reconnect.max"])
        self._rate_prev = (time.monotonic(), 0)
        self.link: Optional[BoardLink] = None
        self.port = p["port"]

        # -- first connection (synchronous, so a pin map the board cannot do stops us) --
        self._connect_first()

        period = min(0.05, p["command_timeout"] / 4.0)
        self.create_timer(period, self._safety_tick)
        self.create_timer(1.0 / p["publish_rate"], self._publish_inputs)
        if pm.sonars:
            self.create_timer(1.0 / p["sonar_rate"], self._publish_sonar)
        self.diag = Diagnostics(self, hardware_id=f"arduino@{self.port or 'auto'}")
        self.diag.add("connection", self._diag_connection)
        self.diag.add("link", self._diag_link)
        self._thread = threading.Thread(target=self._link_loop, name="firmata-link", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ connection
    def _make_link(self, port: str) -> BoardLink:
        p = self.p
        return BoardLink(self.pm, port, self.baud, arduino_wait=p["arduino_wait"],
                         keep_alive_s=p["keep_alive"], instance_id=p["instance_id"],
                         on_digital=self._on_digital_in, on_analog=self._on_analog_in)

    def _try_connect(self) -> None:
        """Connect (auto-detecting the port when none is given); raises on failure."""
        if self.link is not None:
            self.link.connect()
            return
        ports = [self.port] if self.port else candidate_ports()
        if not ports:
            raise OSError("no serial port found (auto-detect: /dev/ttyACM*, /dev/ttyUSB*)")
        last: Exception = OSError("no port")
        for port in ports:
            link = self._make_link(port)
            try:
                link.connect()
            except PM.PinMapError:
                raise
            except Exception as e:
                last = e
                continue
            self.link = link
            self.port = port
            return
        raise last

    def _connected_ok(self) -> None:
        self.connects += 1
        self._silent = 0
        self._next_probe = time.monotonic() + 1.0
        self._backoff.reset()
        self.last_error = ""
        self._reset_commands()
        self.get_logger().info(f"connected to {self.link.firmware_id.strip()} on "
                               f"{self.link.port} at {self.baud} baud; pin map applied")

    def _connect_first(self) -> None:
        try:
            self._try_connect()
        except PM.PinMapError as e:
            raise ConfigError(f"pin map does not fit the board: {e}") from None
        except Exception as e:
            self._port_was_missing = bool(self.port) and not os.path.exists(self.port)
            self.last_error = f"{type(e).__name__}: {e}"
            self.get_logger().warning(f"board not reachable on {self.port or 'any port'} "
                                      f"({self.last_error}); retrying with backoff")
            self._backoff.schedule()
            return
        self._connected_ok()

    def _link_loop(self) -> None:
        while not self._stop.is_set():
            link = self.link
            if link is not None and link.client is not None:
                reason = link.lost_reason()
                if reason is None:
                    self._check_board(link)
                    self._stop.wait(0.1)
                    continue
                self._on_lost(reason)
                continue
            if self._backoff.due() or self._port_came_back():
                try:
                    self._try_connect()
                except Exception as e:
                    self._port_was_missing = bool(self.port) and not os.path.exists(self.port)
                    self.last_error = f"{type(e).__name__}: {e}"
                    if isinstance(e, PM.PinMapError) or self._err_throttle.ready():
                        self.get_logger().error(f"connecting failed: {self.last_error}")
                    self._backoff.schedule()
                else:
                    self.reconnects += 1 if self.connects else 0
                    self._connected_ok()
            self._stop.wait(0.05)

    def _check_board(self, link: BoardLink) -> None:
        """Once a second: does the board still hold the pin map? A board that reset itself
        (keep-alive expiry after a stall of this process, a brown-out) gets it again; a
        board that stops answering is treated as lost."""
        now = time.monotonic()
        if now < self._next_probe:
            return
        self._next_probe = now + 1.0
        try:
            state = link.probe()
        except LinkLost:
            return
        if state == "silent":
            self._silent += 1
            if self._silent >= 3:
                link.mark_lost("board does not answer (3 pin state queries)")
            return
        self._silent = 0
        if state == "reset":
            self.board_resets += 1
            self.get_logger().warning("the board reset itself (lost its pin modes); "
                                      "re-applying the pin map, outputs safe")
            self._reset_commands()
            try:
                link.reapply()
            except (LinkLost, OSError, RuntimeError) as e:
                link.mark_lost(f"re-applying the pin map failed: {e}")

    def _port_came_back(self) -> bool:
        """The device node was missing at the last attempt and exists now (USB plugged back
        in): try at once instead of waiting out the backoff. Checking a path at 20 Hz is
        cheap; a port that exists but does not answer still goes through the backoff."""
        if self._port_was_missing and os.path.exists(self.port):
            self._port_was_missing = False
            return True
        return False

    def _on_lost(self, reason: str) -> None:
        self.last_error = reason
        self.get_logger().error(f"link lost: {reason}; outputs safe, reconnecting")
        # if the port merely vanished and the old file still works, stop the motors through
        # it; otherwise the board's own keep-alive stops them
        self.link.close(reset=True)
        self._reset_commands()
        self._port_was_missing = bool(self.port) and not os.path.exists(self.port)
        self._backoff.reset()
        self._backoff.schedule()

    def _reset_commands(self) -> None:
        self._last_cmd.clear()
        self._active.clear()

    # ------------------------------------------------------------------ commands
    def _write(self, fn, *args) -> bool:
        link = self.link
        if link is None:
            self.rejects.reject("not_connected", "command dropped: board not connected")
            return False
        try:
            fn(*args)
            return True
        except LinkLost:
            self.rejects.reject("not_connected", "command dropped: board not connected")
            return False

    def _finite(self, what: str, v: float) -> bool:
        if math.isfinite(v):
            return True
        self.rejects.reject("non_finite", f"{what} = {v}: rejected")
        return False

    def _on_wheel_cmd(self, msg: JointState) -> None:
        if len(msg.velocity) != len(msg.name) or not msg.name:
            self.rejects.reject("malformed_wheel_cmd",
                                f"wheel_cmd with {len(msg.name)} names and "
                                f"{len(msg.velocity)} velocities")
            return
        duties = []
        for name, v in zip(msg.name, msg.velocity):
            m = self.pm.motor_for_joint(name)
            if m is None:
                self.rejects.reject("unknown_joint", f"wheel_cmd joint {name!r} is not in the "
                                    "pin map")
                continue
            if not self._finite(f"wheel_cmd {name}", v):
                return                      # the whole message: never move on half a command
            duty = v if self.p["wheel_cmd_mode"] == "duty" else v / m.max_wheel_speed
            if abs(duty) > 1.0:
                self.rejects.reject("out_of_range", f"wheel_cmd {name} = {v}: clamped to "
                                    f"duty {math.copysign(1.0, duty):+.0f}")
                duty = math.copysign(1.0, duty)
            duties.append((m, duty))
        if not duties or self.link is None:
            return
        ok = all(self._write(self.link.write_motor, m, d) for m, d in duties)
        if ok:
            self._last_cmd["motors"] = time.monotonic()
            self._active["motors"] = True

    def _on_pwm(self, o: PM.PwmOutput, msg: Float64) -> None:
        v = msg.data
        if not self._finite(f"{o.name}/cmd", v):
            return
        if not 0.0 <= v <= 1.0:
            self.rejects.reject("out_of_range", f"{o.name}/cmd = {v}: clamped to 0..1")
            v = min(1.0, max(0.0, v))
        if self.link is not None and self._write(self.link.write_pwm, o, v):
            self._last_cmd[o.name] = time.monotonic()
            self._active[o.name] = True

    def _on_digital_cmd(self, o: PM.DigitalOutput, msg: Bool) -> None:
        if self.link is not None:
            self._write(self.link.write_digital, o, bool(msg.data))

    def _on_servo(self, s: PM.Servo, msg: Float64) -> None:
        v = msg.data
        if not self._finite(f"{s.name}/cmd", v):
            return
        if not s.min_angle <= v <= s.max_angle:
            self.rejects.reject("out_of_range", f"{s.name}/cmd = {v}: clamped to "
                                f"[{s.min_angle}, {s.max_angle}] rad")
        if self.link is not None:
            self._write(self.link.write_servo, s, v)

    def _safety_tick(self) -> None:
        """Command timeout: motors and PWM outputs go to their safe value."""
        if self.link is None or not self.link.connected:
            return
        now = time.monotonic()
        timeout = self.p["command_timeout"]
        for key, active in list(self._active.items()):
            if not active or now - self._last_cmd.get(key, 0.0) <= timeout:
                continue
            try:
                if key == "motors":
                    for m in self.pm.motors:
                        self.link.write_motor(m, 0.0)
                else:
                    o = next(o for o in self.pm.pwm_outputs if o.name == key)
                    if not o.timeout:
                        self._active[key] = False
                        continue
                    self.link.write_pwm(o, o.safe)
            except LinkLost:
                return
            self._active[key] = False
            self.timeouts += 1

    # ------------------------------------------------------------------ inputs
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
        if self.link is None or not self.link.connected:
            return
        with self._in_lock:
            for name, v in self._digital.items():
                self._digital_pub[name].publish(Bool(data=v))
            analog = dict(self._analog)
        stamp = self.get_clock().now().to_msg()
        for a in self.pm.analog_inputs:
            if a.name not in analog:
                continue
            raw = analog[a.name]
            if a.type == "battery":
                msg = BatteryState()
                msg.header.stamp = stamp
                volts = a.voltage(raw)
                msg.voltage = float(volts)
                msg.percentage = float(a.percentage(volts))
                nan = float("nan")
                msg.temperature = msg.current = msg.charge = nan
                msg.capacity = msg.design_capacity = nan
                msg.present = True
                msg.location = a.name
                self._analog_pub[a.name].publish(msg)
            else:
                self._analog_pub[a.name].publish(Float32(data=float(a.value(raw))))

    def _publish_sonar(self) -> None:
        link = self.link
        if link is None or not link.connected:
            return
        stamp = self.get_clock().now().to_msg()
        for s in self.pm.sonars:
            cm = link.sonar_cm(s.trigger)
            if cm is None:
                continue
            msg = Range()
            msg.header.stamp = stamp
            msg.header.frame_id = s.frame_id
            msg.radiation_type = Range.ULTRASOUND
            msg.field_of_view = float(s.field_of_view)
            msg.min_range = float(s.min_range)
            msg.max_range = float(s.max_range)
            r = cm / 100.0
            # REP 117: +inf = nothing detected (no echo, or beyond max_range)
            msg.range = float("inf") if cm == 0 or r > s.max_range else float(r)
            self._sonar_pub[s.name].publish(msg)

    # ------------------------------------------------------------------ diagnostics
    def _diag_connection(self):
        link = self.link
        values = {"port": self.port or "auto", "baud": self.baud,
                  "firmware": (link.firmware_id.strip() if link else "") or "unknown",
                  "connects": self.connects, "reconnects": self.reconnects,
                  "board_resets": self.board_resets,
                  "keep_alive_s": self.p["keep_alive"], "last_error": self.last_error}
        if link is not None and link.connected:
            return OK, "connected", values
        return ERROR, f"disconnected: {self.last_error or 'connecting'}", values

    def _diag_link(self):
        link = self.link
        st = link.stats() if link is not None else {}
        now = time.monotonic()
        t0, n0 = self._rate_prev
        frames = st.get("rx_frames", 0)
        rate = (frames - n0) / max(1e-6, now - t0)
        self._rate_prev = (now, frames)
        values = {"rx_messages_per_s": rate, "writes": link.writes if link else 0,
                  "command_timeouts": self.timeouts, "rejected_commands": self.rejects.total,
                  **st, **{f"rejected_{k}": v for k, v in self.rejects.as_dict().items()}}
        level = WARN if st.get("serial_errors", 0) else OK
        msg = "serial errors seen" if level == WARN else "ok"
        return level, msg, values

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Safe outputs and a board reset before we go."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.link is not None:
            self.link.close(reset=True)


def main(args=None):
    run_node(FirmataNode, args)


if __name__ == "__main__":
    main()
