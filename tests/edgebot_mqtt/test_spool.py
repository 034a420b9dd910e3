"""The SQLite spool: durability across reopen, order, bounds with drop-oldest, sequence numbers."""

import multiprocessing
import os
import signal

from edgebot_mqtt.spool import Spool


def test_append_after_remove_in_order(tmp_path):
    s = Spool(str(tmp_path / "s.db"))
    seqs = [s.next_seq() for _ in range(5)]
    for q in seqs:
        s.append(q, "t", b"x%d" % q)
    assert [r.seq for r in s.after(0, 10)] == seqs
    assert [r.seq for r in s.after(seqs[1], 2)] == seqs[2:4]
    assert s.remove([seqs[0], seqs[2], 999999]) == 2
    assert [r.seq for r in s.after(0, 10)] == [seqs[1], seqs[3], seqs[4]]
    assert s.depth == 3 and s.bytes == sum(len(b"x%d" % q) for q in (seqs[1], seqs[3], seqs[4]))


def test_reopen_keeps_rows_and_seq_never_reused(tmp_path):
    p = str(tmp_path / "s.db")
    s = Spool(p)
    used = [s.next_seq() for _ in range(1500)]  # crosses a reservation block
    s.append(used[-1], "a", b"payload", qos=1, retain=True)
    s.close()
    s2 = Spool(p)
    assert s2.recovered == 1 and s2.depth == 1
    row = s2.after(0, 5)[0]
    assert (row.seq, row.topic, row.payload, row.retain) == (used[-1], "a", b"payload", True)
    assert s2.next_seq() > max(used)


def _child(path, n, ready):
    s = Spool(path)
    for i in range(n):
        s.append(s.next_seq(), "t", b"m%d" % i)
    ready.set()
    signal.pause()


def test_kill_9_loses_nothing_appended(tmp_path):
    p = str(tmp_path / "k.db")
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_child, args=(p, 300, ready))
    proc.start()
    try:
        assert ready.wait(60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
    s = Spool(p)
    rows = s.after(0, 1000)
    assert [r.payload for r in rows] == [b"m%d" % i for i in range(300)]
    assert s.next_seq() > rows[-1].seq


def test_bound_by_bytes_drops_oldest(tmp_path):
    s = Spool(str(tmp_path / "b.db"), max_bytes=1000)
    for _i in range(30):
        s.append(s.next_seq(), "t", bytes(100))
    assert s.bytes <= 1000
    assert s.depth == 10
    assert s.dropped_full == 20
    assert [r.seq for r in s.after(0, 100)] == list(range(21, 31))


def test_bound_by_count_and_age(tmp_path):
    now = [1000.0]
    s = Spool(str(tmp_path / "c.db"), max_messages=5, max_age_s=10.0, clock=lambda: now[0])
    for _i in range(8):
        s.append(s.next_seq(), "t", b"x")
    assert s.depth == 5 and s.dropped_full == 3
    now[0] += 5
    s.append(s.next_seq(), "t", b"y")
    now[0] += 6  # the first five are 11 s old, the last one 6 s
    assert s.expire() == 4
    assert s.dropped_age == 4
    assert [r.payload for r in s.after(0, 10)] == [b"y"]


def test_payload_larger_than_spool_is_refused(tmp_path):
    s = Spool(str(tmp_path / "d.db"), max_bytes=1024)
    try:
        s.append(s.next_seq(), "t", bytes(2000))
    except ValueError as e:
        assert "exceeds" in str(e)
    else:
        raise AssertionError("oversize payload accepted")
    assert s.depth == 0
