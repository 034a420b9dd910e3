"""The pin map (ROS-free): what each Arduino pin is, loaded from YAML and validated.

Validated with pydantic (the engine of every configuration file here: unknown keys forbidden,
numbers finite, integers and booleans strict); each key and its default is written once, in
the classes below. Every error is one line naming the file, the key path, the value and what
is allowed, e.g. ``pin map robot.yaml: servos[0].pin = 'nine': must be an integer`` or
``pin map robot.yaml: motors[0] 'left': driver in1_in2 needs 'in2'``. Whether the board can do
the map (pins, PWM, timers, firmware features) is :meth:`PinMap.check` /
:meth:`PinMap.check_board_model`.

    from edgebot_firmata import pinmap
    pm = pinmap.load("config/firmata.yaml")
    for m in pm.motors:            # the simulator wires these to wheel joints
        speed = m.wheel_speed(board.output)     # rad/s from the board's pin outputs

Format (see ``config/firmata.yaml`` for a complete example)::

    board: uno                      # uno | nano | mega
    firmware: FirmataExpress        # FirmataExpress | StandardFirmata
    sampling_interval_ms: 19
    motors:
      - {name: left, joint: left_wheel_joint, driver: in1_in2, pwm: 5, in1: 7, in2: 8,
         reversed: false, max_wheel_speed: 15.0}
    digital_inputs:  [{name: bumper, pin: 2, pullup: true, inverted: true}]
    analog_inputs:   [{name: battery, channel: 0, type: battery, vref: 5.0, divider: 3.0,
                       full_voltage: 8.4, empty_voltage: 6.0},
                      {name: light, channel: 1, scale: 0.000977, offset: 0.0}]
    sonars:          [{name: sonar, trigger: 12, echo: 10, frame_id: sonar_link}]
    ir_ranges:       [{name: ir, channel: 2, frame_id: ir_link, min_range: 0.1,
                       max_range: 0.8, rate_hz: 20.0}]     # curve: [[volts, metres], ...]
    digital_outputs: [{name: led, pin: 13, safe: false}]
    pwm_outputs:     [{name: lamp, pin: 11, safe: 0.0}]
    servos:          [{name: pan, pin: 9, min_pulse_us: 544, max_pulse_us: 2400,
                       min_angle: 0.0, max_angle: 3.14159, safe: null}]

Motor drivers: ``in1_in2`` (L298N, TB6612: PWM on the enable pin + two direction pins),
``dir`` (PWM + one direction pin, e.g. Cytron MD10C), ``two_pwm`` (DRV8833, L9110: one PWM
per direction, pins ``pwm`` forward and ``pwm_reverse``). ``reversed`` flips the polarity
(a motor mounted mirrored). Wheel speed = duty * ``max_wheel_speed`` (rad/s at duty 1.0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

from edgebot_common.config_errors import UNKNOWN_KEY, errors_unknown_first, key_path, reason

from . import boards
from . import protocol as P

FIRMWARES = ("FirmataExpress", "StandardFirmata")
DRIVERS = ("in1_in2", "dir", "two_pwm")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$")


class PinMapError(ValueError):
    """The pin map is malformed or does not fit the board; the message names pin and reason."""


_NO_VALUE = object()


class Rule(ValueError):
    """A rule between an entry's keys is broken (raised inside validation; reported as
    ``section[i] 'name'[.key][ = value]: text``)."""

    def __init__(self, text: str, key: str = "", value: Any = _NO_VALUE):
        super().__init__(text)
        self.key = key
        self.value = value


# -- value types: strict (no bool for a number, no string for an integer), finite -------------
def _num(**bounds):
    return Annotated[float, Strict(), Field(allow_inf_nan=False, **bounds)]


def _int(lo: int, hi: int):
    return Annotated[int, Strict(), Field(ge=lo, le=hi)]


def _topic_name(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError("must be a ROS topic name (letters, digits, _ and /)")
    return v


def _joint_name(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError("must be a joint name")
    return v


T = TypeVar("T")
Num = _num()
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Frame = Str
Name = Annotated[str, Strict(), AfterValidator(_topic_name)]
Joint = Annotated[str, Strict(), AfterValidator(_joint_name)]
BoardName = Literal[tuple(boards.BOARDS)]
Firmware = Literal[FIRMWARES]
Driver = Literal[DRIVERS]
#: a list of entries; an empty key (``servos:``) is an empty list
Section = Annotated[list[T], BeforeValidator(lambda v: [] if v is None else v)]


def model(cls):
    """A pydantic dataclass: unknown keys forbidden; constructed, compared and changed like the
    plain dataclasses this module used before, with every field validated."""
    return dataclass(config=ConfigDict(extra="forbid"))(cls)


def _positive_pair(p) -> bool:
    return (
        isinstance(p, (list, tuple))
        and len(p) == 2
        and all(
            not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) and x > 0
            for x in p
        )
    )


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


@model
class Motor:
    name: Name
    joint: Joint
    driver: Driver
    pwm: Int
    in1: Int | None = None
    in2: Int | None = None
    dir: Int | None = None
    pwm_reverse: Int | None = None
    reversed: Bool = False
    max_wheel_speed: _num(gt=0.0) = 15.0  # rad/s at duty 1.0
    pwm_max: _int(1, 16383) = 255

    @model_validator(mode="after")
    def _pins_of_the_driver(self):
        need = {"in1_in2": ("in1", "in2"), "dir": ("dir",), "two_pwm": ("pwm_reverse",)}[
            self.driver
        ]
        for k in need:
            if getattr(self, k) is None:
                raise Rule(f"driver {self.driver} needs '{k}'")
        extra = [
            k
            for k in ("in1", "in2", "dir", "pwm_reverse")
            if k not in need and getattr(self, k) is not None
        ]
        if extra:
            raise Rule(f"driver {self.driver} does not use {extra}")
        return self

    def pins(self) -> list[int]:
        return [
            p for p in (self.pwm, self.in1, self.in2, self.dir, self.pwm_reverse) if p is not None
        ]

    def pwm_pins(self) -> list[int]:
        return [self.pwm] + ([self.pwm_reverse] if self.pwm_reverse is not None else [])

    def digital_pins(self) -> list[int]:
        return [p for p in (self.in1, self.in2, self.dir) if p is not None]

    def outputs(self, duty: float) -> list[tuple[int, str, int]]:
        """Pin writes for a signed duty in [-1, 1] (wheel frame): [(pin, 'pwm'|'digital', v)]."""
        d = _clamp(float(duty), -1.0, 1.0)
        if self.reversed:
            d = -d
        mag = int(round(abs(d) * self.pwm_max))
        if self.driver == "in1_in2":
            fwd, rev = (1, 0) if d > 0 else (0, 1) if d < 0 else (0, 0)
            return [(self.in1, "digital", fwd), (self.in2, "digital", rev), (self.pwm, "pwm", mag)]
        if self.driver == "dir":
            return [(self.dir, "digital", 1 if d > 0 else 0), (self.pwm, "pwm", mag)]
        # two_pwm
        return [
            (self.pwm, "pwm", mag if d > 0 else 0),
            (self.pwm_reverse, "pwm", mag if d < 0 else 0),
        ]

    def duty_from(self, read: Callable[[int], float]) -> float:
        """Inverse of :meth:`outputs`: signed duty (wheel frame) from the pins' outputs."""
        if self.driver == "in1_in2":
            a, b = int(read(self.in1)), int(read(self.in2))
            sign = 1.0 if (a and not b) else -1.0 if (b and not a) else 0.0
            d = sign * float(read(self.pwm)) / self.pwm_max
        elif self.driver == "dir":
            sign = 1.0 if int(read(self.dir)) else -1.0
            d = sign * float(read(self.pwm)) / self.pwm_max
        else:
            d = (float(read(self.pwm)) - float(read(self.pwm_reverse))) / self.pwm_max
        d = _clamp(d, -1.0, 1.0)
        return -d if self.reversed else d

    def wheel_speed(self, read: Callable[[int], float]) -> float:
        """rad/s the wheel turns at for the board's current outputs (duty * max_wheel_speed)."""
        return self.duty_from(read) * self.max_wheel_speed


