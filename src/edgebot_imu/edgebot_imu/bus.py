"""I²C bus objects with smbus2's method shape (ROS-free).

A bus spec selects the transport; the drivers never know which one they talk to:

- ``1`` or ``/dev/i2c-1``: a real Linux i2c-dev bus through :class:`smbus2.SMBus`;
- ``tcp://host:port``: a virtual device served by :class:`edgebot_imu.virtual_imu.VirtualImuServer`
  (possibly in another process), through :class:`TcpBus`.

Every bus has ``read_i2c_block_data(addr, reg, n)``, ``read_byte_data(addr, reg)``,
``write_byte_data(addr, reg, value)``, ``write_i2c_block_data(addr, reg, data)`` and
``close()``. Failures are ``OSError`` with the errno a real i2c-dev adapter gives
(EIO, EREMOTEIO for a NACK, ETIMEDOUT).

Wire format of the TCP transport (network byte order), one request, one reply:
    request  op:u8 addr:u8 reg:u8 n:u8 [n data bytes for OP_WRITE_BLOCK]
    reply    errno:u8 n:u8 [n data bytes]
``op``: 1 read block (n bytes), 2 write byte (n = value), 3 read byte, 4 write block.
"""

from __future__ import annotations

import errno
import re
import socket
import struct
import threading
from collections.abc import Sequence

OP_READ_BLOCK = 1
OP_WRITE_BYTE = 2
OP_READ_BYTE = 3
OP_WRITE_BLOCK = 4

#: smbus2 (and the SMBus protocol) cap a block transfer at 32 bytes
BLOCK_MAX = 32

#: errnos that mean "the bus or the device failed this transaction" (retry, count, recover)
BUS_ERRNOS = (
    errno.EIO,
    errno.EREMOTEIO,
    errno.ENXIO,
    errno.ETIMEDOUT,
    errno.EAGAIN,
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EPIPE,
    errno.ENODEV,
)

_REQ = struct.Struct("!BBBB")
_REP = struct.Struct("!BB")


class BusSpecError(ValueError):
    """The bus parameter cannot be understood (not a number, /dev/i2c-N or tcp://host:port)."""


def parse_bus_spec(spec) -> tuple:
    """``("smbus", N)`` or ``("tcp", host, port)``; BusSpecError for anything else."""
    s = str(spec).strip()
    if re.fullmatch(r"\d+", s):
        return ("smbus", int(s))
    m = re.fullmatch(r"/dev/i2c-(\d+)", s)
    if m:
        return ("smbus", int(m.group(1)))
    m = re.fullmatch(r"tcp://([^:/\s]+):(\d{1,5})/?", s)
    if m and 0 < int(m.group(2)) < 65536:
        return ("tcp", m.group(1), int(m.group(2)))
    raise BusSpecError(f"bus {spec!r}: expected an integer, /dev/i2c-N or tcp://host:port")


def bus_label(spec) -> str:
    """A short text naming the bus for messages and file names ("i2c-1", "tcp-127.0.0.1-4000")."""
    kind = parse_bus_spec(spec)
    if kind[0] == "smbus":
        return f"i2c-{kind[1]}"
    return f"tcp-{kind[1]}-{kind[2]}"


def open_bus(spec, timeout: float = 0.5):
    """Open the bus named by ``spec``. A missing /dev/i2c-N raises OSError (ENOENT)."""
    kind = parse_bus_spec(spec)
    if kind[0] == "smbus":
        from smbus2 import SMBus

        return SMBus(kind[1])
    return TcpBus(kind[1], kind[2], timeout=timeout)


class TcpBus:
    """smbus2-shaped client of a virtual device over TCP. Reconnects on the next call after
    any failure, so a restarted device server is picked up without reopening the bus."""

    def __init__(self, host: str, port: int, timeout: float = 0.5):
        self.host, self.port, self.timeout = host, port, timeout
        self._sock = None
        self._lock = threading.Lock()
        self.reconnects = 0

    # -- transport --------------------------------------------------------------------------
    def _connect(self):
        try:
            s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise OSError(
                e.errno or errno.EIO,
                f"virtual I2C bus tcp://{self.host}:{self.port}: {e.strerror or e}",
            ) from None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(self.timeout)
        self._sock = s
        self.reconnects += 1

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionResetError(errno.ECONNRESET, "virtual device closed the connection")
            buf += chunk
        return bytes(buf)

    def _transact(self, op: int, addr: int, reg: int, n: int, payload: bytes = b"") -> bytes:
        with self._lock:
            if self._sock is None:
                self._connect()
            try:
                self._sock.sendall(_REQ.pack(op, addr & 0x7F, reg & 0xFF, n & 0xFF) + payload)
                err, count = _REP.unpack(self._recv_exact(_REP.size))
                data = self._recv_exact(count) if count else b""
            except TimeoutError:
                self._drop()
                raise OSError(errno.ETIMEDOUT, "virtual I2C bus: timed out") from None
            except OSError as e:
                self._drop()
                raise OSError(e.errno or errno.EIO, f"virtual I2C bus: {e.strerror or e}") from None
        if err:
            raise OSError(
                err,
                f"{errno.errorcode.get(err, err)} from device 0x{addr:02x} register 0x{reg:02x}",
            )
        return data

    def _drop(self):
        try:
            if self._sock is not None:
                self._sock.close()
        finally:
            self._sock = None

    # -- smbus2 shape ---------------------------------------------------------------------------
    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force=None
    ) -> list[int]:
        if not 0 < length <= BLOCK_MAX:
            raise ValueError(f"block length {length} not in 1..{BLOCK_MAX}")
        return list(self._transact(OP_READ_BLOCK, i2c_addr, register, length))

    def read_byte_data(self, i2c_addr: int, register: int, force=None) -> int:
        return self._transact(OP_READ_BYTE, i2c_addr, register, 1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force=None) -> None:
        self._transact(OP_WRITE_BYTE, i2c_addr, register, value & 0xFF)

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Sequence[int], force=None
    ) -> None:
        data = bytes(data)
        if not 0 < len(data) <= BLOCK_MAX:
            raise ValueError(f"block length {len(data)} not in 1..{BLOCK_MAX}")
        self._transact(OP_WRITE_BLOCK, i2c_addr, register, len(data), data)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
