"""The bus supervisor (ROS-free, clock injected): polls one Modbus connection's devices.

    sup = BusSupervisor(devices, Link(devices[0]), on_values=..., on_write=...)
    while running:
        delay = sup.step()          # does what is due now; seconds until the next thing
        wait(delay)                 # (the node's thread waits on an Event: writes wake it)

- Reads follow the :mod:`~edgebot_modbus.planner` batches, each at its period; a batch that
  falls behind (the bus cannot keep the rate) is read again right after the other batches had
  their turn, so it polls as fast as the bus allows, and the missed periods are counted as
  ``overruns``, never caught up in a burst.
- A device that does not answer ``offline_after`` requests in a row goes *offline*: its batches
  stop and one probe read is tried at exponential-backoff intervals
  (:class:`edgebot_common.backoff.Backoff`) until it answers again. When every device of a TCP
  connection is offline the socket is closed and reopened with the probe (a half-dead TCP peer).
  A connection that breaks (:class:`~edgebot_modbus.link.LinkDown`) is reopened with backoff.
- An exception response proves the device is alive; it is counted per exception code.
- Writes are queued by :meth:`request_write` (value checked and encoded first) and executed
  before the next read. A write that fails is reported through ``on_write`` and dropped: never
  retried, because the device may have acted on it.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edgebot_common.backoff import Backoff

from . import codec
from .link import DeviceException, LinkDown, LinkError
from .planner import Batch, plan
from .registermap import Device, Point


class WriteRejected(ValueError):
    """A command that is not written (out of range, not finite, not writable)."""


@dataclass
class WriteResult:
    device: Device
    point: Point
    value: object
    ok: bool
    error: str = ""


@dataclass
class DeviceState:
    device: Device
    backoff: Backoff
    online: bool = True
    failures: int = 0  # unanswered requests in a row
    polls: int = 0  # read requests sent
    answered: int = 0  # read requests answered with data
    timeouts: int = 0
    exceptions: collections.Counter = field(default_factory=collections.Counter)
    writes_ok: int = 0
    writes_failed: int = 0
    went_offline: int = 0
    last_error: str = ""
    last_ok: float = -math.inf
    next_try: float = -math.inf  # offline: when the next probe read goes out


class BusSupervisor:
    def __init__(
        self,
        devices: list[Device],
        link,
        *,
        on_values: Callable[[Device, list[tuple[Point, object]], float], None],
        on_write: Callable[[WriteResult], None] | None = None,
        on_online: Callable[[Device], None] | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
    ):
        self.devices = devices
        self.link = link
        self.clock = clock
        self.on_values = on_values
        self.on_write = on_write or (lambda r: None)
        #: a device answers again after being offline (called before its values)
        self.on_online = on_online or (lambda d: None)
        self.log = log or (lambda s: None)
        self.is_tcp = devices[0].tcp is not None
        self.batches: list[Batch] = plan(devices)
        self._due: dict[int, float] = {id(b): -math.inf for b in self.batches}
        self.state: dict[str, DeviceState] = {
            d.name: DeviceState(d, Backoff(backoff_initial, backoff_max, clock=clock))
            for d in devices
        }
        self._bus_backoff = Backoff(backoff_initial, backoff_max, clock=clock)
        self.connected = False
        self._bus_next = -math.inf
        self.connects = 0
        self.link_errors = 0
        self.overruns = 0
        self.last_error = ""
        self._writes: collections.deque[tuple[Device, Point, list, object]] = collections.deque()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ writes
    def prepare_write(self, device: Device, point: Point, value) -> list:
        """Registers/bits for a command value, or WriteRejected naming the reason."""
        if not point.writable:
            raise WriteRejected(f"{device.name}/{point.name} is not writable")
        if point.is_bit:
            return [bool(value)]
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise WriteRejected(f"{value!r} is not a number") from None
        if not math.isfinite(v):
            raise WriteRejected(f"{value!r} is not finite")
        if point.min is not None and v < point.min:
            raise WriteRejected(f"{v} is below min {point.min}")
        if point.max is not None and v > point.max:
            raise WriteRejected(f"{v} is above max {point.max}")
        try:
            raw = codec.to_raw(v, point.type, point.scale, point.offset)
            return codec.encode(
                raw, point.type, device.word_order_of(point), device.byte_order_of(point)
            )
        except codec.EncodeError as e:
            raise WriteRejected(str(e)) from None

    def request_write(self, device: Device, point: Point, value) -> None:
        """Queue a write (raises WriteRejected for a value that cannot be written)."""
        regs = self.prepare_write(device, point, value)
        with self._lock:
            self._writes.append((device, point, regs, value))

    def _do_writes(self) -> None:
        while True:
            with self._lock:
                if not self._writes:
                    return
                device, point, regs, value = self._writes.popleft()
            st = self.state[device.name]
            if not self.connected:
                err = "not connected"
            elif not st.online:
                err = "device offline"
            else:
                err = ""
                try:
                    self.link.write(
                        point.function,
                        device.unit,
                        point.address,
                        regs,
                        multiple=device.write_function == "multiple",
                    )
                except LinkError as e:
                    err = str(e)
                    self._on_error(st, e)
                else:
                    st.failures = 0
                    # read it back at once
                    for b in self.batches:
                        if b.device is device and point in b.points:
                            self._due[id(b)] = self.clock()
            if err:
                st.writes_failed += 1
                st.last_error = f"write {device.name}/{point.name} = {value!r} failed: {err}"
            else:
                st.writes_ok += 1
            self.on_write(WriteResult(device, point, value, not err, err))

    # ------------------------------------------------------------------ errors
    def _on_error(self, st: DeviceState, e: LinkError) -> None:
        st.last_error = str(e)
        self.last_error = str(e)
        if isinstance(e, DeviceException):
            st.exceptions[e.code] += 1
            st.failures = 0
            return
        if isinstance(e, LinkDown):
            self.link_errors += 1
            self._disconnect(str(e))
            return
        st.timeouts += 1
        st.failures += 1
        if st.online and st.failures >= st.device.offline_after:
            st.online = False
            st.went_offline += 1
            d = self._retry_later(st, self.clock)
            self.log(
                f"device '{st.device.name}' (unit {st.device.unit}) offline after "
                f"{st.failures} unanswered requests; next try in {d:.1f} s"
            )
            if self.is_tcp and not any(s.online for s in self.state.values()):
                self._disconnect("no device answers")
        elif not st.online:
            self._retry_later(st, self.clock)

    def _disconnect(self, why: str) -> None:
        if self.connected:
            self.log(f"{getattr(self.link, 'name', 'link')} closed: {why}")
        self.connected = False
        self.link.close()
        self._bus_next = self.clock() + self._bus_backoff.schedule()

    @staticmethod
    def _retry_later(st: DeviceState, clock) -> float:
        d = st.backoff.schedule()
        st.next_try = clock() + d
        return d

    # ------------------------------------------------------------------ polling
    def _read(self, b: Batch, st: DeviceState) -> bool:
        st.polls += 1
        try:
            data = self.link.read(b.function, b.unit, b.start, b.count)
        except LinkError as e:
            self._on_error(st, e)
            return False
        now = self.clock()
        st.answered += 1
        st.failures = 0
        st.last_ok = now
        if not st.online:
            st.online = True
            st.backoff.reset()
            self.log(f"device '{st.device.name}' (unit {st.device.unit}) answers again")
            self.on_online(st.device)
        try:
            values = b.values(data)
        except Exception as e:  # decoding can only fail on a short answer
            st.last_error = f"{b.describe()}: cannot decode: {e}"
            return False
        self.on_values(b.device, values, now)
        return True

    def step(self) -> float:
        """Do what is due now; return the seconds until something is due next."""
        now = self.clock()
        if not self.connected:
            self._do_writes()  # fail at once: a command must not run late, after a reconnect
            if now < self._bus_next:
                return self._bus_next - now
            if not self.link.connect():
                self.link_errors += 1
                self.last_error = f"cannot connect {getattr(self.link, 'name', '')}"
                d = self._bus_backoff.schedule()
                self._bus_next = self.clock() + d
                return d
            self.connected = True
            self.connects += 1
            self._bus_backoff.reset()
            for st in self.state.values():  # probe everyone at once after a (re)connect
                st.next_try = now
        self._do_writes()
        probed = set()
        for b in self.batches:
            if not self.connected:
                break
            st = self.state[b.device.name]
            if not st.online:
                if b.device.name in probed or self.clock() < st.next_try:
                    continue
                probed.add(b.device.name)
                if self._read(b, st):
                    self._due[id(b)] = self.clock() + b.period
                continue
            due = self._due[id(b)]
            if due > now:
                continue
            self._read(b, st)
            nxt = due + b.period
            t = self.clock()
            if nxt <= t:
                # behind (the bus is slower than the rate asked for): poll again as soon as
                # the other batches had their turn; missed periods are skipped, not caught up
                if due != -math.inf:
                    self.overruns += 1
                    nxt = t
                else:
                    nxt = t + b.period
            self._due[id(b)] = nxt
            now = t
        return self.next_delay()

    def next_delay(self) -> float:
        now = self.clock()
        if not self.connected:
            return max(0.0, self._bus_next - now)
        with self._lock:
            if self._writes:
                return 0.0
        times = []
        for b in self.batches:
            st = self.state[b.device.name]
            times.append(self._due[id(b)] if st.online else st.next_try)
        return max(0.0, min(times) - now) if times else 1.0

    def close(self) -> None:
        self.connected = False
        self.link.close()

    # ------------------------------------------------------------------ diagnostics
    def counters(self, name: str) -> dict:
        st = self.state[name]
        return {
            "online": st.online and self.connected,
            "polls": st.polls,
            "answered": st.answered,
            "timeouts": st.timeouts,
            "exceptions": sum(st.exceptions.values()),
            **{f"exception_{c}": n for c, n in sorted(st.exceptions.items())},
            "writes_ok": st.writes_ok,
            "writes_failed": st.writes_failed,
            "went_offline": st.went_offline,
            "last_error": st.last_error or "",
        }

    def bus_counters(self) -> dict:
        """What belongs to the connection, not to one device on it (reported once per bus)."""
        c = {
            "connected": self.connected,
            "devices": len(self.devices),
            "connects": self.connects,
            "link_errors": self.link_errors,
            "overruns": self.overruns,
        }
        if not self.is_tcp:  # a serial line: frames with a bad CRC (TCP has no CRC)
            c["crc_errors"] = getattr(self.link, "crc_errors", 0)
        c["last_error"] = self.last_error or ""
        return c