@model
class DigitalInput:
    name: Name
    pin: Int
    pullup: Bool = False
    inverted: Bool = False


@model
class AnalogInput:
    name: Name
    channel: Int
    type: Literal["scalar", "battery"] = "scalar"  # scalar -> Float32, battery -> BatteryState
    scale: Num = 1.0 / 1023.0
    offset: Num = 0.0
    vref: _num(gt=0.0) = 5.0
    divider: _num(gt=0.0) = 1.0
    full_voltage: Num = 8.4
    empty_voltage: Num = 6.0

    @model_validator(mode="after")
    def _battery_span(self):
        if self.type == "battery" and not self.full_voltage > self.empty_voltage:
            raise Rule("full_voltage must be > empty_voltage")
        return self

    def value(self, raw: int) -> float:
        return raw * self.scale + self.offset

    def voltage(self, raw: int) -> float:
        return raw / 1023.0 * self.vref * self.divider

    def percentage(self, volts: float) -> float:
        span = self.full_voltage - self.empty_voltage
        return _clamp((volts - self.empty_voltage) / span, 0.0, 1.0)


@model
class Sonar:
    name: Name
    trigger: Int
    echo: Int
    frame_id: Frame = "sonar_link"
    min_range: _num(ge=0.0) = 0.02
    max_range: Num = 4.0
    field_of_view: _num(gt=0.0) = 0.26

    @model_validator(mode="after")
    def _ranges(self):
        if not self.min_range < self.max_range:
            raise Rule("need 0 <= min_range < max_range")
        return self


