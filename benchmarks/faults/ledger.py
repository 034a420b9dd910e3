"""Per-message accounting of QoS 1 telemetry for the fault campaign (ROS-free, no MQTT client).

The bridge tags every JSON entry of a QoS 1 telemetry route with ``boot`` (an id of the bridge
process) and ``n`` (1, 2, ... per MQTT topic within that boot) and reports on ``mqtt/stats``
(``ledger``: ``{"boot": id, "sent": {topic: highest n handed to its link}}``) what it has
accepted. An independent MQTT subscriber feeds :meth:`Ledger.on_message`, the campaign's ROS
side feeds :meth:`Ledger.on_stats`; a message is *lost* when the bridge reported it sent and the
subscriber never received it, whichever boot sent it and whichever boot (after a restart, from
the spool) delivered it. Duplicates (a resend after a lost PUBACK) count once.

A killed bridge's last entries: the campaign reads its spool (:func:`spooled`, the SQLite file
the bridge writes every QoS 1 entry to before sending it) right after the SIGKILL and before the
restart, so the ledger of the dead process ends at what it had made durable, not at its last
report. What remains unseen: an entry the broker acknowledged (so the bridge deleted it from the
spool) after the last report, that the broker then never delivered.
"""

from __future__ import annotations

import json
import sqlite3
import threading

Key = tuple[str, str]  # (boot, MQTT topic)


def entries(payload: bytes) -> list[dict]:
    """The entries of a telemetry payload (one object, or ``{"batch": [...]}``); [] if it is
    not a JSON telemetry payload."""
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(obj, dict) and isinstance(obj.get("batch"), list):
        return [e for e in obj["batch"] if isinstance(e, dict)]
    return [obj] if isinstance(obj, dict) else []


def spooled(path: str) -> list[tuple[str, bytes]]:
    """(topic, payload) of every row in a bridge's spool file, read-only; [] without one."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        return [(t, bytes(p)) for t, p in db.execute("SELECT topic, payload FROM spool")]
    except sqlite3.Error:
        return []
    finally:
        db.close()


class Ledger:
    def __init__(self):
        self._lock = threading.Lock()
        self.received: dict[Key, set[int]] = {}
        self.reported: dict[Key, int] = {}  # highest n the bridge reported sent
        self.duplicates = 0
        self.stats_seen = 0
        self.boots: list[str] = []  # in the order their first report came

    def on_message(self, topic: str, payload: bytes) -> int:
        """Returns how many ledgered entries the message held."""
        got = 0
        for e in entries(payload):
            boot, n = e.get("boot"), e.get("n")
            if not isinstance(boot, str) or not isinstance(n, int) or isinstance(n, bool):
                continue
            with self._lock:
                s = self.received.setdefault((boot, topic), set())
                if n in s:
                    self.duplicates += 1
                else:
                    s.add(n)
            got += 1
        return got

    def on_stats(self, stats: dict) -> None:
        led = stats.get("ledger") if isinstance(stats, dict) else None
        if not isinstance(led, dict) or not isinstance(led.get("sent"), dict):
            return
        boot = str(led.get("boot"))
        with self._lock:
            self.stats_seen += 1
            if boot not in self.boots:
                self.boots.append(boot)
            for topic, n in led["sent"].items():
                if isinstance(n, int):
                    k = (boot, topic)
                    self.reported[k] = max(self.reported.get(k, 0), n)

    def on_spooled(self, rows: list[tuple[str, bytes]]) -> int:
        """Entries found in a dead bridge's spool count as sent (they were accepted and made
        durable). Returns how many were found."""
        found = 0
        with self._lock:
            for topic, payload in rows:
                for e in entries(payload):
                    boot, n = e.get("boot"), e.get("n")
                    if isinstance(boot, str) and isinstance(n, int) and not isinstance(n, bool):
                        k = (boot, topic)
                        self.reported[k] = max(self.reported.get(k, 0), n)
                        found += 1
        return found

    def current_boot(self) -> str | None:
        with self._lock:
            return self.boots[-1] if self.boots else None

    def snapshot(self) -> dict[Key, int]:
        """Per (boot, topic): how many entries are known to have been sent (the bridge's report,
        or the highest n received if that is higher)."""
        with self._lock:
            keys = set(self.reported) | set(self.received)
            return {
                k: max(self.reported.get(k, 0), max(self.received.get(k, ()), default=0))
                for k in keys
            }

    def account(self, since: dict[Key, int], until: dict[Key, int] | None = None) -> dict:
        """What was sent between two snapshots and what of it was received: ``sent``,
        ``received``, ``lost`` and the first missing (topic, boot, n) of each key."""
        until = self.snapshot() if until is None else until
        sent = got = 0
        missing: dict[str, list[int]] = {}
        with self._lock:
            for k, hi in sorted(until.items()):
                lo = since.get(k, 0)
                if hi <= lo:
                    continue
                have = self.received.get(k, set())
                gone = [n for n in range(lo + 1, hi + 1) if n not in have]
                sent += hi - lo
                got += hi - lo - len(gone)
                if gone:
                    missing[f"{k[1]}@{k[0]}"] = gone[:10]
        return {"sent": sent, "received": got, "lost": sent - got, "missing": missing}
