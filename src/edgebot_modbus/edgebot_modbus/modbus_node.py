"""modbus_bridge: Modbus TCP/RTU devices as ROS 2 topics, from a register map.

Thin: the parameters and the map in, one :class:`~edgebot_modbus.supervisor.BusSupervisor`
and thread per connection (a TCP endpoint or a serial line), values out as standard messages,
commands in through the supervisor's write queue, diagnostics. See the package README.
"""

from __future__ import annotations

import collections
import threading

from rclpy.event_handler import PublisherEventCallbacks
from rclpy.node import Node

from edgebot_common import qos as Q
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import messages
from .link import Link, quiet_pymodbus
from .publish import gate_for
from .registermap import Device, MapError, Point, load
from .supervisor import BusSupervisor, WriteRejected, WriteResult

SPECS = [
    ParamSpec("map", "", "register map YAML file: devices, connections, points"),
    ParamSpec("reconnect.initial", 0.5, "first reconnect / probe delay [s]", min=0.05, max=60.0),
    ParamSpec("reconnect.max", 10.0, "longest reconnect / probe delay [s]", min=0.05, max=600.0),
    ParamSpec("diagnostics_period", 1.0, "period of /diagnostics [s]", min=0.1, max=60.0),
]


class _Bus:
    def __init__(self, sup: BusSupervisor):
        self.sup = sup
        self.wake = threading.Event()
        self.thread: threading.Thread = None