#: Sharp GP2Y0A21YK0F typical output (datasheet fig. 2, white paper): (volts, metres),
#: volts rising as the distance falls; 10..80 cm is its specified range.
GP2Y0A21_CURVE = [
    [0.40, 0.80],
    [0.45, 0.70],
    [0.52, 0.60],
    [0.61, 0.50],
    [0.74, 0.40],
    [0.92, 0.30],
    [1.08, 0.25],
    [1.30, 0.20],
    [1.65, 0.15],
    [2.30, 0.10],
]


@model
class IrRange:
    """An analog IR distance sensor (Sharp GP2Y0A21YK0F-like) on an analog pin.

    ``curve``: [[volts, metres], ...] with volts rising and metres falling; between points the
    distance is interpolated linearly in 1/distance (the sensor's output is close to k/d).
    Beyond the curve's far end (or ``max_range``) the reading is +inf (nothing detected,
    REP 117), nearer than its near end (or ``min_range``) -inf."""

    name: Name
    channel: Int
    frame_id: Frame = "ir_link"
    vref: _num(gt=0.0) = 5.0
    min_range: Num = 0.10
    max_range: Num = 0.80
    field_of_view: _num(gt=0.0) = 0.087
    rate_hz: _num(gt=0.0, le=100.0) = 20.0
    curve: list = Field(default_factory=lambda: [list(p) for p in GP2Y0A21_CURVE])

    @model_validator(mode="after")
    def _curve_and_ranges(self):
        c = self.curve
        if not (len(c) >= 2 and all(_positive_pair(p) for p in c)):
            raise Rule(
                "must be a list of >= 2 [volts, metres] pairs of positive finite numbers",
                key="curve",
                value=c,
            )
        self.curve = [[float(v), float(d)] for v, d in c]
        for (v0, d0), (v1, d1) in zip(self.curve, self.curve[1:]):
            if not (v1 > v0 and d1 < d0):
                raise Rule(
                    "volts must rise and metres fall from point to point "
                    f"([{v0}, {d0}] then [{v1}, {d1}])",
                    key="curve",
                )
        if not 0 <= self.min_range < self.max_range:
            raise Rule(f"need 0 <= min_range < max_range (got {self.min_range}, {self.max_range})")
        if self.curve[-1][0] > self.vref:
            raise Rule(f"{self.curve[-1][0]} V is above vref = {self.vref} V", key="curve")
        return self

    def distance(self, raw: int) -> float:
        """Metres for a 10-bit reading; +inf beyond ``max_range``, -inf nearer than
        ``min_range`` (REP 117)."""
        v = raw / 1023.0 * self.vref
        pts = self.curve
        if v > pts[-1][0]:
            return float("-inf")
        # beyond the far end: the first segment extended (output ~ k/d keeps falling)
        seg = next(((a, b) for a, b in zip(pts, pts[1:]) if v <= b[0]), (pts[0], pts[1]))
        (v0, d0), (v1, d1) = seg
        inv = 1.0 / d0 + (v - v0) / (v1 - v0) * (1.0 / d1 - 1.0 / d0)
        if inv <= 0.0:
            return float("inf")
        d = 1.0 / inv
        if d > self.max_range:
            return float("inf")
        if d < self.min_range:
            return float("-inf")
        return d

    def volts(self, metres: float) -> float:
        """The sensor's output at ``metres`` (simulators): the curve, its far end extended in
        1/distance down to 0 V at infinity, its near end held."""
        pts = self.curve
        if metres <= pts[-1][1]:
            return pts[-1][0]
        inv = 1.0 / metres if metres < math.inf else 0.0
        if math.isnan(inv):
            inv = 0.0
        seg = next(((a, b) for a, b in zip(pts, pts[1:]) if metres >= b[1]), (pts[0], pts[1]))
        (v0, d0), (v1, d1) = seg
        v = v0 + (inv - 1.0 / d0) / (1.0 / d1 - 1.0 / d0) * (v1 - v0)
        return max(0.0, v)

    def raw(self, metres: float) -> int:
        """10-bit reading the board reports for ``metres``."""
        return max(0, min(1023, int(round(self.volts(metres) / self.vref * 1023.0))))


