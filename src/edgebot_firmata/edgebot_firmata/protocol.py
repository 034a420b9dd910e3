"""Firmata wire format (ROS-free): constants, 7-bit encoding and a validating stream parser.

The parser is used on both ends: the virtual Arduino parses what the host sends, and the
host side (:mod:`edgebot_firmata.client`) checks every frame the board sends before pymata4
sees it, so garbage bytes and truncated sysex are dropped and counted instead of wedging or
killing pymata4's reader thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# --- command bytes ----------------------------------------------------------------------
DIGITAL_MESSAGE = 0x90  # + port, 2 data bytes (both directions)
ANALOG_MESSAGE = 0xE0  # + pin, 2 data bytes (board->host analog value, host->board PWM)
REPORT_ANALOG = 0xC0  # + analog pin, 1 data byte
REPORT_DIGITAL = 0xD0  # + port, 1 data byte
SET_PIN_MODE = 0xF4  # pin, mode
SET_DIGITAL_PIN_VALUE = 0xF5  # pin, value
REPORT_VERSION = 0xF9  # (host->board: none; board->host: major, minor)
SYSTEM_RESET = 0xFF
START_SYSEX = 0xF0
END_SYSEX = 0xF7

# --- sysex commands ---------------------------------------------------------------------
KEEP_ALIVE = 0x50
ARE_YOU_THERE = 0x51
I_AM_HERE = 0x52
TONE_DATA = 0x5F
SONAR_CONFIG = 0x62
SONAR_DATA = 0x63
DHT_CONFIG = 0x64
DHT_DATA = 0x65
ANALOG_MAPPING_QUERY = 0x69
ANALOG_MAPPING_RESPONSE = 0x6A
CAPABILITY_QUERY = 0x6B
CAPABILITY_RESPONSE = 0x6C
PIN_STATE_QUERY = 0x6D
PIN_STATE_RESPONSE = 0x6E
EXTENDED_ANALOG = 0x6F
SERVO_CONFIG = 0x70
STRING_DATA = 0x71
STEPPER_DATA = 0x72
I2C_REQUEST = 0x76
I2C_REPLY = 0x77
I2C_CONFIG = 0x78
REPORT_FIRMWARE = 0x79
SAMPLING_INTERVAL = 0x7A

# --- pin modes --------------------------------------------------------------------------
INPUT = 0x00
OUTPUT = 0x01
ANALOG = 0x02
PWM = 0x03
SERVO = 0x04
I2C = 0x06
STEPPER = 0x08
SERIAL = 0x0A
PULLUP = 0x0B
SONAR = 0x0C
TONE = 0x0D
IGNORE = 0x7F

MODE_NAMES = {
    INPUT: "INPUT",
    OUTPUT: "OUTPUT",
    ANALOG: "ANALOG",
    PWM: "PWM",
    SERVO: "SERVO",
    I2C: "I2C",
    STEPPER: "STEPPER",
    SERIAL: "SERIAL",
    PULLUP: "PULLUP",
    SONAR: "SONAR",
    TONE: "TONE",
    IGNORE: "IGNORE",
}

#: Firmata's incoming sysex buffer on an AVR is 64 data bytes.
MAX_SYSEX_DATA = 64


def to7(value: int, n: int = 2) -> list[int]:
    """``value`` as ``n`` 7-bit bytes, least significant first."""
    return [(value >> (7 * i)) & 0x7F for i in range(n)]


def from7(data: Iterable[int]) -> int:
    v = 0
    for i, b in enumerate(data):
        v |= (b & 0x7F) << (7 * i)
    return v


def sysex(command: int, data: Iterable[int] = ()) -> bytes:
    body = list(data)
    if any(b > 0x7F or b < 0 for b in body):
        raise ValueError("sysex data bytes must be 0..127")
    return bytes([START_SYSEX, command, *body, END_SYSEX])


def encode_string(text: str) -> list[int]:
    """Firmata strings: each character as two 7-bit bytes."""
    out: list[int] = []
    for ch in text.encode("ascii", "replace"):
        out += [ch & 0x7F, (ch >> 7) & 0x7F]
    return out


# --- argument counts of the plain (non-sysex) messages per direction ---------------------
def host_to_board_args(cmd: int) -> int | None:
    """Data bytes following a command byte the host sends; None = not a command we know."""
    hi = cmd & 0xF0
    if hi in (DIGITAL_MESSAGE, ANALOG_MESSAGE):
        return 2
    if hi in (REPORT_ANALOG, REPORT_DIGITAL):
        return 1
    return {SET_PIN_MODE: 2, SET_DIGITAL_PIN_VALUE: 2, REPORT_VERSION: 0, SYSTEM_RESET: 0}.get(cmd)


def board_to_host_args(cmd: int) -> int | None:
    """Data bytes following a command byte the board sends (what pymata4 can dispatch)."""
    hi = cmd & 0xF0
    if hi in (DIGITAL_MESSAGE, ANALOG_MESSAGE):
        return 2
    if cmd == REPORT_VERSION:
        return 2
    return None


#: Sysex replies pymata4 has a handler for (anything else would crash its reader thread).
BOARD_SYSEX = {
    REPORT_FIRMWARE,
    SONAR_DATA,
    STRING_DATA,
    I2C_REPLY,
    CAPABILITY_RESPONSE,
    PIN_STATE_RESPONSE,
    ANALOG_MAPPING_RESPONSE,
    DHT_DATA,
}


def _board_sysex_ok(cmd: int, data: list[int]) -> str | None:
    """Shape checks of the board's sysex replies that pymata4's handlers rely on."""
    n = len(data)
    if cmd == SONAR_DATA and n != 3:
        return f"sonar data with {n} bytes (3 expected)"
    if cmd == REPORT_FIRMWARE and (n < 2 or n % 2):
        return f"firmware report with {n} bytes"
    if cmd == I2C_REPLY and (n < 4 or n % 2):
        return f"i2c reply with {n} bytes"
    if cmd == DHT_DATA and n < 9:
        return f"dht data with {n} bytes"
    if cmd == PIN_STATE_RESPONSE and n < 1:
        return "empty pin state response"
    if cmd == ANALOG_MAPPING_RESPONSE and n == 0:
        return "empty analog mapping"
    return None


@dataclass
class Frame:
    """One complete message: ``raw`` are its bytes on the wire."""

    command: int  # command byte (port/pin nibble included) or sysex command
    data: list[int]
    is_sysex: bool
    raw: bytes


@dataclass
class FirmataParser:
    """Incremental, validating Firmata frame parser.

    ``feed(data)`` returns the complete frames found; bytes that do not form a valid frame
    are counted in ``errors`` by reason (``stray_data``, ``unknown_command``,
    ``truncated``, ``sysex_overflow``, ``unknown_sysex``, ``bad_sysex``), never raised.
    """

    args_of: Callable[[int], int | None]
    sysex_ok: Callable[[int, list[int]], str | None] | None = None
    known_sysex: set | None = None
    max_sysex: int = MAX_SYSEX_DATA
    errors: dict = field(default_factory=dict)
    frames: int = 0
    _cmd: int | None = None
    _need: int = 0
    _buf: list[int] = field(default_factory=list)
    _in_sysex: bool = False
    _overflow: bool = False

    def _err(self, reason: str, n: int = 1) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + n

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    def pending(self) -> bool:
        return self._cmd is not None or self._in_sysex

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        for b in data:
            self._byte(b, out)
        return out

    def _byte(self, b: int, out: list[Frame]) -> None:
        if self._in_sysex:
            if b == END_SYSEX:
                self._in_sysex = False
                if self._overflow:
                    self._overflow = False
                    self._buf = []
                    return
                if not self._buf:
                    self._err("bad_sysex")
                    return
                cmd, body = self._buf[0], self._buf[1:]
                self._buf = []
                if self.known_sysex is not None and cmd not in self.known_sysex:
                    self._err("unknown_sysex")
                    return
                if self.sysex_ok is not None and self.sysex_ok(cmd, body):
                    self._err("bad_sysex")
                    return
                self.frames += 1
                out.append(Frame(cmd, body, True, bytes([START_SYSEX, cmd, *body, END_SYSEX])))
                return
            if b & 0x80:
                # a command byte inside a sysex: the sysex was cut short
                self._err("truncated")
                self._in_sysex = False
                self._overflow = False
                self._buf = []
                self._byte(b, out)
                return
            if self._overflow:
                return
            if len(self._buf) > self.max_sysex:
                self._err("sysex_overflow")
                self._overflow = True
                return
            self._buf.append(b)
            return

        if b & 0x80:
            if self._cmd is not None:
                self._err("truncated")
                self._cmd = None
                self._buf = []
            if b == START_SYSEX:
                self._in_sysex = True
                self._buf = []
                return
            if b == END_SYSEX:
                self._err("stray_data")
                return
            n = self.args_of(b)
            if n is None:
                self._err("unknown_command")
                return
            if n == 0:
                self.frames += 1
                out.append(Frame(b, [], False, bytes([b])))
                return
            self._cmd, self._need, self._buf = b, n, []
            return

        if self._cmd is None:
            self._err("stray_data")
            return
        self._buf.append(b)
        if len(self._buf) == self._need:
            cmd, body = self._cmd, self._buf
            self._cmd, self._buf = None, []
            self.frames += 1
            out.append(Frame(cmd, body, False, bytes([cmd, *body])))


def host_parser() -> FirmataParser:
    """Parser for what a host sends to a board (used by the virtual Arduino)."""
    return FirmataParser(args_of=host_to_board_args)


def board_parser() -> FirmataParser:
    """Parser for what a board sends to the host (used in front of pymata4)."""
    return FirmataParser(
        args_of=board_to_host_args,
        sysex_ok=_board_sysex_ok,
        known_sysex=set(BOARD_SYSEX),
        max_sysex=4096,
    )


def parse_capabilities(data: list[int]) -> list[dict]:
    """CAPABILITY_RESPONSE body -> per pin {mode: resolution}."""
    pins: list[dict] = []
    cur: dict = {}
    i = 0
    while i < len(data):
        if data[i] == 0x7F:
            pins.append(cur)
            cur = {}
            i += 1
            continue
        if i + 1 >= len(data):
            break
        cur[data[i]] = data[i + 1]
        i += 2
    return pins


def encode_capabilities(pins: list[dict]) -> list[int]:
    out: list[int] = []
    for modes in pins:
        for mode, res in modes.items():
            out += [mode, res]
        out.append(0x7F)
    return out
