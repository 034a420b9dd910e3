"""Helpers for the edgebot_modbus tests: maps written to temp files, a simulated device."""

from __future__ import annotations

import yaml

from edgebot_modbus import registermap as R


def plc_map(
    port: int,
    *,
    unit: int = 1,
    timeout: float = 0.3,
    poll_rate: float = 20.0,
    extra_points=(),
    **device,
) -> dict:
    """A PLC-like device on TCP: every function, word orders, scale, writable points."""
    points = [
        {
            "name": "temperature",
            "function": "input_register",
            "address": 0,
            "type": "int16",
            "scale": 0.1,
            "msg": "Temperature",
        },
        {
            "name": "battery",
            "function": "input_register",
            "address": 2,
            "type": "float32",
            "msg": "BatteryState",
            "full_voltage": 25.2,
            "empty_voltage": 19.8,
        },
        {
            "name": "cycles",
            "function": "input_register",
            "address": 4,
            "type": "uint32",
            "word_order": "little",
            "msg": "Int64",
        },
        {
            "name": "swapped",
            "function": "input_register",
            "address": 6,
            "type": "float32",
            "byte_order": "little",
        },
        {
            "name": "setpoint",
            "function": "holding_register",
            "address": 0,
            "type": "int16",
            "scale": 0.1,
            "writable": True,
            "min": 5.0,
            "max": 30.0,
        },
        {"name": "pump", "function": "coil", "address": 0, "writable": True},
        {"name": "door_closed", "function": "discrete_input", "address": 0},
        *extra_points,
    ]
    return {
        "devices": [
            {
                "name": "plc",
                "tcp": {"host": "127.0.0.1", "port": port},
                "unit": unit,
                "timeout": timeout,
                "poll_rate": poll_rate,
                "offline_after": 2,
                "points": points,
                **device,
            }
        ]
    }


def meter_map(port_path: str, baudrate: int = 115200) -> dict:
    """An SDM120-like energy meter on RTU: float32 input registers, high word first."""
    pts = [
        ("voltage", 0x00),
        ("current", 0x06),
        ("active_power", 0x0C),
        ("frequency", 0x46),
        ("total_energy", 0x156),
    ]
    return {
        "devices": [
            {
                "name": "meter",
                "rtu": {"port": port_path, "baudrate": baudrate},
                "unit": 1,
                "timeout": 0.3,
                "poll_rate": 20.0,
                "offline_after": 2,
                "points": [
                    {"name": n, "function": "input_register", "address": a, "type": "float32"}
                    for n, a in pts
                ]
                + [{"name": "relay", "function": "coil", "address": 0, "writable": True}],
            }
        ]
    }


def write_map(tmp_path, doc: dict, name: str = "map.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def parse(doc: dict) -> R.RegisterMap:
    return R.from_dict(doc)


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt
