"""modbus_bridge as a process on real DDS, with pymodbus's server as the device: Modbus TCP on a
free port, and RTU over a pseudo-terminal pair (real ptys)."""

import math
import os
import signal
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from modbus_testing import meter_map, parse, plc_map, write_map
from sensor_msgs.msg import BatteryState, Temperature
from std_msgs.msg import Bool, Float64, Int64

from edgebot_common import qos as Q
from edgebot_modbus.sim import PtyCable, SimulatedBus
from edgebot_testing import free_port, wait_for


def start_bridge(procs, path):
    return procs.node(
        "edgebot_modbus",
        "modbus_bridge",
        params={
            "map": path,
            "diagnostics_period": 0.2,
            "reconnect.initial": 0.2,
            "reconnect.max": 0.5,
        },
    )


class Diag:
    """The newest diagnostics status of one device."""

    def __init__(self, ros, device):
        self.name = f"modbus_bridge: {device}"
        self.msgs = ros.collect(DiagnosticArray, "/diagnostics")

    def latest(self):
        for m in reversed(self.msgs):
            for s in m.status:
                if s.name == self.name:
                    return s
        return None

    def values(self):
        s = self.latest()
        return {kv.key: kv.value for kv in s.values} if s else {}

    def level(self):
        s = self.latest()
        return None if s is None else s.level

    def count(self, key):
        return int(self.values().get(key, "0"))


def stream_until(pub, msg, cond, what, timeout=30.0):
    """Publish ``msg`` until ``cond()`` holds (commands are idempotent; no sleep)."""

    def step():
        pub.publish(msg)
        return cond()

    return wait_for(step, timeout, interval=0.1, what=what)


def near(lst, value, field=lambda m: m.data, tol=1e-6):
    return bool(lst) and math.isclose(field(lst[-1]), value, rel_tol=tol, abs_tol=tol)


@pytest.fixture
def tcp_plc(tmp_path):
    port = free_port()
    # the bridge also polls holding register 200, which the device does not have
    doc = plc_map(
        port, extra_points=[{"name": "missing", "function": "holding_register", "address": 200}]
    )
    sim = SimulatedBus(parse(plc_map(port)).devices, tcp=("127.0.0.1", port)).start()
    yield sim, write_map(tmp_path, doc)
    sim.stop()


