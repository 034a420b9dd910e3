"""The poll planner (ROS-free): points -> as few read requests as the map allows.

Points of one device (unit) and one function that are polled at the same rate are merged into
one read when they lie within ``max_gap`` unused registers (bits) of each other and the read
stays within the device's limits (at most 125 registers / 2000 bits per request by the Modbus
specification; ``max_read_registers``/``max_read_bits`` lower them for devices that need it).
Points with ``poll_rate: 0`` are never polled (write-only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import codec
from .registermap import Device, Point, RegisterMap


@dataclass
class Batch:
    """One read request: ``count`` registers/bits from ``start`` of ``function`` at ``unit``."""

    device: Device
    unit: int
    function: str
    start: int
    count: int
    period: float
    points: list[Point] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.count - 1

    def values(self, data) -> list[tuple[Point, object]]:
        """(point, engineering value) for every point, from the read's data (bits/registers)."""
        out = []
        d = self.device
        for p in self.points:
            off = p.address - self.start
            if p.is_bit:
                out.append((p, bool(data[off])))
                continue
            raw = codec.decode(
                data[off : off + p.size], p.type, d.word_order_of(p), d.byte_order_of(p)
            )
            out.append((p, codec.to_value(raw, p.scale, p.offset)))
        return out

    def describe(self) -> str:
        return f"{self.device.name} unit {self.unit} {self.function} {self.start}..{self.end}"


def plan_device(d: Device) -> list[Batch]:
    groups: dict[tuple[str, float], list[Point]] = {}
    for p in d.points:
        rate = d.rate_of(p)
        if rate <= 0.0:
            continue
        groups.setdefault((p.function, 1.0 / rate), []).append(p)
    batches: list[Batch] = []
    for (fn, period), pts in sorted(groups.items()):
        limit = d.max_read_bits if fn in ("coil", "discrete_input") else d.max_read_registers
        cur = None
        for p in sorted(pts, key=lambda p: p.address):
            if (
                cur is not None
                and p.address - cur.end - 1 <= d.max_gap
                and p.last - cur.start + 1 <= limit
            ):
                cur.count = max(cur.count, p.last - cur.start + 1)
                cur.points.append(p)
                continue
            cur = Batch(d, d.unit, fn, p.address, p.size, period, [p])
            batches.append(cur)
    return batches


def plan(devices: list[Device]) -> list[Batch]:
    out: list[Batch] = []
    for d in devices:
        out.extend(plan_device(d))
    return out


def plan_map(rm: RegisterMap) -> dict[tuple, list[Batch]]:
    """bus key -> its batches."""
    return {key: plan(devs) for key, devs in rm.buses().items()}
