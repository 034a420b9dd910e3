"""firmata_node's diagnostics tasks as plain functions (no rclpy: diagnostic_msgs' levels only).

Each returns ``(level, message, values)`` as :class:`edgebot_common.diagnostics.Diagnostics`
expects; the node passes in what it holds (supervisor, link, counters) and the time.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus

from .encoders import encoder_stats

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


def connection(sup, baud, keep_alive_s) -> tuple[bytes, str, dict]:
    """The link's state: port, baud, firmware, connects/reconnects, board resets, last error."""
    link = sup.link
    values = {
        "port": sup.port or "auto",
        "baud": baud,
        "connects": sup.connects,
        "firmware": (link.firmware_id.strip() if link else "") or "unknown",
        "reconnects": sup.reconnects,
        "board_resets": sup.board_resets,
        "keep_alive_s": keep_alive_s,
        "last_error": sup.last_error,
    }
    if sup.connected:
        return OK, "connected", values
    return ERROR, f"disconnected: {sup.last_error or 'connecting'}", values


class LinkStatus:
    """The link's traffic: received messages per second since the previous report, writes,
    command timeouts, rejected commands by reason, the link's own counters."""

    def __init__(self, now: float):
        self._prev = (now, 0)

    def __call__(self, link, guard, rejects, now: float) -> tuple[bytes, str, dict]:
        st = link.stats() if link is not None else {}
        t0, n0 = self._prev
        frames = st.get("rx_frames", 0)
        rate = (frames - n0) / max(1e-6, now - t0)
        self._prev = (now, frames)
        values = {
            "rx_messages_per_s": rate,
            "writes": link.writes if link else 0,
            "command_timeouts": guard.timeouts,
            "rejected_commands": rejects.total,
            **st,
            **{f"rejected_{k}": v for k, v in rejects.as_dict().items()},
        }
        if st.get("serial_errors", 0):
            return WARN, "serial errors seen", values
        return OK, "ok", values


class EncoderStatus:
    """Counts, reports and illegal transitions per encoder; WARN when new illegal transitions
    (missed edges) appeared since the previous report."""

    def __init__(self, encoders):
        self.encoders = encoders
        self._illegal_seen = 0

    def __call__(self) -> tuple[bytes, str, dict]:
        values, illegal = encoder_stats(self.encoders)
        new, self._illegal_seen = illegal - self._illegal_seen, illegal
        if new:
            return WARN, f"{new} illegal transitions (missed edges) since the last report", values
        return OK, "ok", values
