"""The pin map (ROS-free): what each Arduino pin is, loaded from YAML and validated.

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
from dataclasses import MISSING, dataclass, field

import yaml

from . import boards
from . import protocol as P

FIRMWARES = ("FirmataExpress", "StandardFirmata")
DRIVERS = ("in1_in2", "dir", "two_pwm")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$")


class PinMapError(ValueError):
    """The pin map is malformed or does not fit the board; the message names pin and reason."""


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


@dataclass
class Motor:
    name: str
    joint: str
    driver: str
    pwm: int
    in1: int | None = None
    in2: int | None = None
    dir: int | None = None
    pwm_reverse: int | None = None
    reversed: bool = False
    max_wheel_speed: float = 15.0
    pwm_max: int = 255

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


@dataclass
class DigitalInput:
    name: str
    pin: int
    pullup: bool = False
    inverted: bool = False


@dataclass
class AnalogInput:
    name: str
    channel: int
    type: str = "scalar"  # scalar -> Float32, battery -> BatteryState
    scale: float = 1.0 / 1023.0
    offset: float = 0.0
    vref: float = 5.0
    divider: float = 1.0
    full_voltage: float = 8.4
    empty_voltage: float = 6.0

    def value(self, raw: int) -> float:
        return raw * self.scale + self.offset

    def voltage(self, raw: int) -> float:
        return raw / 1023.0 * self.vref * self.divider

    def percentage(self, volts: float) -> float:
        span = self.full_voltage - self.empty_voltage
        return _clamp((volts - self.empty_voltage) / span, 0.0, 1.0)


@dataclass
class Sonar:
    name: str
    trigger: int
    echo: int
    frame_id: str = "sonar_link"
    min_range: float = 0.02
    max_range: float = 4.0
    field_of_view: float = 0.26


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


@dataclass
class IrRange:
    """An analog IR distance sensor (Sharp GP2Y0A21YK0F-like) on an analog pin.

    ``curve``: [[volts, metres], ...] with volts rising and metres falling; between points the
    distance is interpolated linearly in 1/distance (the sensor's output is close to k/d).
    Beyond the curve's far end (or ``max_range``) the reading is +inf (nothing detected,
    REP 117), nearer than its near end (or ``min_range``) -inf."""

    name: str
    channel: int
    frame_id: str = "ir_link"
    vref: float = 5.0
    min_range: float = 0.10
    max_range: float = 0.80
    field_of_view: float = 0.087
    rate_hz: float = 20.0
    curve: list = field(default_factory=lambda: [list(p) for p in GP2Y0A21_CURVE])

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


@dataclass
class Encoder:
    """A quadrature wheel encoder on two digital pins, decoded on the host from the port
    reports (any Firmata). ``counts_per_rev``: quadrature counts (4 per encoder cycle) per
    revolution of the wheel joint, gearbox included."""

    name: str
    joint: str
    pin_a: int
    pin_b: int
    counts_per_rev: float = 1440.0
    reversed: bool = False
    pullup: bool = False


@dataclass
class DigitalOutput:
    name: str
    pin: int
    safe: bool = False
    timeout: bool = False


@dataclass
class PwmOutput:
    name: str
    pin: int
    safe: float = 0.0
    timeout: bool = True
    pwm_max: int = 255

    def value(self, duty: float) -> int:
        return int(round(_clamp(duty, 0.0, 1.0) * self.pwm_max))


@dataclass
class ToneOutput:
    """A buzzer/speaker driven by Arduino's tone() (FirmataExpress only): <- ``<name>/cmd``
    (Float64, Hz; 0 = off). tone() takes Timer2 while it plays (no PWM on its pins)."""

    name: str
    pin: int
    min_frequency: float = 31.0  # tone()'s lowest on a 16 MHz AVR
    max_frequency: float = 20000.0

    def hz(self, frequency: float) -> int:
        """Firmata's 14-bit frequency, within the configured range; 0 = off."""
        if frequency <= 0:
            return 0
        return int(round(_clamp(frequency, self.min_frequency, min(self.max_frequency, 16383))))


@dataclass
class Servo:
    name: str
    pin: int
    min_pulse_us: int = 544
    max_pulse_us: int = 2400
    min_angle: float = 0.0
    max_angle: float = math.pi
    safe: float | None = None  # radians; None = hold the last position

    def degrees(self, angle: float) -> int:
        """Firmata servo value (0..180 degrees) for an angle in radians within the range."""
        a = _clamp(angle, self.min_angle, self.max_angle)
        return int(round((a - self.min_angle) / (self.max_angle - self.min_angle) * 180.0))

    def angle(self, degrees: float) -> float:
        return self.min_angle + degrees / 180.0 * (self.max_angle - self.min_angle)


