"""Board descriptions: MCU, clock, flash for the sketch, Arduino pin -> (port, bit), the timers
behind the PWM pins and their registers. Pure data and arithmetic, no simavr.

Pin maps follow the Arduino AVR core's ``pins_arduino.h`` (standard and mega variants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TimerSpec:
    """One AVR timer: data-space addresses of its control and compare registers."""

    name: str
    bits: int  # 8 or 16
    tccra: int
    tccrb: int
    ocr: Mapping[str, int]  # channel letter -> OCRnx address (low byte for 16-bit)
    icr: int | None = None  # ICRn (16-bit timers)


TIMERS: dict[str, TimerSpec] = {
    "T0": TimerSpec("Timer0", 8, 0x44, 0x45, {"A": 0x47, "B": 0x48}),
    "T1": TimerSpec("Timer1", 16, 0x80, 0x81, {"A": 0x88, "B": 0x8A, "C": 0x8C}, 0x86),
    "T2": TimerSpec("Timer2", 8, 0xB0, 0xB1, {"A": 0xB3, "B": 0xB4}),
    "T3": TimerSpec("Timer3", 16, 0x90, 0x91, {"A": 0x98, "B": 0x9A, "C": 0x9C}, 0x96),
    "T4": TimerSpec("Timer4", 16, 0xA0, 0xA1, {"A": 0xA8, "B": 0xAA, "C": 0xAC}, 0xA6),
    "T5": TimerSpec("Timer5", 16, 0x120, 0x121, {"A": 0x128, "B": 0x12A, "C": 0x12C}, 0x126),
}

_COM_SHIFT = {"A": 6, "B": 4, "C": 2}


@dataclass(frozen=True)
class BoardSpec:
    name: str
    mcu: str
    frequency: int
    flash_bytes: int  # bytes a sketch may use (flash minus the boot loader)
    ports: str  # port letters the pins use
    digital: tuple[tuple[str, int], ...]  # Arduino pin -> (port letter, bit)
    first_analog_pin: int  # pin number of A0
    analog_channels: int
    pwm: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # pin -> (timer, channel)

    def port_bit(self, pin: int) -> tuple[int, int]:
        """(port index into ``ports``, bit) of a digital pin; ValueError naming the range."""
        if isinstance(pin, bool) or not isinstance(pin, int) or not 0 <= pin < len(self.digital):
            raise ValueError(
                f"pin {pin!r} is not a digital pin of the {self.name} (0..{len(self.digital) - 1})"
            )
        letter, bit = self.digital[pin]
        return self.ports.index(letter), bit

    def check_channel(self, channel: int) -> int:
        if (
            isinstance(channel, bool)
            or not isinstance(channel, int)
            or not 0 <= channel < self.analog_channels
        ):
            raise ValueError(
                f"analog channel {channel!r} is not an input of the {self.name} "
                f"(A0..A{self.analog_channels - 1})"
            )
        return channel


def _seq(letter: str, bits: Sequence[int]):
    return tuple((letter, b) for b in bits)


_UNO_DIGITAL = _seq("D", range(8)) + _seq("B", range(6)) + _seq("C", range(6))
_UNO_PWM = {
    3: ("T2", "B"),
    5: ("T0", "B"),
    6: ("T0", "A"),
    9: ("T1", "A"),
    10: ("T1", "B"),
    11: ("T2", "A"),
}

_MEGA_DIGITAL = (
    (
        ("E", 0),
        ("E", 1),
        ("E", 4),
        ("E", 5),
        ("G", 5),
        ("E", 3),
        ("H", 3),
        ("H", 4),  # 0-7
        ("H", 5),
        ("H", 6),
        ("B", 4),
        ("B", 5),
        ("B", 6),
        ("B", 7),  # 8-13
        ("J", 1),
        ("J", 0),
        ("H", 1),
        ("H", 0),
        ("D", 3),
        ("D", 2),
        ("D", 1),
        ("D", 0),
    )  # 14-21
    + _seq("A", range(8))  # 22-29
    + _seq("C", range(7, -1, -1))  # 30-37
    + (("D", 7), ("G", 2), ("G", 1), ("G", 0))  # 38-41
    + _seq("L", range(7, -1, -1))  # 42-49
    + (("B", 3), ("B", 2), ("B", 1), ("B", 0))  # 50-53
    + _seq("F", range(8))
    + _seq("K", range(8))
)  # 54-69
_MEGA_PWM = {
    2: ("T3", "B"),
    3: ("T3", "C"),
    4: ("T0", "B"),
    5: ("T3", "A"),
    6: ("T4", "A"),
    7: ("T4", "B"),
    8: ("T4", "C"),
    9: ("T2", "B"),
    10: ("T2", "A"),
    11: ("T1", "A"),
    12: ("T1", "B"),
    13: ("T0", "A"),
    44: ("T5", "C"),
    45: ("T5", "B"),
    46: ("T5", "A"),
}

BOARDS: dict[str, BoardSpec] = {
    "uno": BoardSpec("uno", "atmega328p", 16_000_000, 32_256, "BCD", _UNO_DIGITAL, 14, 6, _UNO_PWM),
    # the Nano's TQFP package adds A6/A7 (ADC only, no digital pin)
    "nano": BoardSpec(
        "nano", "atmega328p", 16_000_000, 30_720, "BCD", _UNO_DIGITAL, 14, 8, _UNO_PWM
    ),
    "mega": BoardSpec(
        "mega", "atmega2560", 16_000_000, 253_952, "ABCDEFGHJKL", _MEGA_DIGITAL, 54, 16, _MEGA_PWM
    ),
}


def get(name: str) -> BoardSpec:
    try:
        return BOARDS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"board {name!r} is not supported; allowed: {', '.join(sorted(BOARDS))}"
        ) from None


def pwm_duty(timer: TimerSpec, channel: str, reg: Mapping[int, int]) -> float | None:
    """Duty cycle (0..1) a timer channel produces on its pin, from the timer registers
    (``reg``: data address -> byte), or None when the channel is not in a PWM output mode
    (compare output disconnected, timer stopped, or a non-PWM waveform mode)."""
    tccra, tccrb = reg[timer.tccra], reg[timer.tccrb]
    com = (tccra >> _COM_SHIFT[channel]) & 3
    if com < 2 or (tccrb & 7) == 0:
        return None

    def word(addr: int) -> int:
        return reg[addr] | (reg[addr + 1] << 8) if timer.bits == 16 else reg[addr]

    ocr = word(timer.ocr[channel])
    if timer.bits == 8:
        wgm = (tccra & 3) | (((tccrb >> 3) & 1) << 2)
        table = {1: ("pc", 0xFF), 3: ("fast", 0xFF), 5: ("pc", "OCRA"), 7: ("fast", "OCRA")}
    else:
        wgm = (tccra & 3) | (((tccrb >> 3) & 3) << 2)
        table = {
            1: ("pc", 0xFF),
            2: ("pc", 0x1FF),
            3: ("pc", 0x3FF),
            5: ("fast", 0xFF),
            6: ("fast", 0x1FF),
            7: ("fast", 0x3FF),
            8: ("pc", "ICR"),
            9: ("pc", "OCRA"),
            10: ("pc", "ICR"),
            11: ("pc", "OCRA"),
            14: ("fast", "ICR"),
            15: ("fast", "OCRA"),
        }
    if wgm not in table:
        return None
    kind, top = table[wgm]
    if top == "OCRA":
        if channel == "A":
            return None  # OCnA toggles in these modes at most
        top = word(timer.ocr["A"])
    elif top == "ICR":
        top = word(timer.icr)
    if top <= 0:
        return None
    if kind == "fast":
        duty = 1.0 if ocr >= top else (ocr + 1) / (top + 1)
    else:
        duty = min(ocr, top) / top
    return 1.0 - duty if com == 3 else duty


def timer_registers(timer: TimerSpec) -> tuple[int, ...]:
    """The data addresses ``pwm_duty`` reads for this timer."""
    addrs = [timer.tccra, timer.tccrb]
    width = 2 if timer.bits == 16 else 1
    for a in list(timer.ocr.values()) + ([timer.icr] if timer.icr else []):
        addrs.extend(a + i for i in range(width))
    return tuple(addrs)
