"""QoS 1 telemetry accounting, message by message: the bridge's tagging (boot, n per topic)
and the campaign's ledger (what the bridge reported sent vs what a subscriber received)."""

import json

from ledger import Ledger, entries

from edgebot_mqtt import encoding
from edgebot_mqtt.config import TelemetryRoute
from edgebot_mqtt.telemetry import Telemetry


class Recorder:
    """What the bridge's link would be handed (topic, payload built with its seqs, qos)."""

    def __init__(self):
        self.seq = 0
        self.sent = []

    def send(self, topic, payload_for, count=1, qos=1, retain=False, seq_property=False):
        seqs = list(range(self.seq + 1, self.seq + 1 + count))
        self.seq += count
        self.sent.append((topic, payload_for(seqs), qos))
        return seqs


def route(**kw):
    base = dict(ros_topic="t", type="std_msgs/msg/Float64", mqtt_topic="r/t", qos=1)
    base.update(kw)
    return TelemetryRoute.model_validate(base)


def test_bridge_tags_qos1_entries_with_boot_and_a_contiguous_n_per_topic():
    from std_msgs.msg import Float64

    link = Recorder()
    tel = Telemetry(link, reject=lambda *a: None)
    a = tel.add(route(mqtt_topic="r/a"), Float64)
    b = tel.add(route(mqtt_topic="r/b"), Float64)
    z = tel.add(route(mqtt_topic="r/z", qos=0), Float64)
    for i in range(3):
        tel.handle(a, Float64(data=float(i)))
        tel.handle(z, Float64(data=float(i)))
    tel.handle(b, Float64(data=9.0))
    got = {}
    for topic, payload, _qos in link.sent:
        for e in encoding.decode(payload):
            got.setdefault(topic, []).append((e.get("boot"), e.get("n"), e["data"]["data"]))
    assert got["r/a"] == [(tel.boot, 1, 0.0), (tel.boot, 2, 1.0), (tel.boot, 3, 2.0)]
    assert got["r/b"] == [(tel.boot, 1, 9.0)]
    assert all(boot is None and n is None for boot, n, _ in got["r/z"])  # QoS 0: no ledger
    assert tel.stats()["ledger"] == {"boot": tel.boot, "sent": {"r/a": 3, "r/b": 1}}
    assert Telemetry(Recorder(), reject=lambda *a: None).boot != tel.boot  # one id per process


def test_batched_entries_are_tagged_one_by_one():
    from std_msgs.msg import Float64

    link = Recorder()
    tel = Telemetry(link, reject=lambda *a: None)
    rt = tel.add(route(batch={"max_messages": 3, "max_delay": 10.0}), Float64)
    for i in range(3):
        tel.handle(rt, Float64(data=float(i)))
    ((_topic, payload, _q),) = link.sent
    es = entries(payload)
    assert [(e["n"], e["seq"]) for e in es] == [(1, 1), (2, 2), (3, 3)]
    led = Ledger()
    assert led.on_message("r/t", payload) == 3


def msg(boot, *ns, batch=False):
    es = [{"seq": 100 + n, "boot": boot, "n": n, "stamp": 0, "data": {}} for n in ns]
    return json.dumps({"batch": es} if batch else es[0]).encode()


def test_ledger_names_each_lost_message_across_boots():
    led = Ledger()
    led.on_stats({"ledger": {"boot": "b1", "sent": {"r/a": 2}}})
    t0 = led.snapshot()
    assert t0 == {("b1", "r/a"): 2}
    # during the trial: b1 sends 3..6 (5 never arrives), is killed; b2 replays 6 from the spool
    for n in (3, 4):
        led.on_message("r/a", msg("b1", n))
    led.on_stats({"ledger": {"boot": "b1", "sent": {"r/a": 5}}})
    led.on_stats({"ledger": {"boot": "b2", "sent": {"r/a": 2, "r/b": 1}}})
    led.on_message("r/a", msg("b1", 6))  # above b1's last report: extends it
    led.on_message("r/a", msg("b2", 1, 2, batch=True))
    led.on_message("r/a", msg("b2", 2))  # a resend after a lost PUBACK: counted once
    led.on_message("r/b", msg("b2", 1))
    led.on_message("r/x", b"not json")  # not telemetry of the ledger
    led.on_message("r/x", json.dumps({"seq": 1, "stamp": 0}).encode())  # QoS 0: untagged
    acc = led.account(t0)
    assert (acc["sent"], acc["received"], acc["lost"]) == (7, 6, 1)
    assert acc["missing"] == {"r/a@b1": [5]}
    assert led.duplicates == 1 and led.boots == ["b1", "b2"] and led.current_boot() == "b2"
    led.on_message("r/a", msg("b1", 5))  # late after all
    assert led.account(t0)["lost"] == 0


def test_ledger_ignores_malformed_reports_and_entries():
    led = Ledger()
    led.on_stats({"connected": True})
    led.on_stats({"ledger": {"boot": "b", "sent": "many"}})
    led.on_stats("nonsense")
    assert led.snapshot() == {} and led.stats_seen == 0
    assert led.on_message("t", json.dumps({"boot": "b", "n": True}).encode()) == 0
    assert led.on_message("t", json.dumps({"boot": 3, "n": 1}).encode()) == 0
    assert led.on_message("t", json.dumps([1, 2]).encode()) == 0
    assert led.account({}) == {"sent": 0, "received": 0, "lost": 0, "missing": {}}


def test_a_killed_bridges_spool_extends_its_ledger(tmp_path):
    """What a SIGKILLed bridge had made durable (its real spool file) counts as sent: an entry
    the next process never replays is named lost."""
    from ledger import spooled

    from edgebot_mqtt.spool import Spool

    path = str(tmp_path / "spool.db")
    sp = Spool(path)
    for n in (7, 8):
        seq = sp.next_seq()
        sp.append(seq, "r/a", msg("b1", n), 1, False)
    sp.close()
    led = Ledger()
    led.on_stats({"ledger": {"boot": "b1", "sent": {"r/a": 6}}})
    t0 = led.snapshot()
    led.on_stats({"ledger": {"boot": "b1", "sent": {"r/a": 6}}})  # 7, 8 after the last report
    assert led.on_spooled(spooled(path)) == 2
    led.on_message("r/a", msg("b1", 7))  # the next process replays only 7
    acc = led.account(t0)
    assert (acc["sent"], acc["lost"], acc["missing"]) == (2, 1, {"r/a@b1": [8]})
    assert spooled(str(tmp_path / "none.db")) == []
