"""What each Firmata firmware can do (ROS-free): baud rate, versions, optional features.

Used by the board model (to answer as the firmware does), by the node (baud rate, which
features to refuse) and by the pin-map check.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import protocol as P

_ALL_MODES = frozenset(
    {
        P.INPUT,
        P.OUTPUT,
        P.ANALOG,
        P.PWM,
        P.SERVO,
        P.I2C,
        P.STEPPER,
        P.SERIAL,
        P.PULLUP,
        P.SONAR,
        P.TONE,
    }
)


@dataclass(frozen=True)
class Firmware:
    name: str
    baud: int
    version: tuple[int, int]  # REPORT_FIRMWARE major, minor
    protocol_version: tuple[int, int]  # REPORT_VERSION
    file: str  # the sketch name in REPORT_FIRMWARE
    pin_modes: frozenset[int]  # modes SET_PIN_MODE accepts ("Unknown pin mode")
    set_pin_value: bool  # SET_DIGITAL_PIN_VALUE (0xF5), Firmata >= 2.5
    version_at_boot: bool  # sends REPORT_VERSION + firmware on reset
    are_you_there: bool  # FirmataExpress' ARE_YOU_THERE / I_AM_HERE
    keep_alive: bool
    sonar: bool
    tone: bool
    legacy_caps: bool = False  # capability report as Firmata 2.4 (boards.py)


FIRMWARES: dict[str, Firmware] = {
    "FirmataExpress": Firmware(
        name="FirmataExpress",
        baud=115200,
        version=(1, 2),
        protocol_version=(2, 5),
        file="FirmataExpress.ino",
        pin_modes=_ALL_MODES,
        set_pin_value=True,
        version_at_boot=False,
        are_you_there=True,
        keep_alive=True,
        sonar=True,
        tone=True,
    ),
    # StandardFirmata 2.4, as avrgirl-arduino ships it compiled (and many boards still run):
    # no SET_DIGITAL_PIN_VALUE (0xF5 is ignored), no PIN_MODE_PULLUP ("Unknown pin mode").
    "StandardFirmata": Firmware(
        name="StandardFirmata",
        baud=57600,
        version=(2, 4),
        protocol_version=(2, 4),
        file="StandardFirmata.ino",
        pin_modes=frozenset({P.INPUT, P.OUTPUT, P.ANALOG, P.PWM, P.SERVO, P.I2C}),
        set_pin_value=False,
        version_at_boot=True,
        are_you_there=False,
        keep_alive=False,
        sonar=False,
        tone=False,
        legacy_caps=True,
    ),
}

#: default baud rate per firmware
BAUD = {name: fw.baud for name, fw in FIRMWARES.items()}


def get(name: str) -> Firmware:
    try:
        return FIRMWARES[name]
    except KeyError:
        raise ValueError(f"firmware {name!r}: allowed {sorted(FIRMWARES)}") from None
