"""Register <-> value conversion (ROS-free, pymodbus-free).

A point's raw value lives in one or more 16-bit registers. ``word_order`` says which register
holds the most significant word (``big``: the first, Modbus's own convention for 32-bit values;
``little``: the last, "word swapped"). ``byte_order`` says how the two bytes sit inside each
register (``big``: high byte first, the Modbus standard; ``little``: "byte swapped"). With a
float32 whose bytes are A B C D (A most significant) the four combinations are::

    word big,    byte big    -> [AB, CD]   (ABCD, e.g. Eastron SDM meters)
    word little, byte big    -> [CD, AB]   (CDAB, "word swap", many PLCs)
    word big,    byte little -> [BA, DC]   (BADC)
    word little, byte little -> [DC, BA]   (DCBA)

Engineering value = raw * scale + offset; :func:`to_raw` is the inverse for writes, with the
value rounded for integer types and checked against the type's range.

pymodbus's ``convert_from_registers``/``convert_to_registers`` handle the word order but not a
byte swap inside a register, so the conversion is done here with :mod:`struct`; the tests check
it against pymodbus's conversion for the orders both support.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

#: data type -> (struct format, registers). ``bool`` is a coil / discrete input bit.
TYPES = {
    "bool": ("?", 0),
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "float32": ("f", 2),
    "int64": ("q", 4),
    "uint64": ("Q", 4),
    "float64": ("d", 4),
}
INT_RANGES = {
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint64": (0, (1 << 64) - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
ORDERS = ("big", "little")

Number = int | float | bool


class EncodeError(ValueError):
    """A value cannot be written as the point's type (out of range, not finite)."""


def register_count(dtype: str) -> int:
    return TYPES[dtype][1]


def _swap_bytes(b: bytes) -> bytes:
    out = bytearray(b)
    out[0::2], out[1::2] = b[1::2], b[0::2]
    return bytes(out)


def decode(
    registers: Sequence[int], dtype: str, word_order: str = "big", byte_order: str = "big"
) -> int | float:
    """Raw value of ``dtype`` from its registers (exactly ``register_count(dtype)`` of them)."""
    fmt, n = TYPES[dtype]
    if n == 0:
        raise ValueError("bool points are bits, not registers")
    if len(registers) != n:
        raise ValueError(f"{dtype} needs {n} registers, got {len(registers)}")
    words = list(registers)
    if word_order == "little":
        words.reverse()
    raw = b"".join(int(w).to_bytes(2, "big") for w in words)
    if byte_order == "little":
        raw = _swap_bytes(raw)
    return struct.unpack(">" + fmt, raw)[0]


def encode(
    raw: int | float, dtype: str, word_order: str = "big", byte_order: str = "big"
) -> list[int]:
    """Registers holding ``raw`` as ``dtype`` (inverse of :func:`decode`)."""
    fmt, n = TYPES[dtype]
    if n == 0:
        raise ValueError("bool points are bits, not registers")
    try:
        b = struct.pack(">" + fmt, raw)
    except (struct.error, OverflowError) as e:
        raise EncodeError(f"{raw!r} does not fit {dtype}: {e}") from None
    if byte_order == "little":
        b = _swap_bytes(b)
    words = [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]
    if word_order == "little":
        words.reverse()
    return words


def to_value(raw: Number, scale: float = 1.0, offset: float = 0.0) -> Number:
    """Engineering value; integers stay integers when scale is 1 and offset 0."""
    if isinstance(raw, bool):
        return raw
    if scale == 1.0 and offset == 0.0:
        return raw
    return raw * scale + offset


def to_raw(value: Number, dtype: str, scale: float = 1.0, offset: float = 0.0) -> Number:
    """Raw register value for an engineering ``value``; EncodeError when it cannot be written."""
    if dtype == "bool":
        return bool(value)
    v = float(value)
    if not math.isfinite(v):
        raise EncodeError(f"{value!r} is not a finite number")
    raw = (v - offset) / scale
    if dtype in INT_RANGES:
        lo, hi = INT_RANGES[dtype]
        r = int(round(raw))
        if not lo <= r <= hi:
            raise EncodeError(f"{value!r} gives raw {r}, outside {dtype} {lo}..{hi}")
        return r
    if dtype == "float32" and abs(raw) > FLOAT32_MAX:
        raise EncodeError(f"{value!r} is outside the float32 range")
    return raw
