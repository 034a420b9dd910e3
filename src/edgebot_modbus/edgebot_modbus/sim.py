"""A simulated Modbus device built from a register map: pymodbus's own server, on TCP or on a
serial line (RTU over a pseudo-terminal pair), for working without hardware and for the tests.

    edgebot modbus-sim --map config/modbus.yaml --tcp 127.0.0.1:5020       (or: ros2 run
    edgebot_modbus modbus_sim ...)   serves every unit of the map's first bus on TCP;
    --rtu-link /tmp/ttyMODBUS0 serves it as RTU on a pty whose other end is that symlink.

Every unit of the bus gets four tables covering its points' address ranges (unused registers in
between read as 0; addresses outside answer "illegal data address"). In Python::

    with SimulatedBus(rm.devices, tcp=("127.0.0.1", port)) as sim:
        sim.set("meter", "voltage", 230.4)     # encoded like the bridge decodes it
        sim.mute = True                        # the device stops answering
        sim.corrupt = True                     # answers with a bad CRC (RTU) / garbage (TCP)
        sim.fail[(3, 100)] = 4                 # holding register 100 -> exception 4
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import os
import select
import signal
import sys
import threading
import time
import tty

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from . import codec
from .link import quiet_pymodbus
from .registermap import Device, MapError, Point, load

_FC = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}
_WRITE_FC = {1: (5, 15), 3: (6, 16)}


class PtyCable:
    """Two pseudo-terminals joined back to back: a null-modem cable between two paths."""

    def __init__(self, link: str | None = None):
        self._fds = []
        pairs = []
        for _ in range(2):
            m, s = os.openpty()
            tty.setraw(s)
            pairs.append((m, s, os.ttyname(s)))
            self._fds += [m, s]
        (self._ma, _, self.device_path), (self._mb, _, self.client_path) = pairs
        self.link = link
        if link:
            if os.path.islink(link):
                os.unlink(link)
            os.symlink(self.client_path, link)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-cable", daemon=True)
        self._thread.start()

    def _run(self):
        peer = {self._ma: self._mb, self._mb: self._ma}
        while not self._stop.is_set():
            try:
                r, _, _ = select.select(list(peer), [], [], 0.1)
            except (OSError, ValueError):
                return
            for fd in r:
                try:
                    data = os.read(fd, 4096)
                    if data:
                        os.write(peer[fd], data)
                except OSError:
                    pass  # the other side is closed for a moment (a reconnecting client)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)


class SimulatedBus:
    """pymodbus server for the units of ``devices`` (which share one bus)."""

    def __init__(
        self,
        devices: list[Device],
        tcp: tuple[str, int] | None = None,
        rtu_port: str | None = None,
        baudrate: int = 0,
    ):
        quiet_pymodbus()
        self.devices = {d.name: d for d in devices}
        self.mute = False
        self.corrupt = False
        self.fail: dict[tuple[int, int], int] = {}
        self.writes: list[tuple[int, int, int, list]] = []  # (unit, fc, address, values)
        self.requests = 0
        #: requests per (function code, start address), answered or not (e.g. a write refused
        #: with an exception: the tests count that it was sent once)
        self.seen: collections.Counter = collections.Counter()
        #: time.perf_counter() of every answer sent (for latency figures)
        self.sent_at: collections.deque = collections.deque(maxlen=100000)
        self._tcp, self._rtu = tcp, rtu_port
        d0 = devices[0]
        self._baud = baudrate or (d0.rtu.baudrate if d0.rtu else 19200)
        self._serial = (d0.rtu.parity, d0.rtu.stopbits, d0.rtu.bytesize) if d0.rtu else ("N", 1, 8)
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="modbus-sim", daemon=True)

    # ------------------------------------------------------------------ device model
    def _simdevices(self) -> list[SimDevice]:
        units: dict[int, dict[str, list[Point]]] = {}
        for d in self.devices.values():
            for p in d.points:
                units.setdefault(d.unit, {}).setdefault(p.function, []).append(p)
        out = []
        for unit, tables in sorted(units.items()):
            blocks = []
            for fn in ("coil", "discrete_input", "holding_register", "input_register"):
                pts = tables.get(fn)
                if not pts:
                    # pymodbus wants all four tables: a bit table gets one unused register's
                    # worth of coils, a register table one invalid cell
                    if fn in ("coil", "discrete_input"):
                        blocks.append([SimData(0, values=[False] * 16, datatype=DataType.BITS)])
                    else:
                        blocks.append([SimData(0, datatype=DataType.INVALID)])
                    continue
                lo = min(p.address for p in pts)
                hi = max(p.last for p in pts)
                if fn in ("coil", "discrete_input"):
                    blocks.append(
                        [SimData(lo, values=[False] * (hi - lo + 1), datatype=DataType.BITS)]
                    )
                else:
                    blocks.append(
                        [SimData(lo, count=hi - lo + 1, values=0, datatype=DataType.REGISTERS)]
                    )
            out.append(SimDevice(unit, simdata=tuple(blocks), action=self._action))
        return out

    async def _action(self, fc, start, address, count, registers, set_values):
        self.requests += 1
        self.seen[(fc, address)] += 1
        for a in range(address, address + count):
            for f in (fc,) + tuple(k for k, v in _WRITE_FC.items() if fc in v):
                code = self.fail.get((f, a))
                if code:
                    return ExcCodes(code)
        if set_values is not None:
            self.writes.append((None, fc, address, list(set_values)))
        return None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data
        if self.mute:
            return b""
        if self.corrupt and data:
            b = bytearray(data)
            b[-1] ^= 0xFF  # RTU: the CRC's last byte; TCP: the last data byte
            return bytes(b)
        self.sent_at.append(time.perf_counter())
        return data

    def first_answer_after(self, t: float) -> float:
        """perf_counter time of the first answer sent after ``t`` (nan if none yet)."""
        times = list(self.sent_at)
        i = bisect.bisect_right(times, t)
        return times[i] if i < len(times) else float("nan")

    # ------------------------------------------------------------------ server thread
    def _run(self):
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as e:  # surfaced by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _start(self):
        devs = self._simdevices()
        if self._tcp:
            self._server = ModbusTcpServer(devs, address=self._tcp, trace_packet=self._trace)
        else:
            parity, stopbits, bytesize = self._serial
            self._server = ModbusSerialServer(
                devs,
                framer=FramerType.RTU,
                port=self._rtu,
                baudrate=self._baud,
                parity=parity,
                stopbits=stopbits,
                bytesize=bytesize,
                trace_packet=self._trace,
            )
        await self._server.serve_forever(background=True)

    def start(self, timeout: float = 10.0) -> SimulatedBus:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("modbus sim did not start")
        if self._error:
            raise RuntimeError(f"modbus sim: {self._error}")
        return self

    def stop(self) -> None:
        if self._server is not None and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
            try:
                fut.result(timeout=5)
            except Exception:
                pass
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ values
    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)

    def point(self, device: str, point: str) -> tuple[Device, Point]:
        d = self.devices[device]
        for p in d.points:
            if p.name == point:
                return d, p
        raise KeyError(f"{device}/{point}")

    def set(self, device: str, point: str, value) -> None:
        """Store an engineering value as the bridge would read it (scale, orders applied)."""
        d, p = self.point(device, point)
        fc = _FC[p.function]
        if p.is_bit:
            regs = [bool(value)]
        else:
            raw = codec.to_raw(value, p.type, p.scale, p.offset)
            regs = codec.encode(raw, p.type, d.word_order_of(p), d.byte_order_of(p))
        self.set_raw(d.unit, fc, p.address, regs)

    def set_raw(self, unit: int, fc: int, address: int, values: list) -> float:
        """Set values; returns the perf_counter time at which they were set, taken in the
        server's own event loop: every answer it sends after that carries them."""

        async def _set():
            await self._server.async_setValues(unit, fc, address, list(values))
            return time.perf_counter()

        return self._call(_set())

    def get(self, device: str, point: str):
        d, p = self.point(device, point)
        data = self.get_raw(d.unit, _FC[p.function], p.address, p.size)
        if p.is_bit:
            return bool(data[0])
        raw = codec.decode(data, p.type, d.word_order_of(p), d.byte_order_of(p))
        return codec.to_value(raw, p.scale, p.offset)

    def get_raw(self, unit: int, fc: int, address: int, count: int) -> list:
        return list(self._call(self._server.async_getValues(unit, fc, address, count)))


