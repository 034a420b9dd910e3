"""imu_node's ROS-free parts without processes: the device + supervisor + read loop against an
in-process virtual IMU (real TCP bus), the deadlines, the error mapping, the calibrator."""

import errno
import threading

import pytest

from edgebot_imu import mpu6050 as M
from edgebot_imu.bus import open_bus
from edgebot_imu.calibrate import Calibrator
from edgebot_imu.core import RetryingReader
from edgebot_imu.device import ImuDevice, describe_error
from edgebot_imu.node_config import SPECS, build_chain
from edgebot_imu.read_loop import Deadlines, ImuReadLoop
from edgebot_imu.sample import GRAVITY, DeviceConfigError, DeviceIdError
from edgebot_imu.virtual_imu import VirtualImuServer
from edgebot_testing import wait_for

T = 30.0


def params(**kw):
    p = {s.name: s.default for s in SPECS}
    p.update(kw)
    return p


def test_describe_error_maps_bus_config_and_identity_errors():
    assert describe_error(OSError(errno.EREMOTEIO, "Remote I/O error")).startswith("EREMOTEIO: ")
    assert (
        describe_error(DeviceConfigError("PWR_MGMT_1 reads 0x40"))
        == "config: PWR_MGMT_1 reads 0x40"
    )
    wrong = DeviceIdError("mpu6050", "1", 0x68, 0x75, 0x68, 0x70)
    assert describe_error(wrong) == str(wrong) and "reads 0x70, expected 0x68" in str(wrong)


def test_deadlines_hold_the_rate_and_do_not_burst_after_a_stall():
    now = [0.0]
    waits = []
    d = Deadlines(lambda: now[0])
    d.wait_next(0.01, waits.append)
    assert waits == [0.01]
    now[0] = 0.5  # stalled for half a second
    d.wait_next(0.01, waits.append)
    assert d.next_t == 0.5 and len(waits) == 1  # no catch-up burst, restart from now
    now[0] = 0.505
    d.wait_next(0.01, waits.append)
    assert waits[-1] == pytest.approx(0.005)


@pytest.mark.parametrize("use_fifo", [False, True])
def test_read_loop_publishes_survives_an_unplug_reconnects_and_reconfigures(tmp_path, use_fifo):
    with VirtualImuServer(chip="mpu6050", seed=3, noise=False) as srv:
        spec = srv.start()
        srv.set_motion(accel=(0.0, 0.0, GRAVITY), gyro=(0.0, 0.0, 0.25))
        p = params(publish_rate=200.0, **{"mpu6050.use_fifo": use_fifo})
        logs = []
        calib = Calibrator(
            "mpu6050", str(tmp_path / "cal.yaml"), logs.append, logs.append, logs.append
        )
        chain = calib.chain = build_chain(
            p, "mpu6050", calib.cal, logs.append, logs.append, logs.append
        )
        dev = ImuDevice("mpu6050", spec, 0x68, p, use_fifo=use_fifo)
        events = []
        sup = dev.supervisor(
            on_up=lambda r: events.append(("up", r)),
            on_down=lambda why, d: events.append(("down", why)),
            on_reset=lambda: events.append(("reset",)),
        )
        sup.connect_at_start(5.0)
        out = []
        stop = threading.Event()
        loop = ImuReadLoop(
            dev,
            sup,
            chain.proc,
            RetryingReader(1),
            p["publish_rate"],
            1.0,
            emit=lambda stamp, o, raw: out.append((stamp, o)),
            stamp=lambda: 0,
            now_ns=lambda: 10**12,
            stamp_ns=lambda ns: ns,
            stop=stop,
        )
        th = threading.Thread(target=loop.run, daemon=True)
        th.start()
        try:
            calib.start(50)  # start-up gyro bias from still samples
            wait_for(lambda: len(out) >= 100, T, what="samples")
            assert all(abs(o.sample.accel[2] - GRAVITY) < 0.05 for _, o in out[-20:])
            if use_fifo:  # dated back from the read by the chip clock
                assert any(s < 10**12 for s, _ in out)
            srv.set_present(False)  # unplugged: NACKs
            # the supervisor says "down" before its on_down callback runs, and a reopen that
            # fails meanwhile rewrites last_error: wait for the event, then check its reason
            down = wait_for(
                lambda: next((e for e in events if e[0] == "down"), None), T, what="device lost"
            )
            assert "EREMOTEIO" in down[1] and sup.state == "down"
            n = len(out)
            srv.set_present(True)
            wait_for(
                lambda: sup.reconnects >= 1 and len(out) >= n + 50,
                T,
                what="samples after the reconnect",
            )
            assert ("up", True) in events and sup.connected
            # a brown-out the bus never saw: the chip wakes up asleep, unconfigured
            other = open_bus(spec)
            other.write_byte_data(0x68, M.PWR_MGMT_1, M.PWR_RESET)
            wait_for(lambda: ("reset",) in events, T, what="the reset noticed and undone")
            n = len(out)
            wait_for(lambda: len(out) >= n + 50, T, what="samples after the chip reset itself")
            assert sup.resets == 1 and sup.connected and sup.reconnects == 1
            assert other.read_byte_data(0x68, M.PWR_MGMT_1) == M.CLKSEL_PLL_XGYRO
            other.close()
        finally:
            stop.set()
            th.join(5.0)
            dev.close()
        assert not th.is_alive()


def test_calibrator_answers_and_saves(tmp_path):
    logs = []
    p = params()
    calib = Calibrator("bno055", str(tmp_path / "bno.yaml"), logs.append, logs.append, logs.append)
    calib.chain = build_chain(p, "bno055", calib.cal, logs.append, logs.append, logs.append)
    ok, msg = calib.request(10, 1.0, (0, 1, 3, 0), lambda: [1] * 22)
    assert not ok and "has not calibrated itself yet" in msg
    ok, msg = calib.request(10, 1.0, (3, 3, 3, 3), lambda: list(range(22)))
    assert ok and msg.startswith(f"saved {tmp_path / 'bno.yaml'}")
    assert calib.cal.bno055_offsets == list(range(22)) and calib.source.startswith("file ")

    def broken():
        raise OSError(errno.EIO, "EIO")

    ok, msg = calib.request(10, 1.0, (3, 3, 3, 3), broken)
    assert not ok and msg.startswith("reading offsets failed")


def test_connection_status_levels_and_counters():
    from edgebot_common.backoff import Backoff
    from edgebot_common.supervisor import DeviceSupervisor
    from edgebot_imu.status import connection_status

    sup = DeviceSupervisor(lambda: None, Backoff(0.1, 1.0))
    sup.connect_at_start(1.0)
    reader = RetryingReader(1)
    assert connection_status("1", 0x68, sup, reader)[:2] == ("ok", "connected")

    def flaky(n=[0]):
        n[0] += 1
        if n[0] == 1:
            raise OSError(errno.EREMOTEIO, "NACK")
        return 1

    reader.call(flaky)  # retried and recovered
    level, msg, values = connection_status("1", 0x68, sup, reader)
    assert (level, msg) == ("ok", "connected (bus errors seen)")
    assert values["bus_errors.EREMOTEIO"] == 1 and values["address"] == "0x68"
    sup.lost("EREMOTEIO: gone")
    level, msg, values = connection_status("1", 0x68, sup, reader)
    assert (level, msg) == ("error", "device lost: EREMOTEIO: gone")
    assert values["chip_resets"] == 0 and values["reconnects"] == 0
