"""firmata_node's parameters (ROS-free: ParamSpec lists, declared by the node)."""

from __future__ import annotations

import os

from edgebot_common.params import ParameterError, ParamSpec

from . import pinmap as PM
from .firmware import BAUD

SPECS = [
    ParamSpec("port", "", "serial port of the board (/dev/ttyACM0); empty = auto-detect"),
    ParamSpec("pin_map", "", "pin map YAML file; empty = edgebot_bringup's config/firmata.yaml"),
    ParamSpec(
        "firmware",
        "",
        "firmware on the board; empty = as the pin map says",
        choices=["", "FirmataExpress", "StandardFirmata"],
    ),
    ParamSpec(
        "baud",
        0,
        "baud rate; 0 = 115200 for FirmataExpress, 57600 for StandardFirmata",
        min=0,
        max=2000000,
    ),
    ParamSpec(
        "arduino_wait",
        2.0,
        "seconds to wait for the board to reset after opening "
        "the port (a real Uno needs ~2; the virtual board 0.5)",
        min=0.0,
        max=10.0,
    ),
    ParamSpec("instance_id", 1, "ARDUINO_INSTANCE_ID of the FirmataExpress sketch", min=1, max=127),
    ParamSpec(
        "command_timeout",
        0.25,
        "seconds without a command before motors and PWM outputs go to their safe value",
        min=0.01,
        max=10.0,
    ),
    ParamSpec(
        "keep_alive",
        1,
        "FirmataExpress keep-alive period [s]: the board resets itself "
        "(outputs off) when the host is silent this long; 0 = off",
        min=0,
        max=10,
    ),
    ParamSpec(
        "wheel_cmd_mode",
        "velocity",
        "wheel_cmd velocity field: rad/s (velocity) or duty -1..1 (duty)",
        choices=["velocity", "duty"],
    ),
    ParamSpec(
        "publish_rate",
        10.0,
        "rate of periodic digital/analog input messages [Hz]",
        min=0.1,
        max=200.0,
    ),
    ParamSpec(
        "wheel_states_rate",
        50.0,
        "rate of wheel_states from the pin map's encoders [Hz]",
        min=1.0,
        max=500.0,
        renamed_from=("wheel_states_rate_hz",),
    ),
    ParamSpec("sonar_rate", 15.0, "rate of sonar/range messages [Hz]", min=0.1, max=50.0),
    ParamSpec(
        "frame_prefix",
        "",
        "put before the pin map's sonar/IR frame_ids, as robot_state_publisher's frame_prefix "
        "(a fleet's 'rover1/': Range.header.frame_id rover1/sonar_link)",
        check=lambda v: "must not start with '/'" if v.startswith("/") else None,
    ),
    ParamSpec("reconnect.initial", 0.5, "first reconnect delay [s]", min=0.05, max=10.0),
    ParamSpec("reconnect.max", 3.0, "longest reconnect delay [s]", min=0.05, max=60.0),
]


def default_pin_map() -> str:
    try:
        from ament_index_python.packages import get_package_share_directory

        path = os.path.join(
            get_package_share_directory("edgebot_bringup"), "config", "firmata.yaml"
        )
        if os.path.exists(path):
            return path
    except Exception:
        pass
    return ""


def load_config(p: dict) -> tuple[PM.PinMap, int]:
    """The declared parameters -> (pin map, baud rate). A bad combination of parameters raises
    :class:`ParameterError`; a pin map that cannot be read, is invalid or does not fit the
    board model raises :class:`PinMapError` naming the file."""
    if p["reconnect.max"] < p["reconnect.initial"]:
        raise ParameterError(
            "reconnect.max",
            p["reconnect.max"],
            f"must be >= reconnect.initial ({p['reconnect.initial']})",
        )
    path = p["pin_map"] or default_pin_map()
    if not path:
        raise ParameterError(
            "pin_map", "", "no pin map given and no edgebot_bringup config/firmata.yaml installed"
        )
    pm = PM.load(path)  # its errors name the file
    for r in pm.sonars + pm.ir_ranges:
        r.frame_id = p["frame_prefix"] + r.frame_id
    if p["firmware"]:
        pm.firmware = p["firmware"]
    try:
        pm.check_board_model()
    except PM.PinMapError as e:
        raise PM.PinMapError(f"pin map {path}: {e}") from None
    return pm, p["baud"] or BAUD[pm.firmware]
