"""Diagnostics in the shape of diagnostic_updater (which is not a wheel): tasks produce a
status each period, published as ``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics``.

    diag = Diagnostics(node, hardware_id="arduino@/dev/ttyACM0")
    diag.add("connection", lambda: (OK, "connected", {"port": port, "errors": n}))

Levels: ``OK``, ``WARN``, ``ERROR``, ``STALE`` (the diagnostic_msgs byte values).
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from . import qos

OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR
STALE = DiagnosticStatus.STALE

Task = Callable[[], tuple[int, str, dict[str, object]]]


def _value_text(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class Diagnostics:
    def __init__(
        self, node: Node, hardware_id: str = "", period_s: float = 1.0, topic: str = "/diagnostics"
    ):
        self._node = node
        self.hardware_id = hardware_id
        self._tasks: list = []
        self._pub = node.create_publisher(DiagnosticArray, topic, qos.DIAGNOSTICS)
        self._timer = node.create_timer(period_s, self.publish)

    def add(self, name: str, task: Task) -> None:
        self._tasks.append((name, task))

    def statuses(self) -> list:
        out = []
        for name, task in self._tasks:
            try:
                level, message, values = task()
            except Exception as e:  # a failing task must not kill the node
                level, message, values = ERROR, f"diagnostic task failed: {e}", {}
            out.append(
                DiagnosticStatus(
                    level=bytes([level]) if isinstance(level, int) else level,
                    name=f"{self._node.get_name()}: {name}",
                    message=message,
                    hardware_id=self.hardware_id,
                    values=[KeyValue(key=str(k), value=_value_text(v)) for k, v in values.items()],
                )
            )
        return out

    def publish(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        msg.status = self.statuses()
        self._pub.publish(msg)