@model
class Encoder:
    """A quadrature wheel encoder on two digital pins, decoded on the host from the port
    reports (any Firmata). ``counts_per_rev``: quadrature counts (4 per encoder cycle) per
    revolution of the wheel joint, gearbox included."""

    name: Name
    joint: Joint
    pin_a: Int
    pin_b: Int
    counts_per_rev: _num(gt=0.0) = 1440.0
    reversed: Bool = False
    pullup: Bool = False


@model
class DigitalOutput:
    name: Name
    pin: Int
    safe: Bool = False
    timeout: Bool = False


@model
class PwmOutput:
    name: Name
    pin: Int
    safe: _num(ge=0.0, le=1.0) = 0.0  # duty
    timeout: Bool = True
    pwm_max: _int(1, 16383) = 255

    def value(self, duty: float) -> int:
        return int(round(_clamp(duty, 0.0, 1.0) * self.pwm_max))


@model
class ToneOutput:
    """A buzzer/speaker driven by Arduino's tone() (FirmataExpress only): <- ``<name>/cmd``
    (Float64, Hz; 0 = off). tone() takes Timer2 while it plays (no PWM on its pins)."""

    name: Name
    pin: Int
    min_frequency: _num(gt=0.0) = 31.0  # tone()'s lowest on a 16 MHz AVR
    max_frequency: Num = 20000.0

    @model_validator(mode="after")
    def _band(self):
        if not self.min_frequency < self.max_frequency:
            raise Rule("need 0 < min_frequency < max_frequency")
        return self

    def hz(self, frequency: float) -> int:
        """Firmata's 14-bit frequency, within the configured range; 0 = off."""
        if frequency <= 0:
            return 0
        return int(round(_clamp(frequency, self.min_frequency, min(self.max_frequency, 16383))))


@model
class Servo:
    name: Name
    pin: Int
    min_pulse_us: Int = 544
    max_pulse_us: Int = 2400
    min_angle: Num = 0.0
    max_angle: Num = math.pi
    safe: Num | None = None  # radians; None = hold the last position

    @model_validator(mode="after")
    def _ranges(self):
        if not self.max_angle > self.min_angle:
            raise Rule("max_angle must be > min_angle")
        if not 0 < self.min_pulse_us < self.max_pulse_us <= 16383:
            raise Rule("need 0 < min_pulse_us < max_pulse_us")
        return self

    def degrees(self, angle: float) -> int:
        """Firmata servo value (0..180 degrees) for an angle in radians within the range."""
        a = _clamp(angle, self.min_angle, self.max_angle)
        return int(round((a - self.min_angle) / (self.max_angle - self.min_angle) * 180.0))

    def angle(self, degrees: float) -> float:
        return self.min_angle + degrees / 180.0 * (self.max_angle - self.min_angle)


