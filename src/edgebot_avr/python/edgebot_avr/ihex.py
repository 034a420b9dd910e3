"""Intel HEX reader with errors that name the file, the line and what was expected.

Hand-written (about 50 lines) rather than the ``intelhex`` package: we need only records
00/01/02/04 (and to ignore 03/05), and every error must say which line is wrong and why.
"""

from __future__ import annotations

import os


class FirmwareError(Exception):
    """A firmware image is missing, not Intel HEX, or does not fit the chip."""


def load(path: str, flash_bytes: int, what: str = "the chip") -> bytes:
    """The flash image (0xFF where the file says nothing) of an Intel HEX file."""
    if not os.path.isfile(path):
        raise FirmwareError(f"firmware {path}: no such file (expected an Intel HEX image)")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FirmwareError(f"firmware {path}: cannot read it ({e.strerror})") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise FirmwareError(
            f"firmware {path}: not Intel HEX (binary data; expected text lines ':LLAAAATT<data>CC')"
        ) from None
    data = {}
    base = 0
    end_seen = False
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if end_seen:
            raise FirmwareError(f"firmware {path}: line {n}: data after the end-of-file record")
        if not line.startswith(":") or len(line) < 11 or len(line) % 2 == 0:
            raise FirmwareError(
                f"firmware {path}: line {n}: not Intel HEX (expected a record "
                f"':LLAAAATT<data>CC', got {line[:20]!r})"
            )
        try:
            rec = bytes.fromhex(line[1:])
        except ValueError:
            raise FirmwareError(
                f"firmware {path}: line {n}: not Intel HEX (non-hex characters in {line[:20]!r})"
            ) from None
        length, addr, rtype = rec[0], (rec[1] << 8) | rec[2], rec[3]
        if len(rec) != length + 5:
            raise FirmwareError(
                f"firmware {path}: line {n}: record length {length} does not "
                f"match the line ({len(rec) - 5} data bytes)"
            )
        if sum(rec) & 0xFF:
            raise FirmwareError(f"firmware {path}: line {n}: checksum mismatch")
        payload = rec[4:-1]
        if rtype == 0:
            for i, b in enumerate(payload):
                data[base + addr + i] = b
        elif rtype == 1:
            end_seen = True
        elif rtype == 2 and length == 2:
            base = ((payload[0] << 8) | payload[1]) << 4
        elif rtype == 4 and length == 2:
            base = ((payload[0] << 8) | payload[1]) << 16
        elif rtype in (3, 5):
            pass  # start address: the AVR starts at 0 after reset anyway
        else:
            raise FirmwareError(f"firmware {path}: line {n}: unknown record type {rtype:02X}")
    if not data:
        raise FirmwareError(f"firmware {path}: not Intel HEX (no data records)")
    size = max(data) + 1
    if size > flash_bytes:
        raise FirmwareError(
            f"firmware {path}: the image needs {size} bytes of flash but "
            f"{what} has {flash_bytes} bytes for a sketch"
        )
    image = bytearray(b"\xff" * size)
    for a, b in data.items():
        image[a] = b
    return bytes(image)