def test_tcp_reads_writes_exceptions_and_recovery(procs, ros, tcp_plc):
    sim, path = tcp_plc
    sim.set("plc", "temperature", -3.5)
    sim.set("plc", "battery", 24.0)
    sim.set("plc", "cycles", 4_000_000_000)
    sim.set("plc", "swapped", -0.75)
    sim.set("plc", "setpoint", 20.0)
    temps = ros.collect(Temperature, "plc/temperature")
    bat = ros.collect(BatteryState, "plc/battery")
    cycles = ros.collect(Int64, "plc/cycles")
    swapped = ros.collect(Float64, "plc/swapped")
    pump = ros.collect(Bool, "plc/pump")
    diag = Diag(ros, "plc")
    bus = Diag(ros, f"bus tcp://127.0.0.1:{sim._tcp[1]}")
    bridge = start_bridge(procs, path)
    wait_for(lambda: temps and bat and cycles and swapped and pump, 60, what="every polled topic")
    t = temps[-1]
    assert t.temperature == pytest.approx(-3.5) and t.header.frame_id == "plc_link"
    assert bat[-1].voltage == pytest.approx(24.0)
    assert bat[-1].percentage == pytest.approx((24.0 - 19.8) / (25.2 - 19.8), rel=1e-5)
    assert cycles[-1].data == 4_000_000_000 and swapped[-1].data == -0.75
    assert pump[-1].data is False

    # a register change reaches ROS
    sim.set("plc", "temperature", 41.2)
    wait_for(lambda: near(temps, 41.2, lambda m: m.temperature), 30, what="new temperature")

    # writes: scaled into the register, read back and published
    sp = ros.collect(Float64, "plc/setpoint")
    cmd = ros.publisher(Float64, "plc/setpoint/cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd)
    stream_until(
        cmd, Float64(data=22.5), lambda: sim.get_raw(1, 3, 0, 1) == [225], "setpoint written"
    )
    wait_for(lambda: near(sp, 22.5), 30, what="setpoint read back")
    # out of range / not finite: rejected, never written; a later good command still is
    cmd.publish(Float64(data=99.0))
    cmd.publish(Float64(data=math.nan))
    stream_until(
        cmd,
        Float64(data=12.0),
        lambda: sim.get_raw(1, 3, 0, 1) == [120],
        "setpoint after the rejected ones",
    )
    written = [w[3] for w in sim.writes if w[1] in (6, 16)]
    assert [990] not in written and all(v in ([225], [120]) for v in written)
    out = bridge.wait_output("rejected [command]")
    assert "plc/setpoint/cmd: 99.0 is above max 30.0" in out
    wait_for(lambda: diag.count("commands_rejected") == 2, 30, what="rejections counted")

    pcmd = ros.publisher(Bool, "plc/pump/cmd", Q.COMMANDS)
    ros.wait_subscribers(pcmd)
    stream_until(pcmd, Bool(data=True), lambda: sim.get("plc", "pump") is True, "pump on")
    wait_for(lambda: pump and pump[-1].data is True, 30, what="pump read back")

    # the exception response of the missing register is counted; the rest keeps flowing
    wait_for(lambda: diag.count("exception_2") >= 1, 30, what="exception 2 in diagnostics")
    assert diag.values()["online"] == "True"
    # the missing register answers with an exception at every poll: WARN
    wait_for(lambda: diag.level() == DiagnosticStatus.WARN, 30, what="diagnostics warn")

    # the device stops answering: offline, diagnostics error; it comes back: values again
    sim.mute = True
    wait_for(lambda: diag.level() == DiagnosticStatus.ERROR, 30, what="diagnostics error")
    assert diag.count("timeouts") >= 2
    bridge.wait_output("offline after 2 unanswered requests")
    sim.set("plc", "temperature", 7.0)
    sim.mute = False
    wait_for(
        lambda: near(temps, 7.0, lambda m: m.temperature),
        30,
        what="temperature after the device came back",
    )
    wait_for(lambda: diag.values().get("online") == "True", 30, what="online again")
    assert diag.count("went_offline") >= 1 and bus.count("connects") >= 2
    assert "crc_errors" not in bus.values()  # TCP has no CRC
    assert "connects" not in diag.values()  # the connection's counters: once, per bus
    assert bridge.running()


def test_rtu_over_a_pty_pair_reads_writes_and_counts_crc_errors(procs, ros, tmp_path):
    cable = PtyCable()
    try:
        doc = meter_map(cable.client_path)
        sim = SimulatedBus(parse(doc).devices, rtu_port=cable.device_path).start()
        try:
            sim.set("meter", "voltage", 230.1)
            sim.set("meter", "frequency", 49.98)
            sim.set("meter", "total_energy", 1234.5)
            volts = ros.collect(Float64, "meter/voltage")
            hz = ros.collect(Float64, "meter/frequency")
            kwh = ros.collect(Float64, "meter/total_energy")
            diag = Diag(ros, "meter")
            bus = Diag(ros, f"bus rtu://{cable.client_path}@115200N81")
            bridge = start_bridge(procs, write_map(tmp_path, doc))
            wait_for(lambda: volts and hz and kwh, 60, what="meter values")
            assert volts[-1].data == pytest.approx(230.1, rel=1e-6)
            assert hz[-1].data == pytest.approx(49.98, rel=1e-6)
            assert kwh[-1].data == pytest.approx(1234.5, rel=1e-6)

            relay = ros.publisher(Bool, "meter/relay/cmd", Q.COMMANDS)
            ros.wait_subscribers(relay)
            stream_until(
                relay,
                Bool(data=True),
                lambda: sim.get("meter", "relay") is True,
                "relay coil written over RTU",
            )

            # answers with a broken CRC: counted, the meter goes offline, then comes back
            sim.corrupt = True
            # the line's CRC errors: counted once, in the bus's status, not per device
            wait_for(lambda: bus.count("crc_errors") >= 2, 30, what="CRC errors counted")
            assert "crc_errors" not in diag.values()
            wait_for(lambda: diag.level() == DiagnosticStatus.ERROR, 30, what="offline")
            sim.set("meter", "voltage", 229.0)
            sim.corrupt = False
            wait_for(lambda: near(volts, 229.0, tol=1e-5), 30, what="voltage after recovery")
            wait_for(lambda: diag.level() == DiagnosticStatus.OK, 30, what="online again")

            # the meter stops answering on the line, then comes back
            offline = diag.count("went_offline")
            sim.mute = True
            wait_for(lambda: diag.count("went_offline") > offline, 30, what="meter offline")
            assert diag.level() == DiagnosticStatus.ERROR
            sim.set("meter", "voltage", 232.5)
            sim.mute = False
            wait_for(lambda: near(volts, 232.5, tol=1e-5), 30, what="voltage after silence")
            assert bridge.running()
        finally:
            sim.stop()
    finally:
        cable.close()


def test_failed_write_is_reported_and_not_retried(procs, ros, tmp_path):
    """The device refuses a write (exception 4): logged as an error naming the point and the
    value, counted in diagnostics (WARN), sent exactly once; polling goes on."""
    port = free_port()
    doc = plc_map(port)
    sim = SimulatedBus(parse(doc).devices, tcp=("127.0.0.1", port)).start()
    try:
        sim.fail[(6, 0)] = 4  # write single register to the setpoint: server device failure
        diag = Diag(ros, "plc")
        sp = ros.collect(Float64, "plc/setpoint")
        bridge = start_bridge(procs, write_map(tmp_path, doc))
        wait_for(lambda: sp, 60, what="setpoint polled")
        cmd = ros.publisher(Float64, "plc/setpoint/cmd", Q.COMMANDS)
        ros.wait_subscribers(cmd)
        cmd.publish(Float64(data=21.0))  # reliable, matched: delivered once
        out = bridge.wait_output("failed (not retried)", timeout=30)
        line = next(ln for ln in out.splitlines() if "failed (not retried)" in ln)
        assert "write plc/setpoint = 21.0 failed" in line and "ERROR" in line
        wait_for(lambda: diag.count("writes_failed") == 1, 30, what="failed write counted")
        assert diag.count("writes_ok") == 0
        # polling goes on; the write is never sent again
        polls = diag.count("answered")
        wait_for(lambda: diag.count("answered") > polls + 20, 30, what="polling after it")
        assert sim.seen[(6, 0)] == 1 and sim.get_raw(1, 3, 0, 1) == [0]
        assert diag.count("writes_failed") == 1 and bridge.running()
    finally:
        sim.stop()


def test_on_change_deadband_and_heartbeat(procs, ros, tmp_path):
    """publish: on_change: a value is published once, again when it changes beyond the
    deadband, and after max_period as a heartbeat; every_poll points beside it keep coming."""
    port = free_port()
    doc = plc_map(port, poll_rate=50.0, publish="on_change", max_period=0.0)
    pts = doc["devices"][0]["points"]
    pts[0]["deadband"] = 1.0  # temperature (scale 0.1)
    pts[3]["publish"] = "every_poll"  # swapped: the poll counter of the same read
    pts[2]["max_period"] = 0.2  # cycles: heartbeat
    sim = SimulatedBus(parse(doc).devices, tcp=("127.0.0.1", port)).start()
    try:
        sim.set("plc", "temperature", 20.0)
        temps = ros.collect(Temperature, "plc/temperature")
        swapped = ros.collect(Float64, "plc/swapped")
        cycles = ros.collect(Int64, "plc/cycles")
        diag = Diag(ros, "plc")
        start_bridge(procs, write_map(tmp_path, doc))

        def polls_later(n):
            k = len(swapped)
            wait_for(lambda: len(swapped) >= k + n, 30, what=f"{n} more polls")

        wait_for(lambda: temps and len(swapped) >= 5, 60, what="first values")
        polls_later(20)
        # once, or twice if our subscription matched after the first publish (a new
        # subscriber gets the current value again); no heartbeat (max_period 0)
        n = len(temps)
        assert n in (1, 2) and all(m.temperature == pytest.approx(20.0) for m in temps)
        polls_later(20)
        assert len(temps) == n
        sim.set("plc", "temperature", 20.5)  # within the deadband: not published
        polls_later(20)
        assert len(temps) == n
        sim.set("plc", "temperature", 21.5)  # 1.5 from the last published: published
        wait_for(lambda: len(temps) == n + 1, 30, what="the change published")
        assert temps[-1].temperature == pytest.approx(21.5) and temps[-1].header.frame_id
        polls_later(20)
        assert len(temps) == n + 1
        # a subscriber that joins now gets the current value although it does not change
        late = ros.collect(Temperature, "plc/temperature")
        wait_for(lambda: late, 30, what="the value for a late subscriber")
        assert late[0].temperature == pytest.approx(21.5)
        # the device goes offline and comes back with the same value: published again at once
        k = len(temps)
        sim.mute = True
        wait_for(lambda: diag.level() == DiagnosticStatus.ERROR, 30, what="device offline")
        sim.mute = False
        wait_for(lambda: len(temps) > k, 30, what="the value after the device came back")
        assert temps[-1].temperature == pytest.approx(21.5)
        # the heartbeat point keeps coming although it never changes
        wait_for(lambda: len(cycles) >= 4, 30, what="heartbeats")
        assert {m.data for m in cycles} == {0}
        # diagnostics count what was published: far less than polled x points
        wait_for(lambda: diag.count("published") > 0, 30, what="published counted")
        assert diag.count("published") < diag.count("answered") * 7
    finally:
        sim.stop()


def test_bad_map_stops_the_node_with_one_line(procs, tmp_path):
    doc = plc_map(5020)
    doc["devices"][0]["points"][1]["address"] = 1  # float32 at 1..2 overlaps int16 at 0?
    doc["devices"][0]["points"][0]["type"] = "float32"  # temperature now 0..1 -> overlap
    p = start_bridge(procs, write_map(tmp_path, doc))
    assert p.wait(30) == 2
    lines = [ln for ln in p.output().splitlines() if "configuration error" in ln]
    assert len(lines) == 1
    assert (
        "devices[0] 'plc' points[1] 'battery': input_register 1..2 (unit 1) overlaps point "
        "'plc/temperature' (0..1)" in lines[0]
    )


def test_launch_file_with_the_simulated_device(procs, ros, tmp_path):
    """launch/modbus.launch.yaml with sim:=true: modbus_sim serves the map, the bridge polls it,
    in a namespace; commands round-trip through the simulated device."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    doc = plc_map(free_port(), poll_rate=5.0)
    path = write_map(tmp_path, doc)
    launch = procs.start(
        [
            "edgebot",
            "launch",
            str(root / "launch" / "modbus.launch.yaml"),
            f"map:={path}",
            "sim:=true",
            "namespace:=plant1",
        ],
        name="edgebot-launch",
    )
    pump = ros.collect(Bool, "/plant1/plc/pump")
    temps = ros.collect(Temperature, "/plant1/plc/temperature")
    try:
        wait_for(lambda: pump and temps, 60, what="topics of the launched bridge")
    except TimeoutError as e:
        raise AssertionError(f"{e}; launch output:\n{launch.output()[-4000:]}") from None
    assert temps[-1].temperature == 0.0 and pump[-1].data is False
    cmd = ros.publisher(Bool, "/plant1/plc/pump/cmd", Q.COMMANDS)
    ros.wait_subscribers(cmd)
    stream_until(
        cmd, Bool(data=True), lambda: pump[-1].data is True, "pump on through the simulated device"
    )
    assert launch.running()


def test_modbus_sim_command_serves_a_map_over_rtu_on_a_pty(procs, tmp_path):
    """`edgebot modbus-sim` with an RTU map: a pty linked at the map's port, initial values,
    read with a plain pymodbus client (as any Modbus master would)."""
    from pymodbus.client import ModbusSerialClient

    from edgebot_modbus import codec

    link = str(tmp_path / "ttyMETER")
    path = write_map(tmp_path, meter_map(link))
    sim = procs.start(
        ["edgebot", "modbus-sim", "--map", path, "--set", "meter/voltage=231.5"], name="modbus-sim"
    )
    sim.wait_output("serving", timeout=30)
    c = ModbusSerialClient(link, baudrate=115200, timeout=1.0)
    try:
        assert c.connect()
        regs = c.read_input_registers(0, count=2, device_id=1).registers
        assert codec.decode(regs, "float32") == pytest.approx(231.5)
        assert c.read_input_registers(500, count=1, device_id=1).isError()  # not in the map
    finally:
        c.close()
    # a terminal Ctrl-C under ros2 launch: SIGINT, launch's second SIGINT, then SIGTERM
    for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
        sim.signal(sig)
        time.sleep(0.05)
    assert sim.wait(timeout=30) == 0, sim.output()[-2000:]
    assert "Traceback" not in sim.output()
    assert not os.path.lexists(link)  # the pty link is removed
