"""BusSupervisor without ROS and without processes: pymodbus's server (in a thread) as the
device, the real pymodbus client, an injected clock for the schedule and the backoff."""

import pytest
from modbus_testing import FakeClock, parse, plc_map

from edgebot_modbus.link import Link
from edgebot_modbus.sim import SimulatedBus
from edgebot_modbus.supervisor import BusSupervisor, WriteRejected
from edgebot_testing import free_port


class Harness:
    def __init__(self, doc, clock=None):
        self.rm = parse(doc)
        self.dev = self.rm.devices[0]
        self.clock = clock or FakeClock()
        self.values = {}
        self.writes = []
        self.logs = []
        self.online = []
        self.sim = SimulatedBus(self.rm.devices, tcp=("127.0.0.1", self.dev.tcp.port)).start()
        self.sup = BusSupervisor(
            self.rm.devices,
            Link(self.dev),
            on_values=self._on_values,
            on_write=self.writes.append,
            on_online=self.online.append,
            log=self.logs.append,
            clock=self.clock,
            backoff_initial=0.5,
            backoff_max=4.0,
        )

    def _on_values(self, d, vals, t):
        for p, v in vals:
            self.values[p.name] = v

    def point(self, name):
        return next(p for p in self.dev.points if p.name == name)

    def close(self):
        self.sup.close()
        self.sim.stop()


@pytest.fixture
def h():
    hh = Harness(plc_map(free_port()))
    yield hh
    hh.close()


def test_reads_every_function_and_order(h):
    s = h.sim
    s.set("plc", "temperature", -12.5)
    s.set("plc", "battery", 24.0)
    s.set("plc", "cycles", 4_000_000_000)
    s.set("plc", "swapped", 1.25)
    s.set("plc", "setpoint", 21.5)
    s.set("plc", "door_closed", True)
    # the swapped value is really stored byte-swapped (not just round-tripped by our codec)
    assert s.get_raw(1, 4, 6, 2) == [0xA03F, 0x0000]
    # the little word order too: the low word first
    assert s.get_raw(1, 4, 4, 2) == [4_000_000_000 & 0xFFFF, 4_000_000_000 >> 16]
    delay = h.sup.step()
    assert h.values == {
        "temperature": pytest.approx(-12.5),
        "battery": 24.0,
        "cycles": 4_000_000_000,
        "swapped": 1.25,
        "setpoint": pytest.approx(21.5),
        "pump": False,
        "door_closed": True,
    }
    # 4 functions -> 4 requests; the next is due one period later
    assert sum(st.polls for st in h.sup.state.values()) == 4
    assert 0 < delay <= 1 / 20.0
    h.sup.step()  # nothing due at the same clock time
    assert h.sup.state["plc"].polls == 4
    h.clock.advance(0.05)
    h.sup.step()
    assert h.sup.state["plc"].polls == 8


def test_writes_are_checked_scaled_and_read_back(h):
    h.sup.step()
    h.sup.request_write(h.dev, h.point("setpoint"), 22.3)
    h.sup.request_write(h.dev, h.point("pump"), True)
    for bad, why in (
        (31.0, "above max 30.0"),
        (float("nan"), "not finite"),
        (4.0, "below min 5.0"),
    ):
        with pytest.raises(WriteRejected, match=why):
            h.sup.request_write(h.dev, h.point("setpoint"), bad)
    with pytest.raises(WriteRejected, match="not writable"):
        h.sup.request_write(h.dev, h.point("temperature"), 1.0)
    assert h.sup.next_delay() == 0.0  # queued writes wake the loop
    h.sup.step()
    assert [(w.point.name, w.ok) for w in h.writes] == [("setpoint", True), ("pump", True)]
    assert h.sim.get_raw(1, 3, 0, 1) == [223]
    assert h.sim.get("plc", "pump") is True
    # the written points are read back in the same step, without waiting a period
    assert h.values["setpoint"] == pytest.approx(22.3) and h.values["pump"] is True


def test_exception_response_is_counted_and_the_device_stays_online(h):
    h.sim.fail[(4, 2)] = 4  # input register 2 -> "device failure"
    h.sup.step()
    c = h.sup.counters("plc")
    assert c["exception_4"] == 1 and c["exceptions"] == 1 and c["online"]
    assert "exception 4 (device failure)" in c["last_error"]
    assert "temperature" not in h.values and h.values["pump"] is False  # other reads fine
    h.sim.fail.clear()
    h.clock.advance(0.05)
    h.sup.step()
    assert "temperature" in h.values and h.sup.counters("plc")["exceptions"] == 1