@dataclass
class PinMap:
    board: str = "uno"
    firmware: str = "FirmataExpress"
    sampling_interval_ms: int = 19
    motors: list[Motor] = field(default_factory=list)
    digital_inputs: list[DigitalInput] = field(default_factory=list)
    analog_inputs: list[AnalogInput] = field(default_factory=list)
    sonars: list[Sonar] = field(default_factory=list)
    ir_ranges: list[IrRange] = field(default_factory=list)
    encoders: list[Encoder] = field(default_factory=list)
    digital_outputs: list[DigitalOutput] = field(default_factory=list)
    pwm_outputs: list[PwmOutput] = field(default_factory=list)
    servos: list[Servo] = field(default_factory=list)
    tones: list[ToneOutput] = field(default_factory=list)

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
        for d in self.digital_inputs:
            role = f"digital input '{d.name}'"
            if (
                d.pullup
                and 0 <= d.pin < n
                and P.INPUT in capabilities[d.pin]
                and P.PULLUP not in capabilities[d.pin]
            ):
                raise PinMapError(
                    f"pin {d.pin} ({role}): the internal pull-up needs Firmata "
                    f"2.5 or later, the {source} does not offer it; wire an "
                    "external pull-up resistor and set pullup: false"
                )
            need(
                d.pin,
                P.PULLUP if d.pullup else P.INPUT,
                role,
                "input with pull-up" if d.pullup else "digital input",
            )
        for e in self.encoders:
            for pin, ch in ((e.pin_a, "A"), (e.pin_b, "B")):
                role = f"encoder '{e.name}' {ch}"
                if (
                    e.pullup
                    and 0 <= pin < n
                    and P.INPUT in capabilities[pin]
                    and P.PULLUP not in capabilities[pin]
                ):
                    raise PinMapError(
                        f"pin {pin} ({role}): the internal pull-up needs "
                        f"Firmata 2.5 or later, the {source} does not offer "
                        "it; wire external pull-up resistors and set "
                        "pullup: false"
                    )
                need(
                    pin,
                    P.PULLUP if e.pullup else P.INPUT,
                    role,
                    "input with pull-up" if e.pullup else "digital input",
                )
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