def cli(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="modbus_sim", description=__doc__.split("\n\n")[0])
    ap.add_argument("--map", required=True, help="register map YAML")
    ap.add_argument("--device", default="", help="serve this device's bus (default: the first)")
    ap.add_argument(
        "--tcp",
        default="",
        help="HOST:PORT to serve Modbus TCP on (default: the map's tcp host and port)",
    )
    ap.add_argument(
        "--rtu-link",
        default="",
        help="serve RTU on a pty and symlink its other "
        "end here, where the bridge opens it (default: the map's rtu port)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="DEVICE/POINT=VALUE",
        help="initial value (repeatable)",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--ros-args" in argv:  # started as a launch file node
        argv = argv[: argv.index("--ros-args")]
    a = ap.parse_args(argv)
    try:
        rm = load(a.map)
    except MapError as e:
        print(f"modbus_sim: {a.map}: {e}", file=sys.stderr)
        return 2
    first = next((d for d in rm.devices if d.name == a.device), None) if a.device else rm.devices[0]
    if first is None:
        print(f"modbus_sim: no device {a.device!r} in {a.map}", file=sys.stderr)
        return 2
    devices = rm.buses()[first.bus_key]
    if not a.tcp and not a.rtu_link:
        if first.tcp is not None:
            a.tcp = f"{first.tcp.host}:{first.tcp.port}"
        else:
            a.rtu_link = first.rtu.port
    cable = None
    if a.tcp:
        host, _, port = a.tcp.rpartition(":")
        sim = SimulatedBus(devices, tcp=(host or "127.0.0.1", int(port)))
    else:
        cable = PtyCable(a.rtu_link)
        sim = SimulatedBus(devices, rtu_port=cable.device_path)
    sim.start()
    for s in a.set:
        name, _, value = s.partition("=")
        dev, _, pt = name.partition("/")
        sim.set(
            dev,
            pt,
            float(value) if value.lower() not in ("true", "false") else value.lower() == "true",
        )
    where = a.tcp or f"{a.rtu_link} -> {cable.client_path}"
    # As run_node does for the ROS nodes: the first SIGINT/SIGTERM ends serving, later ones (a
    # terminal Ctrl-C under ros2 launch is followed by launch's own SIGINT) cannot cut the
    # cleanup short -- the pty link is always removed, the exit is 0.
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"modbus_sim: serving {[d.name for d in devices]} on {where}", flush=True)
    try:
        done.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        sim.stop()
        if cable:
            cable.close()
    return 0


if __name__ == "__main__":
    sys.exit(cli())