class ModbusBridge(Node):
    NODE_NAME = "modbus_bridge"

    def __init__(self):
        super().__init__("modbus_bridge")
        p = declare_params(self, SPECS)
        if p["reconnect.max"] < p["reconnect.initial"]:
            raise ConfigError(
                f"parameter 'reconnect.max' = {p['reconnect.max']}: must be >= "
                f"reconnect.initial ({p['reconnect.initial']})"
            )
        if not p["map"]:
            raise ConfigError(
                "parameter 'map' = '': give the register map YAML file (e.g. config/modbus.yaml)"
            )
        try:
            self.map = load(p["map"])
        except MapError as e:
            raise ConfigError(f"register map {p['map']}: {e}") from None
        quiet_pymodbus()
        log = self.get_logger()
        self.rejects = RejectCounter(log=log.warning, period_s=5.0)
        self._cmd_rejected: collections.Counter = collections.Counter()  # per device
        self._diag_seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        # Each bus thread publishes the values of a read itself, right after decoding them
        # (rclpy's publish: ~10 us a message). A separate publisher thread overlapped little
        # under the GIL and cost a hand-over per read (A/B runs: package README "Figures");
        # here the next read waits until the values of this one are out, nothing is queued.
        # Per point, built once: (gate: publish now?, publish, the reused message, frame,
        # header?) keyed by the point object's id -- no per-point name lookup or clock read.
        self._slots: dict[int, tuple] = {}
        self._gates: dict[str, list] = collections.defaultdict(list)  # per device
        for d, pt in self.map.points():
            gate = gate_for(d, pt)
            self._gates[d.name].append(gate)
            # on_change: a subscriber that joins gets the current value at the next poll
            events = (
                PublisherEventCallbacks(
                    matched=lambda i, g=gate: g.reset() if i.current_count_change > 0 else None
                )
                if gate.on_change
                else None
            )
            pub = self.create_publisher(
                messages.msg_type(pt), f"{d.name}/{pt.name}", Q.RELIABLE, event_callbacks=events
            )
            self._slots[id(pt)] = (
                gate,
                pub.publish,
                messages.new(pt),
                d.frame_of(pt),
                messages.has_header(pt),
            )
        self._published: collections.Counter = collections.Counter()  # messages, per device

        self.buses: list[_Bus] = []
        bus_of: dict[str, _Bus] = {}
        for _key, devs in self.map.buses().items():
            sup = BusSupervisor(
                devs,
                Link(devs[0]),
                on_values=self._publish,
                on_write=self._on_write,
                # on_change: a device back from offline publishes its values at once
                on_online=lambda d: [g.reset() for g in self._gates[d.name]],
                log=log.info,
                backoff_initial=p["reconnect.initial"],
                backoff_max=p["reconnect.max"],
            )
            bus = _Bus(sup)
            self.buses.append(bus)
            for d in devs:
                bus_of[d.name] = bus

        for d, pt in self.map.points():
            if pt.writable:
                self.create_subscription(
                    messages.cmd_type(pt),
                    f"{d.name}/{pt.name}/cmd",
                    lambda m, b=bus_of[d.name], d=d, pt=pt: self._on_cmd(b, d, pt, m),
                    Q.COMMANDS,
                )

        self.diag = Diagnostics(self, hardware_id="modbus", period_s=p["diagnostics_period"])
        for bus in self.buses:
            self.diag.add(f"bus {bus.sup.link.name}", lambda s=bus.sup: self._diag_bus(s))
            for d in bus.sup.devices:
                self.diag.add(d.name, lambda s=bus.sup, d=d: self._diag(s, d))
        for i, bus in enumerate(self.buses):
            bus.thread = threading.Thread(
                target=self._loop, args=(bus,), daemon=True, name=f"modbus-bus-{i}"
            )
            bus.thread.start()
        names = ", ".join(
            f"{getattr(b.sup.link, 'name', '?')} [{', '.join(d.name for d in b.sup.devices)}]"
            for b in self.buses
        )
        log.info(
            f"modbus_bridge: {sum(1 for _ in self.map.points())} points, "
            f"{sum(len(b.sup.batches) for b in self.buses)} read requests per cycle on "
            f"{names}"
        )

    # ------------------------------------------------------------------ bus threads
    def _loop(self, bus: _Bus) -> None:
        while not self._stop.is_set():
            try:
                delay = bus.sup.step()
            except Exception as e:  # a bug must not end polling silently
                self.get_logger().error(f"modbus bus loop: {e!r}")
                delay = 1.0
            if bus.wake.wait(min(max(delay, 0.0), 0.5)):
                bus.wake.clear()

    def _publish(self, d: Device, values, t: float) -> None:
        """Bus thread: publish the values of one read that are due (every poll, or changed /
        heartbeat: the point's gate); one ROS stamp per read, only if a header needs it."""
        slots, fill, stamp, n = self._slots, messages.fill, None, 0
        for pt, v in values:
            gate, publish, msg, frame, header = slots[id(pt)]
            if not gate(v, t):
                continue
            if header and stamp is None:
                stamp = self.get_clock().now().to_msg()
            try:
                publish(fill(msg, pt, v, stamp, frame))
                n += 1
            except Exception as e:  # e.g. shutting down
                if self._stop.is_set():
                    return
                self.rejects.reject("publish", f"{d.name}/{pt.name}: {e}")
        self._published[d.name] += n

    # ------------------------------------------------------------------ commands
    def _on_cmd(self, bus: _Bus, d: Device, pt: Point, msg) -> None:
        try:
            bus.sup.request_write(d, pt, messages.command_value(pt, msg))
        except WriteRejected as e:
            self._cmd_rejected[d.name] += 1
            self.rejects.reject("command", f"{d.name}/{pt.name}/cmd: {e}")
            return
        bus.wake.set()

    def _on_write(self, r: WriteResult) -> None:
        if not r.ok:
            # reported, never retried: the device may have acted on it
            self.get_logger().error(
                f"write {r.device.name}/{r.point.name} = {r.value!r} "
                f"failed (not retried): {r.error}"
            )

    # ------------------------------------------------------------------ diagnostics
    def _diag(self, sup: BusSupervisor, d: Device):
        c = sup.counters(d.name)
        c["commands_rejected"] = self._cmd_rejected[d.name]
        c["published"] = self._published[d.name]
        where = getattr(sup.link, "name", "")
        if not sup.connected:
            return ERROR, f"not connected to {where}: {sup.last_error}", c
        if not c["online"]:
            return ERROR, f"unit {d.unit} not answering", c
        # WARN while exception responses / failed writes keep coming (since the last report)
        seen = (c["exceptions"], c["writes_failed"])
        before = self._diag_seen.get(d.name, (0, 0))
        self._diag_seen[d.name] = seen
        if seen[0] > before[0] or seen[1] > before[1]:
            return (
                WARN,
                (
                    f"unit {d.unit} online; {seen[0] - before[0]} exception response(s), "
                    f"{seen[1] - before[1]} failed write(s) since the last report"
                ),
                c,
            )
        return OK, f"unit {d.unit} online", c

    def _diag_bus(self, sup: BusSupervisor):
        c = sup.bus_counters()
        key = f"bus {sup.link.name}"
        crc = c.get("crc_errors", 0)
        before = self._diag_seen.get(key, (0, 0))[0]
        self._diag_seen[key] = (crc, 0)
        if not c["connected"]:
            return ERROR, f"not connected: {sup.last_error}", c
        if crc > before:
            return (
                WARN,
                f"connected; {crc - before} frame(s) with a bad CRC since the last report",
                c,
            )
        return OK, "connected", c

    def shutdown(self) -> None:
        self._stop.set()
        for bus in self.buses:
            bus.wake.set()
        for bus in self.buses:
            if bus.thread is not None:
                bus.thread.join(timeout=5)
            bus.sup.close()


def main(args=None):
    run_node(ModbusBridge, args)


if __name__ == "__main__":
    main()