@model
class PinMap:
    board: BoardName = "uno"
    firmware: Firmware = "FirmataExpress"
    sampling_interval_ms: _int(1, 16383) = 19  # Firmata's SAMPLING_INTERVAL, ms
    motors: Section[Motor] = Field(default_factory=list)
    digital_inputs: Section[DigitalInput] = Field(default_factory=list)
    analog_inputs: Section[AnalogInput] = Field(default_factory=list)
    sonars: Section[Sonar] = Field(default_factory=list)
    ir_ranges: Section[IrRange] = Field(default_factory=list)
    encoders: Section[Encoder] = Field(default_factory=list)
    digital_outputs: Section[DigitalOutput] = Field(default_factory=list)
    pwm_outputs: Section[PwmOutput] = Field(default_factory=list)
    servos: Section[Servo] = Field(default_factory=list)
    tones: Section[ToneOutput] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        names: set[str] = set()
        for section in SECTIONS:
            for i, o in enumerate(getattr(self, section)):
                if o.name in names:
                    raise Rule(f"{section}[{i}]: name '{o.name}' is used twice")
                names.add(o.name)
        joints: set[str] = set()
        for i, m in enumerate(self.motors):
            if m.joint in joints:
                raise Rule(f"motors[{i}] '{m.name}': joint '{m.joint}' is used twice")
            joints.add(m.joint)
        joints = set()
        for i, e in enumerate(self.encoders):
            if e.joint in joints:
                raise Rule(f"encoders[{i}] '{e.name}': joint '{e.joint}' has two encoders")
            joints.add(e.joint)
        return self

    def motor_for_joint(self, joint: str) -> Motor | None:
        for m in self.motors:
            if m.joint == joint:
                return m
        return None

    # -- validation --------------------------------------------------------------------
    def uses(self) -> list[tuple[int, str]]:
        """(pin, 'role name') for every digital pin the map uses."""
        out = []
        for m in self.motors:
            for p in m.pins():
                out.append((p, f"motor '{m.name}'"))
        for d in self.digital_inputs:
            out.append((d.pin, f"digital input '{d.name}'"))
        for s in self.sonars:
            out.append((s.trigger, f"sonar '{s.name}' trigger"))
            out.append((s.echo, f"sonar '{s.name}' echo"))
        for e in self.encoders:
            out.append((e.pin_a, f"encoder '{e.name}' A"))
            out.append((e.pin_b, f"encoder '{e.name}' B"))
        for o in self.digital_outputs:
            out.append((o.pin, f"digital output '{o.name}'"))
        for o in self.pwm_outputs:
            out.append((o.pin, f"PWM output '{o.name}'"))
        for s in self.servos:
            out.append((s.pin, f"servo '{s.name}'"))
        for t in self.tones:
            out.append((t.pin, f"tone output '{t.name}'"))
        return out

    def check(
        self,
        capabilities: Sequence[dict],
        analog_mapping: Sequence[int],
        firmware: str | None = None,
        source: str = "board",
    ) -> None:
        """Raise PinMapError unless every pin exists and supports its role.

        ``capabilities``: per pin {mode: resolution} (a capability report);
        ``analog_mapping``: per pin its analog channel or 127.
        """
        fw = firmware or self.firmware
        n = len(capabilities)
        seen: dict[int, str] = {}
        channel_pin = {ch: pin for pin, ch in enumerate(analog_mapping) if ch != 0x7F}

        def need(pin: int, mode: int, role: str, what: str) -> None:
            if pin < 0 or pin >= n:
                raise PinMapError(f"pin {pin} ({role}): the {source} has pins 0..{n - 1}")
            if mode not in capabilities[pin]:
                raise PinMapError(
                    f"pin {pin} ({role}): {what} is not supported on this pin by the {source}"
                )

        for pin, role in self.uses():
            if pin in seen:
                raise PinMapError(f"pin {pin} is used twice: {seen[pin]} and {role}")
            seen[pin] = role
        analog = [(a.name, a.channel, "analog input") for a in self.analog_inputs]
        analog += [(r.name, r.channel, "IR range sensor") for r in self.ir_ranges]
        for name, channel, kind in analog:
            if channel not in channel_pin:
                raise PinMapError(f"{kind} '{name}': the {source} has no A{channel}")
            pin = channel_pin[channel]
            role = f"{kind} '{name}' (A{channel})"
            if pin in seen:
                raise PinMapError(f"pin {pin} is used twice: {seen[pin]} and {role}")
            seen[pin] = role
            need(pin, P.ANALOG, role, "analog input")
        for m in self.motors:
            for p in m.pwm_pins():
                need(p, P.PWM, f"motor '{m.name}' PWM", "PWM")
            for p in m.digital_pins():
                need(p, P.OUTPUT, f"motor '{m.name}' direction", "digital output")

        def need_input(pin: int, pullup: bool, role: str, resistor: str) -> None:
            if pullup and 0 <= pin < n and P.INPUT in capabilities[pin]:
                if P.PULLUP not in capabilities[pin]:
                    raise PinMapError(
                        f"pin {pin} ({role}): the internal pull-up needs Firmata 2.5 or "
                        f"later, the {source} does not offer it; wire {resistor} and set "
                        "pullup: false"
                    )
            what = "input with pull-up" if pullup else "digital input"
            need(pin, P.PULLUP if pullup else P.INPUT, role, what)

        for d in self.digital_inputs:
            need_input(d.pin, d.pullup, f"digital input '{d.name}'", "an external pull-up resistor")
        for e in self.encoders:
            for pin, ch in ((e.pin_a, "A"), (e.pin_b, "B")):
                need_input(pin, e.pullup, f"encoder '{e.name}' {ch}", "external pull-up resistors")
        for s in self.sonars:
            if fw != "FirmataExpress":
                raise PinMapError(
                    f"pin {s.trigger} (sonar '{s.name}'): HC-SR04 sonar needs "
                    f"FirmataExpress, the firmware is {fw}"
                )
            need(s.trigger, P.SONAR, f"sonar '{s.name}' trigger", "sonar")
            need(s.echo, P.SONAR, f"sonar '{s.name}' echo", "sonar")
        for o in self.digital_outputs:
            need(o.pin, P.OUTPUT, f"digital output '{o.name}'", "digital output")
        for o in self.pwm_outputs:
            need(o.pin, P.PWM, f"PWM output '{o.name}'", "PWM")
        for s in self.servos:
            need(s.pin, P.SERVO, f"servo '{s.name}'", "servo")
        for t in self.tones:
            if fw != "FirmataExpress":
                raise PinMapError(
                    f"pin {t.pin} (tone output '{t.name}'): tone() needs "
                    f"FirmataExpress, the firmware is {fw}"
                )
            need(t.pin, P.TONE, f"tone output '{t.name}'", "tone")
        self.check_timers(source)

    def pwm_uses(self) -> list[tuple[int, str]]:
        out = [(p, f"motor '{m.name}' PWM") for m in self.motors for p in m.pwm_pins()]
        return out + [(o.pin, f"PWM output '{o.name}'") for o in self.pwm_outputs]

    def check_timers(self, source: str = "board") -> None:
        """PWM on a pin whose hardware timer the Servo library takes (Timer1 on an Uno/Nano:
        pins 9 and 10; Timer5 on a Mega: 44-46, then 1, 3, 4 past 12 servos) stops once a
        servo is attached, although the capability report still lists the pin as PWM."""
        model = boards.get(self.board)
        if len(self.servos) > model.max_servos:
            raise PinMapError(
                f"servos: {len(self.servos)} servos; the Servo library drives at most "
                f"{model.max_servos} on the {model.name}"
            )
        takers = {}  # timer -> (what takes it, on which pin)
        if self.servos:
            s = self.servos[0]
            for t in model.servo_timers_for(len(self.servos)):
                takers[t] = (f"servo '{s.name}' on pin {s.pin} is attached (the Servo library", "")
        if self.tones:
            t0 = self.tones[0]
            takers.setdefault(
                model.tone_timer, (f"tone output '{t0.name}' on pin {t0.pin} plays (tone()", "")
            )
        for pin, role in self.pwm_uses():
            t = model.timer_of(pin)
            if t in takers:
                free = sorted(
                    p for tt, pins in model.pwm_timers.items() if tt not in takers for p in pins
                )
                raise PinMapError(
                    f"pin {pin} ({role}): PWM on pin {pin} stops once {takers[t][0]} takes "
                    f"Timer{t} on the {model.name}; the {source} still lists pin {pin} as "
                    f"PWM); use one of the PWM pins {free}"
                )

    def check_board_model(self) -> None:
        model = boards.get(self.board)
        self.check(
            model.capabilities(self.firmware),
            model.analog_mapping(),
            source=f"{self.board} with {self.firmware}",
        )

    def topics(self) -> list[str]:
        names = [d.name for d in self.digital_inputs] + [a.name for a in self.analog_inputs]
        names += [f"{s.name}/range" for s in self.sonars + self.ir_ranges]
        names += [
            f"{o.name}/cmd"
            for o in self.digital_outputs + self.pwm_outputs + self.servos + self.tones
        ]
        return names


