"""Board models (ROS-free): the pins of common 8-bit Arduinos and what each pin can do.

The virtual Arduino reports these in its capability response; the node checks the pin map
against them at start (and against the real board's report when it connects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import protocol as P


@dataclass(frozen=True)
class BoardModel:
    name: str
    total_pins: int
    digital: frozenset[int]  # pins usable as digital I/O
    analog: dict[int, int]  # pin -> analog channel (A0 = 0)
    pwm: frozenset[int]
    i2c: frozenset[int]
    #: hardware timer -> the PWM pins it drives (ATmega328P / ATmega2560 datasheets)
    pwm_timers: dict[int, tuple[int, ...]] = field(default_factory=dict)
    #: timers the Servo library takes, in order, one per 12 attached servos
    servo_timers: tuple[int, ...] = ()
    #: the timer Arduino's tone() takes (FirmataExpress' tone)
    tone_timer: int = 2

    @property
    def max_servos(self) -> int:
        return 12 * len(self.servo_timers)

    def timer_of(self, pin: int) -> int | None:
        for t, pins in self.pwm_timers.items():
            if pin in pins:
                return t
        return None

    def servo_timers_for(self, n_servos: int) -> tuple[int, ...]:
        """Timers the Servo library has taken once ``n_servos`` are attached."""
        return self.servo_timers[: (n_servos + 11) // 12]

    def analog_pin(self, channel: int) -> int:
        for pin, ch in self.analog.items():
            if ch == channel:
                return pin
        raise KeyError(f"board {self.name} has no analog input A{channel}")

    def capabilities(self, firmware: str = "FirmataExpress", legacy: bool = False) -> list[dict]:
        """Per pin {mode: resolution}, in the order the firmware reports them. ``legacy``:
        as StandardFirmata 2.4 reports them (no pull-up mode)."""
        express = firmware == "FirmataExpress"
        out = []
        for pin in range(self.total_pins):
            modes: dict = {}
            if pin in self.digital:
                modes[P.INPUT] = 1
                if not legacy:
                    modes[P.PULLUP] = 1
                modes[P.OUTPUT] = 1
                if express:
                    modes[P.STEPPER] = 1
                    modes[P.SONAR] = 1
                    modes[P.TONE] = 1
            if pin in self.analog:
                modes[P.ANALOG] = 10
            if pin in self.pwm:
                modes[P.PWM] = 8
            if pin in self.digital:
                modes[P.SERVO] = 14
            if pin in self.i2c:
                modes[P.I2C] = 1
            out.append(modes)
        return out

    def analog_mapping(self) -> list[int]:
        return [self.analog.get(p, 0x7F) for p in range(self.total_pins)]


def _uno_like(name: str, analog_only=()) -> BoardModel:
    analog_pins = list(range(14, 20)) + list(analog_only)
    return BoardModel(
        name=name,
        total_pins=20 + len(analog_only),
        digital=frozenset(range(2, 20)),  # 0/1 are the serial link
        analog={p: i for i, p in enumerate(analog_pins)},
        pwm=frozenset({3, 5, 6, 9, 10, 11}),
        i2c=frozenset({18, 19}),
        pwm_timers={0: (5, 6), 1: (9, 10), 2: (3, 11)},
        servo_timers=(1,),
    )


BOARDS: dict[str, BoardModel] = {
    "uno": _uno_like("uno"),
    # Nano (ATmega328P): like the Uno plus A6/A7, which are analog only
    "nano": _uno_like("nano", analog_only=(20, 21)),
    "mega": BoardModel(
        name="mega",
        total_pins=70,
        digital=frozenset(range(2, 70)),
        analog={p: p - 54 for p in range(54, 70)},
        pwm=frozenset(list(range(2, 14)) + [44, 45, 46]),
        i2c=frozenset({20, 21}),
        pwm_timers={
            0: (4, 13),
            1: (11, 12),
            2: (9, 10),
            3: (2, 3, 5),
            4: (6, 7, 8),
            5: (44, 45, 46),
        },
        servo_timers=(5, 1, 3, 4),
    ),
}


def get(name: str) -> BoardModel:
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; allowed: {sorted(BOARDS)}") from None
