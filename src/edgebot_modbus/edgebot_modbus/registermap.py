"""The register map (ROS-free): which Modbus devices, which points, loaded from YAML.

Validated with pydantic (unknown keys forbidden, numbers finite); every error is one line that
names the device and point, e.g.::

    devices[0] 'meter' points[2] 'power': holding_register 10..11 overlaps point 'meter/energy'

Format (complete examples: ``config/modbus_sdm120.yaml``, ``config/modbus.yaml``)::

    devices:
      - name: meter                     # topics meter/<point>
        rtu: {port: /dev/ttyUSB0, baudrate: 9600, parity: N, stopbits: 1, bytesize: 8}
        # or: tcp: {host: 192.168.1.50, port: 502}
        unit: 1                         # Modbus unit id 1..247 (248..255 on tcp only; see UNIT_MIN)
        poll_rate: 1.0                  # Hz, default for the points
        timeout: 0.5                    # s per request
        word_order: big                 # default for the points (big | little)
        byte_order: big
        max_gap: 8                      # read through up to 8 unused registers to batch
        publish: every_poll             # or on_change (with deadband, max_period s heartbeat)
        points:
          - {name: voltage, function: input_register, address: 0, type: float32,
             msg: Float64}
          - {name: relay, function: coil, address: 0, writable: true}
          - {name: setpoint, function: holding_register, address: 100, type: int16,
             scale: 0.1, writable: true, min: 5.0, max: 30.0}
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from . import codec

#: the Modbus tables, the value types and the message types a point may name (one definition
#: each: the tuples below and the models' fields are read from these)
Function = Literal["coil", "discrete_input", "holding_register", "input_register"]
ValueType = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"
]
MsgName = Literal[
    "Bool",
    "Int32",
    "Int64",
    "Float32",
    "Float64",
    "Temperature",
    "FluidPressure",
    "RelativeHumidity",
    "Illuminance",
    "BatteryState",
]
Order = Literal["big", "little"]
Publish = Literal["every_poll", "on_change"]
FUNCTIONS = get_args(Function)
BIT_FUNCTIONS = ("coil", "discrete_input")
MSGS = get_args(MsgName)
HEADER_MSGS = ("Temperature", "FluidPressure", "RelativeHumidity", "Illuminance", "BatteryState")
#: Modbus limits per read request (the PDU is at most 253 bytes)
MAX_READ_REGISTERS = 125
MAX_READ_BITS = 2000
#: unit ids: 1..247 are the Modbus spec's unicast addresses; 0 is broadcast (writes only, no
#: answer: useless for a bridge that reads back, refused); 248..255 are reserved by the spec for
#: serial lines but 255 (and 0xF7..0xFF) is what many TCP devices and gateways answer to, so
#: 248..255 are allowed on TCP only
UNIT_MIN, UNIT_MAX_RTU, UNIT_MAX_TCP = 1, 247, 255
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FRAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_/]*$")


class MapError(ValueError):
    """The register map is malformed; the message names the device/point and the reason."""


def _ros_name(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError("must be a ROS name (a letter, then letters, digits, _)")
    return v


def _frame(v: str) -> str:
    if not _FRAME.match(v):
        raise ValueError("must be a frame name (letters, digits, _ and /)")
    return v


RosName = Annotated[str, AfterValidator(_ros_name)]
FrameName = Annotated[str, AfterValidator(_frame)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class Tcp(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)


class Rtu(_Strict):
    port: str = Field(min_length=1)
    baudrate: int = Field(9600, ge=300, le=4_000_000)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class Point(_Strict):
    name: RosName
    function: Function
    address: int = Field(ge=0, le=65535)
    type: ValueType | None = None
    word_order: Order | None = None
    byte_order: Order | None = None
    scale: FiniteFloat = 1.0
    offset: FiniteFloat = 0.0
    poll_rate: FiniteFloat | None = Field(None, ge=0.0, le=10000.0)
    msg: MsgName | None = None
    frame_id: FrameName | None = None
    writable: bool = False
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None
    #: BatteryState only: percentage from the voltage between these (else NaN)
    full_voltage: FiniteFloat | None = None
    empty_voltage: FiniteFloat | None = None
    #: when a value is published (device's if not given): every_poll | on_change
    publish: Publish | None = None
    #: on_change: smallest change published (engineering units)
    deadband: FiniteFloat | None = Field(None, ge=0.0)
    #: on_change: publish an unchanged value again after this many seconds (0: never)
    max_period: FiniteFloat | None = Field(None, ge=0.0, le=86400.0)

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float) -> float:
        if v == 0.0:
            raise ValueError("must not be 0")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        bits = self.function in BIT_FUNCTIONS
        t = self.type or ("bool" if bits else "uint16")
        if bits != (t == "bool"):
            raise ValueError(
                f"type {t} does not fit function {self.function} "
                f"({'only bool' if bits else 'bool is for coils/discrete inputs'})"
            )
        msg = self.msg or ("Bool" if bits else "Float64")
        if (msg == "Bool") != bits:
            raise ValueError(f"msg {msg} does not fit function {self.function}")
        if msg in ("Int32", "Int64"):
            if self.scale != 1.0 or self.offset != 0.0:
                raise ValueError(f"msg {msg} needs scale 1 and offset 0 (use Float64)")
            lo, hi = codec.INT_RANGES.get(t, (0.0, math.inf))
            span = (-(1 << 31), (1 << 31) - 1) if msg == "Int32" else (-(1 << 63), (1 << 63) - 1)
            if t.startswith("float") or lo < span[0] or hi > span[1]:
                raise ValueError(f"type {t} does not fit msg {msg}")
        if self.writable and self.function not in ("coil", "holding_register"):
            raise ValueError(f"only coils and holding registers are writable, not {self.function}")
        if (self.min is not None or self.max is not None) and not self.writable:
            raise ValueError("min/max limit commands: only for writable points")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        if (self.full_voltage is None) != (self.empty_voltage is None):
            raise ValueError("give both full_voltage and empty_voltage, or neither")
        if self.deadband is not None and bits:
            raise ValueError("deadband is for numeric points (a bit is published on any change)")
        if self.full_voltage is not None:
            if msg != "BatteryState":
                raise ValueError("full_voltage/empty_voltage are for msg BatteryState")
            if not self.full_voltage > self.empty_voltage:
                raise ValueError("full_voltage must be > empty_voltage")
        object.__setattr__(self, "type", t)
        object.__setattr__(self, "msg", msg)
        return self

    # -- derived --------------------------------------------------------------------------
    @property
    def is_bit(self) -> bool:
        return self.function in BIT_FUNCTIONS

    @property
    def size(self) -> int:
        """Registers (or bits) the point occupies."""
        return 1 if self.is_bit else codec.register_count(self.type)

    @property
    def last(self) -> int:
        return self.address + self.size - 1


class Device(_Strict):
    name: RosName
    tcp: Tcp | None = None
    rtu: Rtu | None = None
    unit: int = Field(1, ge=UNIT_MIN, le=UNIT_MAX_TCP)
    poll_rate: FiniteFloat = Field(1.0, gt=0.0, le=10000.0)
    timeout: FiniteFloat = Field(1.0, gt=0.0, le=60.0)
    word_order: Order = "big"
    byte_order: Order = "big"
    max_gap: int = Field(8, ge=0, le=MAX_READ_REGISTERS)
    max_read_registers: int = Field(MAX_READ_REGISTERS, ge=1, le=MAX_READ_REGISTERS)
    max_read_bits: int = Field(MAX_READ_BITS, ge=1, le=MAX_READ_BITS)
    #: consecutive unanswered requests before the device counts as offline (then reconnect)
    offline_after: int = Field(3, ge=1, le=100)
    #: write single registers/coils with fc 6/5 (auto) or always fc 16/15 (multiple)
    write_function: Literal["auto", "multiple"] = "auto"
    frame_id: Annotated[str, AfterValidator(lambda v: _frame(v) if v else v)] = ""
    #: defaults for the points: when values are published (see edgebot_modbus.publish)
    publish: Publish = "every_poll"
    deadband: FiniteFloat = Field(0.0, ge=0.0)
    max_period: FiniteFloat = Field(1.0, ge=0.0, le=86400.0)
    points: list[Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_link(self):
        if (self.tcp is None) == (self.rtu is None):
            raise ValueError("give exactly one of tcp: or rtu:")
        if self.rtu is not None and self.unit > UNIT_MAX_RTU:
            raise ValueError(
                f"unit {self.unit}: 1..247 on a serial line (248..255 are reserved; "
                "allowed on tcp: only, for gateways)"
            )
        return self

    @property
    def bus_key(self) -> tuple:
        """Devices with the same key share one connection (an RS-485 line, a gateway)."""
        if self.tcp is not None:
            return ("tcp", self.tcp.host, self.tcp.port)
        return ("rtu", self.rtu.port)

    def word_order_of(self, p: Point) -> str:
        return p.word_order or self.word_order

    def byte_order_of(self, p: Point) -> str:
        return p.byte_order or self.byte_order

    def rate_of(self, p: Point) -> float:
        return self.poll_rate if p.poll_rate is None else p.poll_rate

    def publish_of(self, p: Point) -> str:
        return p.publish or self.publish

    def deadband_of(self, p: Point) -> float:
        return self.deadband if p.deadband is None else p.deadband

    def max_period_of(self, p: Point) -> float:
        return self.max_period if p.max_period is None else p.max_period

    def frame_of(self, p: Point) -> str:
        return p.frame_id if p.frame_id is not None else (self.frame_id or f"{self.name}_link")


class RegisterMap(_Strict):
    devices: list[Device] = Field(min_length=1)

    def points(self):
        """(device, point) for every point."""
        for d in self.devices:
            for p in d.points:
                yield d, p

    def buses(self) -> dict[tuple, list[Device]]:
        out: dict[tuple, list[Device]] = {}
        for d in self.devices:
            out.setdefault(d.bus_key, []).append(d)
        return out


# --- validation beyond one model -----------------------------------------------------------
def _check(rm: RegisterMap) -> None:
    names = {}
    for i, d in enumerate(rm.devices):
        if d.name in names:
            raise MapError(f"devices[{i}] '{d.name}': name used twice (devices[{names[d.name]}])")
        names[d.name] = i
        seen = {}
        for j, p in enumerate(d.points):
            if p.name in seen:
                raise MapError(f"devices[{i}] '{d.name}' points[{j}] '{p.name}': name used twice")
            seen[p.name] = j
            if d.publish_of(p) == "every_poll" and (
                p.deadband is not None or p.max_period is not None
            ):
                raise MapError(
                    f"devices[{i}] '{d.name}' points[{j}] '{p.name}': deadband/max_period "
                    "apply to publish: on_change only"
                )
            limit = d.max_read_bits if p.is_bit else d.max_read_registers
            if p.size > limit:
                raise MapError(
                    f"devices[{i}] '{d.name}' points[{j}] '{p.name}': {p.size} "
                    f"registers exceed max_read_registers {limit}"
                )
            if p.last > 65535:
                raise MapError(
                    f"devices[{i}] '{d.name}' points[{j}] '{p.name}': address "
                    f"{p.address} + {p.size} registers passes 65535"
                )
    # one serial line: the same settings for every device on it; one unit id once per bus
    for key, devs in rm.buses().items():
        first = devs[0]
        for d in devs[1:]:
            if key[0] == "rtu" and d.rtu != first.rtu:
                raise MapError(
                    f"device '{d.name}': serial port {d.rtu.port} is also used by "
                    f"'{first.name}' with other settings ({first.rtu.baudrate} "
                    f"baud, parity {first.rtu.parity}); one line, one setting"
                )
        # overlapping points per (unit, table) across all devices on the bus
        spans: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
        for d in devs:
            for p in d.points:
                spans.setdefault((d.unit, p.function), []).append(
                    (p.address, p.last, f"{d.name}/{p.name}")
                )
        for (unit, fn), lst in spans.items():
            lst.sort()
            for (a0, a1, n0), (b0, b1, n1) in zip(lst, lst[1:]):
                if b0 <= a1:
                    where = _locate(rm, n1)
                    rng = f"{b0}" if b0 == b1 else f"{b0}..{b1}"
                    raise MapError(
                        f"{where}: {fn} {rng} (unit {unit}) overlaps point '{n0}' ({a0}..{a1})"
                    )


def _locate(rm: RegisterMap, full: str) -> str:
    dn, pn = full.split("/")
    for i, d in enumerate(rm.devices):
        if d.name == dn:
            for j, p in enumerate(d.points):
                if p.name == pn:
                    return f"devices[{i}] '{dn}' points[{j}] '{pn}'"
    return full


def _where(doc, loc) -> str:
    """devices[0] 'meter' points[3] 'voltage'.scale from a pydantic error location."""
    loc = [p for p in loc if not (isinstance(p, str) and p in ("function-after", "after"))]
    out = ""
    node = doc
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            try:
                node = node[part]
            except (IndexError, KeyError, TypeError):
                node = None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                out += f" '{node['name']}'"
            continue
        list_next = i + 1 < len(loc) and isinstance(loc[i + 1], int)
        sep = "" if not out else (" " if list_next and out.endswith("'") else ".")
        out += sep + str(part)
        try:
            node = node[part]
        except (KeyError, TypeError, IndexError):
            node = None
    return out


def _describe(doc, err: ValidationError) -> str:
    e = err.errors(include_url=False)[0]
    loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    where = _where(doc, loc) or "map"
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if e["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if e["type"] == "missing":
        return f"{where}: missing"
    value = e.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    return f"{where}{shown}: {msg}"


def from_dict(doc) -> RegisterMap:
    if not isinstance(doc, dict):
        raise MapError(f"register map must be a mapping with 'devices', got {type(doc).__name__}")
    try:
        rm = RegisterMap.model_validate(doc)
    except ValidationError as e:
        raise MapError(_describe(doc, e)) from None
    _check(rm)
    return rm


def loads(text: str) -> RegisterMap:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise MapError(f"not valid YAML: {e}".replace("\n", " ")) from None
    return from_dict(doc if doc is not None else {})


def load(path: str) -> RegisterMap:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise MapError(f"cannot read register map {path!r}: {e.strerror}") from None
    return loads(text)