def test_failed_write_is_reported_and_never_retried(h):
    h.sup.step()
    h.sim.fail[(3, 0)] = 2  # holding register 0: illegal address (also writes)
    h.sup.request_write(h.dev, h.point("setpoint"), 10.0)
    h.sup.step()
    (w,) = h.writes
    assert not w.ok and "exception 2" in w.error
    h.sim.fail.clear()
    # a write the device executed but whose answer was lost: reported, never repeated
    h.sim.mute = True
    h.sup.request_write(h.dev, h.point("pump"), True)
    h.sup.step()
    assert not h.writes[-1].ok and "no response" in h.writes[-1].error
    h.sim.mute = False
    for _ in range(3):
        h.clock.advance(1.0)
        h.sup.step()
    pump_writes = [w for w in h.sim.writes if w[1] in (5, 15)]
    assert len(pump_writes) == 1  # the device saw it exactly once
    assert h.sim.get("plc", "pump") is True
    c = h.sup.counters("plc")
    assert c["writes_failed"] == 2 and c["writes_ok"] == 0


def test_silent_device_goes_offline_backs_off_and_comes_back(h):
    h.sup.step()
    polls0 = h.sup.state["plc"].polls
    h.sim.mute = True
    h.clock.advance(0.05)
    h.sup.step()  # 4 unanswered reads (offline_after: 2)
    st = h.sup.state["plc"]
    assert not st.online and st.went_offline == 1 and st.timeouts == 2
    assert any("offline after 2 unanswered" in s for s in h.logs)
    # the only device of a TCP connection is offline: the socket is closed, reopened later
    assert not h.sup.connected
    d1 = h.sup.step()
    assert 0.45 <= d1 <= 0.55  # bus backoff (0.5 s +- 10 % jitter), nothing sent
    assert st.polls == polls0 + 2
    # each failed attempt doubles the wait, up to backoff_max
    delays = []
    for _ in range(4):
        h.clock.advance(d1 + 1e-3)
        d1 = h.sup.step()
        delays.append(d1)
    assert delays[0] < delays[1] < delays[2] and delays[-1] <= 4.0 * 1.1
    h.sim.mute = False
    h.sim.set("plc", "temperature", 30.5)
    h.clock.advance(d1 + 1e-3)
    h.sup.step()
    assert st.online and h.sup.connected
    assert h.values["temperature"] == pytest.approx(30.5)
    assert any("answers again" in s for s in h.logs)
    assert h.online == [h.dev]  # told once (the node then republishes on_change points)


def test_write_to_an_offline_device_fails_at_once(h):
    h.sim.mute = True
    h.sup.step()
    assert not h.sup.state["plc"].online
    h.sup.request_write(h.dev, h.point("pump"), True)
    h.sup.step()
    assert not h.writes[-1].ok and h.writes[-1].error in ("device offline", "not connected")
    assert h.sim.writes == []


def test_multi_register_writes_keep_the_word_order_and_write_function():
    from edgebot_modbus import codec

    doc = plc_map(
        free_port(),
        extra_points=[
            {
                "name": "limit",
                "function": "holding_register",
                "address": 10,
                "type": "float32",
                "word_order": "little",
                "writable": True,
            },
            {
                "name": "count",
                "function": "holding_register",
                "address": 20,
                "type": "int32",
                "byte_order": "little",
                "writable": True,
                "min": -100000,
                "max": 100000,
            },
        ],
    )
    h = Harness(doc)
    try:
        h.sup.step()
        h.sup.request_write(h.dev, h.point("limit"), 12.5)
        h.sup.request_write(h.dev, h.point("count"), -70000)
        h.sup.step()
        assert all(w.ok for w in h.writes)
        assert h.sim.get_raw(1, 3, 10, 2) == codec.encode(12.5, "float32", "little", "big")
        assert h.sim.get_raw(1, 3, 10, 2)[1] == 0x4148  # high word last (CDAB)
        assert h.sim.get_raw(1, 3, 20, 2) == codec.encode(-70000, "int32", "big", "little")
        # two registers: one "write multiple registers" (fc 16) each, not two single writes
        assert [(w[1], w[2]) for w in h.sim.writes] == [(16, 10), (16, 20)]
        assert h.values["limit"] == 12.5 and h.values["count"] == -70000
    finally:
        h.close()
    # write_function: multiple -> fc 16 / 15 even for one register / coil
    h = Harness(plc_map(free_port(), write_function="multiple"))
    try:
        h.sup.step()
        h.sup.request_write(h.dev, h.point("setpoint"), 10.0)
        h.sup.request_write(h.dev, h.point("pump"), True)
        h.sup.step()
        assert [w[1] for w in h.sim.writes] == [16, 15]
    finally:
        h.close()
