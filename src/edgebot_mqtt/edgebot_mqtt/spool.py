"""A durable, bounded, ordered message store on SQLite (WAL) — ROS-free.

Every outgoing message that must not be lost is written here *before* it is handed to the MQTT
client and deleted only when the broker acknowledged it (PUBACK for QoS 1; written to the socket
for QoS 0). A crash or ``kill -9`` therefore loses nothing that was appended: on the next start
the rows are still there and are replayed, oldest first.

Sequence numbers: :meth:`Spool.next_seq` hands out numbers that increase across restarts (blocks
of numbers are reserved in the database, so a crash can leave a gap but never reuses a number).
Consumers drop duplicates by keeping the highest sequence number seen.

Bounds and policy: at most ``max_bytes`` of payload and ``max_messages`` rows; rows older than
``max_age_s`` are dropped. When a bound is hit the **oldest** rows are dropped (the newest
telemetry is the most useful) and counted in :attr:`dropped_full` / :attr:`dropped_age`.

The object is not thread-safe by itself; the bridge calls it under its own lock.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

SEQ_BLOCK = 1000


@dataclass
class Row:
    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float
    seq_property: bool  # carry the sequence number as an MQTT 5 user property (raw payloads)


class Spool:
    def __init__(
        self,
        path: str,
        max_bytes: int = 64 * 1024 * 1024,
        max_messages: int = 1_000_000,
        max_age_s: float = 7 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        if path != ":memory:":
            d = os.path.dirname(os.path.abspath(path))
            os.makedirs(d, exist_ok=True)
        self.path = path
        self.max_bytes = int(max_bytes)
        self.max_messages = int(max_messages)
        self.max_age_s = float(max_age_s)
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed row survives a crash/kill of the process (it is in the
        # WAL); only a power loss can take the last transactions. FULL adds an fsync per commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, "
            "payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, "
            "created REAL NOT NULL, seqprop INTEGER NOT NULL DEFAULT 0)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        row = self._db.execute("SELECT value FROM meta WHERE key='seq_reserved'").fetchone()
        reserved = row[0] if row else 0
        top = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM spool").fetchone()[0]
        self._next = max(reserved, top) + 1
        self._reserved = self._next - 1
        cnt, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM spool"
        ).fetchone()
        self.depth = cnt
        self.bytes = size
        self.recovered = cnt  # rows found at open (left by a previous run)
        self.appended = 0
        self.dropped_full = 0
        self.dropped_age = 0
        self.removed = 0

    # -- sequence numbers --------------------------------------------------------------------
    def next_seq(self) -> int:
        seq = self._next
        self._next += 1
        if seq > self._reserved:
            self._reserved = seq + SEQ_BLOCK
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seq_reserved', ?)",
                (self._reserved,),
            )
        return seq

    # -- rows --------------------------------------------------------------------------------
    def append(
        self,
        seq: int,
        topic: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        seq_property: bool = False,
        created: float | None = None,
    ) -> int:
        """Store one message durably (committed on return). Returns rows dropped to make room."""
        payload = bytes(payload)
        if len(payload) > self.max_bytes:
            raise ValueError(
                f"payload of {len(payload)} bytes exceeds the spool size {self.max_bytes}"
            )
        dropped = self._make_room(len(payload))
        self._db.execute(
            "INSERT INTO spool (seq, topic, payload, qos, retain, created, seqprop) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                topic,
                payload,
                int(qos),
                int(bool(retain)),
                self._clock() if created is None else created,
                int(bool(seq_property)),
            ),
        )
        self.depth += 1
        self.bytes += len(payload)
        self.appended += 1
        return dropped

    def _make_room(self, incoming: int) -> int:
        dropped = 0
        while self.depth > 0 and (
            self.bytes + incoming > self.max_bytes or self.depth + 1 > self.max_messages
        ):
            # drop oldest rows in chunks
            excess_rows = max(1, self.depth + 1 - self.max_messages)
            rows = self._db.execute(
                "SELECT seq, LENGTH(payload) FROM spool ORDER BY seq LIMIT ?",
                (max(excess_rows, 16),),
            ).fetchall()
            need = self.bytes + incoming - self.max_bytes
            victims = []
            freed = 0
            for seq, n in rows:
                if freed >= need and len(victims) >= excess_rows:
                    break
                victims.append(seq)
                freed += n
            self._delete(victims)
            self.dropped_full += len(victims)
            dropped += len(victims)
        return dropped

    def _delete(self, seqs: list[int]) -> int:
        if not seqs:
            return 0
        total = 0
        cur = self._db.cursor()
        cur.execute("BEGIN")
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            marks = ",".join("?" * len(chunk))
            got = cur.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM spool "
                f"WHERE seq IN ({marks})",
                chunk,
            ).fetchone()
            cur.execute(f"DELETE FROM spool WHERE seq IN ({marks})", chunk)
            self.depth -= got[0]
            self.bytes -= got[1]
            total += got[0]
        cur.execute("COMMIT")
        return total

    def remove(self, seqs: list[int]) -> int:
        """Delete delivered rows (unknown seqs are ignored). Returns rows deleted."""
        n = self._delete(list(seqs))
        self.removed += n
        return n

    def expire(self) -> int:
        """Drop rows older than max_age_s; returns how many."""
        cutoff = self._clock() - self.max_age_s
        seqs = [
            r[0] for r in self._db.execute("SELECT seq FROM spool WHERE created < ?", (cutoff,))
        ]
        n = self._delete(seqs)
        self.dropped_age += n
        return n

    def after(self, seq: int, limit: int) -> list[Row]:
        """The oldest ``limit`` rows with a sequence number greater than ``seq``."""
        return [
            Row(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5], bool(r[6]))
            for r in self._db.execute(
                "SELECT seq, topic, payload, qos, retain, created, seqprop FROM spool "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, int(limit)),
            )
        ]

    def last_seq(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM spool").fetchone()[0]

    def stats(self) -> dict:
        return {
            "depth": self.depth,
            "bytes": self.bytes,
            "appended": self.appended,
            "removed": self.removed,
            "dropped_full": self.dropped_full,
            "dropped_age": self.dropped_age,
            "recovered": self.recovered,
        }

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
