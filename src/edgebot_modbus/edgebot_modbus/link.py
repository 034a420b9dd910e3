"""One Modbus connection (a TCP socket or a serial line) on pymodbus's synchronous clients.

Turns pymodbus's results into three outcomes the supervisor counts: data, an exception
response (:class:`DeviceException` with the Modbus exception code), or no usable answer
(:class:`NoResponse`, a timeout; :class:`LinkDown`, the connection is gone). pymodbus's own
retries are off (``retries=0``): a read that fails is simply polled again next period, and a
write that fails must never be repeated behind the user's back.

RTU frames with a bad CRC are dropped by pymodbus's framer (it logs them at debug level and the
request then times out); :class:`Link` counts them by wrapping the framer's ``decode`` of this
client instance (pymodbus 3.16: a CRC mismatch is the only path that consumes bytes without
returning a frame).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from .registermap import Device

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    7: "negative acknowledge",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class LinkError(Exception):
    pass


class NoResponse(LinkError):
    """The device did not answer in time (or answered garbage)."""


class LinkDown(LinkError):
    """Not connected / the connection broke."""


class DeviceException(LinkError):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, what: str):
        self.code = int(code)
        super().__init__(
            f"{what}: exception {self.code} ({EXCEPTION_NAMES.get(self.code, 'unknown')})"
        )


def quiet_pymodbus() -> None:
    """pymodbus logs every timeout at ERROR; the bridge counts and logs them itself."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class Link:
    """A pymodbus client for one bus (the first device's connection settings)."""

    def __init__(self, device: Device):
        self.crc_errors = 0
        t = device.timeout
        if device.tcp is not None:
            self.name = f"tcp://{device.tcp.host}:{device.tcp.port}"
            self.client = ModbusTcpClient(
                device.tcp.host, port=device.tcp.port, timeout=t, retries=0
            )
        else:
            r = device.rtu
            self.name = f"rtu://{r.port}@{r.baudrate}{r.parity}{r.bytesize}{r.stopbits}"
            self.client = ModbusSerialClient(
                r.port,
                framer=FramerType.RTU,
                baudrate=r.baudrate,
                parity=r.parity,
                stopbits=r.stopbits,
                bytesize=r.bytesize,
                timeout=t,
                retries=0,
            )
            self._count_crc()
        # pymodbus closes a TCP connection by itself after retries+3 silent requests; the
        # supervisor decides that (offline_after), so the library's own limit is out of reach.
        self.client.set_max_no_responses(1 << 30)

    def _count_crc(self) -> None:
        framer = self.client.framer
        inner = framer.decode

        def decode(data: bytes):
            used, dev_id, tid, frame = inner(data)
            if used and not frame:
                self.crc_errors += 1
            return used, dev_id, tid, frame

        framer.decode = decode

    # ------------------------------------------------------------------ connection
    def connect(self) -> bool:
        try:
            return bool(self.client.connect())
        except Exception:
            return False

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    # ------------------------------------------------------------------ requests
    def _call(self, what: str, fn, *args, **kw):
        try:
            rr = fn(*args, **kw)
        except ConnectionException as e:
            raise LinkDown(f"{what}: {e}") from None
        except ModbusIOException as e:
            if not self.connected:
                raise LinkDown(f"{what}: connection lost") from None
            raise NoResponse(f"{what}: no response ({e})") from None
        except ModbusException as e:
            raise NoResponse(f"{what}: {e}") from None
        except OSError as e:
            raise LinkDown(f"{what}: {e}") from None
        if rr is None:
            raise NoResponse(f"{what}: no response")
        if rr.isError():
            raise DeviceException(getattr(rr, "exception_code", 0), what)
        return rr

    def read(self, function: str, unit: int, start: int, count: int) -> list:
        what = f"read {function} {start}..{start + count - 1} (unit {unit})"
        c = self.client
        fn = {
            "coil": c.read_coils,
            "discrete_input": c.read_discrete_inputs,
            "holding_register": c.read_holding_registers,
            "input_register": c.read_input_registers,
        }[function]
        rr = self._call(what, fn, start, count=count, device_id=unit)
        if function in ("coil", "discrete_input"):
            bits = list(rr.bits)
            if len(bits) < count:
                raise NoResponse(f"{what}: short answer ({len(bits)} bits)")
            return bits[:count]
        regs = list(rr.registers)
        if len(regs) != count:
            raise NoResponse(f"{what}: short answer ({len(regs)} registers)")
        return regs

    def write(
        self, function: str, unit: int, address: int, values: Sequence, multiple: bool = False
    ) -> None:
        what = f"write {function} {address} (unit {unit})"
        c = self.client
        if function == "coil":
            if len(values) == 1 and not multiple:
                self._call(what, c.write_coil, address, bool(values[0]), device_id=unit)
            else:
                self._call(what, c.write_coils, address, [bool(v) for v in values], device_id=unit)
        elif function == "holding_register":
            if len(values) == 1 and not multiple:
                self._call(what, c.write_register, address, int(values[0]), device_id=unit)
            else:
                self._call(
                    what, c.write_registers, address, [int(v) for v in values], device_id=unit
                )
        else:
            raise ValueError(f"{function} is not writable")