#: the list keys of a pin map and the class of their entries
_CLASSES = {
    "motors": Motor,
    "digital_inputs": DigitalInput,
    "analog_inputs": AnalogInput,
    "sonars": Sonar,
    "ir_ranges": IrRange,
    "encoders": Encoder,
    "tones": ToneOutput,
    "digital_outputs": DigitalOutput,
    "pwm_outputs": PwmOutput,
    "servos": Servo,
}
SECTIONS = tuple(_CLASSES)
_ADAPTER = TypeAdapter(PinMap)

# --- loading: pydantic's first error as one line ----------------------------------------------
_TEXT = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a finite number",
    "float_parsing": "must be a finite number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
}


def _entry(doc, loc) -> tuple[str, type | None, str]:
    """(path, class, name) of the entry at ``loc`` (() = the map; (section, i) = an entry)."""
    if len(loc) < 2:
        return "", PinMap, ""
    section, i = loc[0], loc[1]
    items = doc.get(section)
    item = items[i] if isinstance(items, list) and isinstance(i, int) and i < len(items) else None
    name = item.get("name", "") if isinstance(item, dict) else ""
    return f"{section}[{i}]", _CLASSES.get(section), name


def _describe(doc: dict, err: ValidationError) -> str:
    errs = errors_unknown_first(err)
    e = errs[0]
    loc, typ, value = e["loc"], e["type"], e.get("input")
    if typ in UNKNOWN_KEY or typ == "missing":
        parent = loc[:-1]
        keys = sorted(
            str(x["loc"][-1]) for x in errs if x["type"] == typ and x["loc"][:-1] == parent
        )
        where = key_path(parent) or "pin map"
        if typ == "missing":
            return f"{where}: missing key(s) {keys}"
        cls = _entry(doc, parent)[1] if len(parent) <= 2 else None
        allowed = f"; allowed: {sorted(cls.__dataclass_fields__)}" if cls else ""
        return f"{where}: unknown key(s) {keys}{allowed}"
    rule = (e.get("ctx") or {}).get("error")
    if isinstance(rule, Rule):
        where, _cls, name = _entry(doc, loc)
        where += f" '{name}'" if name else ""
        where += (f".{rule.key}" if where else rule.key) if rule.key else ""
        shown = f" = {rule.value!r}" if rule.value is not _NO_VALUE else ""
        return f"{where}{shown}: {rule}" if where else str(rule)
    where = key_path(loc)
    if typ == "list_type":
        return f"{where}: must be a list"
    if typ == "dataclass_type":
        return f"{where}: must be a mapping, got {value!r}"
    return f"{where} = {value!r}: {reason(e, _TEXT)}"


def from_dict(doc: dict) -> PinMap:
    if not isinstance(doc, dict):
        raise PinMapError(f"pin map must be a mapping, got {type(doc).__name__}")
    try:
        return _ADAPTER.validate_python(doc)
    except ValidationError as e:
        raise PinMapError(_describe(doc, e)) from None


def loads(text: str) -> PinMap:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PinMapError(f"not valid YAML: {e}".replace("\n", " ")) from None
    return from_dict(doc if doc is not None else {})


def load(path: str) -> PinMap:
    """Read and validate a pin map file; errors name the file. (Whether the board can do it:
    :meth:`PinMap.check_board_model`.)"""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PinMapError(f"cannot read pin map {path!r}: {e.strerror}") from None
    try:
        return loads(text)
    except PinMapError as e:
        raise PinMapError(f"pin map {path}: {e}") from None