# --- loading ------------------------------------------------------------------------------
_SECTIONS = {
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
_TOP = {"board", "firmware", "sampling_interval_ms", *_SECTIONS}


def _typed(section: str, i: int, cls, item) -> object:
    where = f"{section}[{i}]"
    if not isinstance(item, dict):
        raise PinMapError(f"{where}: must be a mapping, got {item!r}")
    fields = cls.__dataclass_fields__
    unknown = sorted(set(item) - set(fields))
    if unknown:
        raise PinMapError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    kw = {}
    for key, f in fields.items():
        if key not in item:
            continue
        v = item[key]
        t = f.type
        if t in ("int", "Optional[int]"):
            if not (v is None and t == "Optional[int]") and (
                isinstance(v, bool) or not isinstance(v, int)
            ):
                raise PinMapError(f"{where}.{key} = {v!r}: must be an integer")
        elif t in ("float", "Optional[float]"):
            if not (v is None and t == "Optional[float]"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise PinMapError(f"{where}.{key} = {v!r}: must be a finite number")
                v = float(v)
        elif t == "bool":
            if not isinstance(v, bool):
                raise PinMapError(f"{where}.{key} = {v!r}: must be true or false")
        elif t == "str":
            if not isinstance(v, str):
                raise PinMapError(f"{where}.{key} = {v!r}: must be a string")
        kw[key] = v
    missing = [
        k
        for k, f in fields.items()
        if k not in kw and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise PinMapError(f"{where}: missing key(s) {missing}")
    obj = cls(**kw)
    name = getattr(obj, "name", "")
    if not _NAME.match(name):
        raise PinMapError(
            f"{where}.name = {name!r}: must be a ROS topic name (letters, digits, _ and /)"
        )
    return obj


def _check_motor(i: int, m: Motor) -> None:
    where = f"motors[{i}] '{m.name}'"
    if m.driver not in DRIVERS:
        raise PinMapError(f"{where}.driver = {m.driver!r}: must be one of {list(DRIVERS)}")
    need = {"in1_in2": ("in1", "in2"), "dir": ("dir",), "two_pwm": ("pwm_reverse",)}[m.driver]
    for k in need:
        if getattr(m, k) is None:
            raise PinMapError(f"{where}: driver {m.driver} needs '{k}'")
    extra = [
        k
        for k in ("in1", "in2", "dir", "pwm_reverse")
        if k not in need and getattr(m, k) is not None
    ]
    if extra:
        raise PinMapError(f"{where}: driver {m.driver} does not use {extra}")
    if not (m.max_wheel_speed > 0):
        raise PinMapError(f"{where}.max_wheel_speed = {m.max_wheel_speed}: must be > 0")
    if not _NAME.match(m.joint):
        raise PinMapError(f"{where}.joint = {m.joint!r}: must be a joint name")


def from_dict(doc: dict) -> PinMap:
    if not isinstance(doc, dict):
        raise PinMapError(f"pin map must be a mapping, got {type(doc).__name__}")
    unknown = sorted(set(doc) - _TOP)
    if unknown:
        raise PinMapError(f"unknown key(s) {unknown}; allowed: {sorted(_TOP)}")
    pm = PinMap()
    board = doc.get("board", pm.board)
    if board not in boards.BOARDS:
        raise PinMapError(f"board = {board!r}: must be one of {sorted(boards.BOARDS)}")
    pm.board = board
    fw = doc.get("firmware", pm.firmware)
    if fw not in FIRMWARES:
        raise PinMapError(f"firmware = {fw!r}: must be one of {list(FIRMWARES)}")
    pm.firmware = fw
    si = doc.get("sampling_interval_ms", pm.sampling_interval_ms)
    if isinstance(si, bool) or not isinstance(si, int) or not 1 <= si <= 16383:
        raise PinMapError(f"sampling_interval_ms = {si!r}: must be an integer 1..16383")
    pm.sampling_interval_ms = si
    names = set()
    for section, cls in _SECTIONS.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise PinMapError(f"{section}: must be a list")
        objs = [_typed(section, i, cls, it) for i, it in enumerate(items)]
        for i, o in enumerate(objs):
            if o.name in names:
                raise PinMapError(f"{section}[{i}]: name '{o.name}' is used twice")
            names.add(o.name)
        setattr(pm, section, objs)
    joints = set()
    for i, m in enumerate(pm.motors):
        _check_motor(i, m)
        if m.joint in joints:
            raise PinMapError(f"motors[{i}] '{m.name}': joint '{m.joint}' is used twice")
        joints.add(m.joint)
    for i, a in enumerate(pm.analog_inputs):
        if a.type not in ("scalar", "battery"):
            raise PinMapError(f"analog_inputs[{i}].type = {a.type!r}: must be scalar or battery")
        if a.type == "battery" and not a.full_voltage > a.empty_voltage:
            raise PinMapError(f"analog_inputs[{i}]: full_voltage must be > empty_voltage")
    for i, s in enumerate(pm.servos):
        if not s.max_angle > s.min_angle:
            raise PinMapError(f"servos[{i}]: max_angle must be > min_angle")
        if not 0 < s.min_pulse_us < s.max_pulse_us <= 16383:
            raise PinMapError(f"servos[{i}]: need 0 < min_pulse_us < max_pulse_us")
    for i, s in enumerate(pm.sonars):
        if not 0 <= s.min_range < s.max_range:
            raise PinMapError(f"sonars[{i}]: need 0 <= min_range < max_range")
    for i, r in enumerate(pm.ir_ranges):
        _check_ir(i, r)
    for i, t in enumerate(pm.tones):
        if not 0 < t.min_frequency < t.max_frequency:
            raise PinMapError(f"tones[{i}] '{t.name}': need 0 < min_frequency < max_frequency")
    joints = set()
    for i, e in enumerate(pm.encoders):
        where = f"encoders[{i}] '{e.name}'"
        if not e.counts_per_rev > 0:
            raise PinMapError(f"{where}.counts_per_rev = {e.counts_per_rev}: must be > 0")
        if not _NAME.match(e.joint):
            raise PinMapError(f"{where}.joint = {e.joint!r}: must be a joint name")
        if e.joint in joints:
            raise PinMapError(f"{where}: joint '{e.joint}' has two encoders")
        joints.add(e.joint)
    return pm


def _check_ir(i: int, r: IrRange) -> None:
    where = f"ir_ranges[{i}] '{r.name}'"
    c = r.curve
    ok = (
        isinstance(c, list)
        and len(c) >= 2
        and all(
            isinstance(p, list)
            and len(p) == 2
            and all(
                not isinstance(x, bool)
                and isinstance(x, (int, float))
                and math.isfinite(x)
                and x > 0
                for x in p
            )
            for p in c
        )
    )
    if not ok:
        raise PinMapError(
            f"{where}.curve = {c!r}: must be a list of >= 2 [volts, metres] "
            "pairs of positive finite numbers"
        )
    r.curve = [[float(v), float(d)] for v, d in c]
    for (v0, d0), (v1, d1) in zip(r.curve, r.curve[1:]):
        if not (v1 > v0 and d1 < d0):
            raise PinMapError(
                f"{where}.curve: volts must rise and metres fall from point to "
                f"point ([{v0}, {d0}] then [{v1}, {d1}])"
            )
    if not 0 <= r.min_range < r.max_range:
        raise PinMapError(
            f"{where}: need 0 <= min_range < max_range (got {r.min_range}, {r.max_range})"
        )
    if r.curve[-1][0] > r.vref:
        raise PinMapError(f"{where}.curve: {r.curve[-1][0]} V is above vref = {r.vref} V")
    if not 0 < r.rate_hz <= 100:
        raise PinMapError(f"{where}.rate_hz = {r.rate_hz}: must be in (0, 100]")


def loads(text: str) -> PinMap:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PinMapError(f"not valid YAML: {e}") from None
    return from_dict(doc or {})


def load(path: str) -> PinMap:
    """Read and validate a pin map file (shape and the board model's capabilities)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PinMapError(f"cannot read pin map {path!r}: {e.strerror}") from None
    pm = loads(text)
    return pm
