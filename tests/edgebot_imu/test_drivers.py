"""Register-level driver tests: the MPU-6050 and BNO055 drivers against the register models,
in process (LocalBus) and over the virtual IMU's TCP transport."""

import errno
import math
import struct

import pytest

from edgebot_imu import bno055 as B
from edgebot_imu import mpu6050 as M
from edgebot_imu.bus import BusSpecError, TcpBus, bus_label, open_bus, parse_bus_spec
from edgebot_imu.motion import make_trajectory
from edgebot_imu.sample import GRAVITY, DeviceIdError
from edgebot_imu.virtual_imu import LocalBus, VirtualImuServer, make_model


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def no_sleep(_):
    pass


@pytest.mark.parametrize("g_range,a_range", [(250, 2), (500, 4), (1000, 8), (2000, 16)])
def test_mpu6050_scaling_and_ranges(g_range, a_range):
    clock = Clock()
    model = make_model("mpu6050", clock=clock, noise=False)
    model.motion.set(accel=(1.5, -2.0, GRAVITY), gyro=(0.5, -1.0, 2.0))
    drv = M.Mpu6050(
        LocalBus(model),
        gyro_range_dps=g_range,
        accel_range_g=a_range,
        dlpf_cfg=3,
        rate_hz=200,
        sleep=no_sleep,
    )
    drv.configure()
    assert model.regs[M.GYRO_CONFIG] == M.GYRO_RANGES[g_range] << 3
    assert model.regs[M.ACCEL_CONFIG] == M.ACCEL_RANGES[a_range] << 3
    assert model.regs[M.PWR_MGMT_1] == 0x01 and model.regs[M.CONFIG] == 3
    clock.t += 0.01
    s = drv.read()
    lsb_a = GRAVITY / M.ACCEL_LSB_PER_G[a_range]
    lsb_g = math.radians(1) / M.GYRO_LSB_PER_DPS[g_range]
    for got, want in zip(s.accel, (1.5, -2.0, GRAVITY)):
        assert abs(got - want) <= lsb_a
    want_g = [min(v, math.radians(g_range)) for v in (0.5, -1.0, 2.0)]
    want_g = [max(-math.radians(g_range), v) for v in want_g]
    for got, want in zip(s.gyro, want_g):
        assert abs(got - want) <= max(lsb_g, 0.01 * abs(want))  # saturates at full scale
    assert 20.0 < s.temperature < 30.0


def test_mpu6050_raw_register_decoding():
    """Known register bytes -> SI values (datasheet sensitivities, big-endian, temp formula)."""
    drv = M.Mpu6050(None, gyro_range_dps=250, accel_range_g=2)
    raw = struct.pack(">7h", 16384, -8192, 0, 0, 131, -262, 13100)
    s = drv.decode(list(raw))
    assert s.accel == pytest.approx((GRAVITY, -GRAVITY / 2, 0.0))
    assert s.gyro == pytest.approx((math.radians(1), math.radians(-2), math.radians(100)), rel=1e-3)
    assert s.temperature == pytest.approx(36.53)


def test_mpu6050_sample_rate_divider_and_dlpf():
    assert M.sample_rate_hz(3, M.divider_for(200, 3)) == 200.0
    assert M.sample_rate_hz(1, M.divider_for(500, 1)) == 500.0
    assert M.dlpf_for_rate(200) == 2  # 98 Hz >= Nyquist of 200 Hz
    assert M.dlpf_for_rate(50) == 4
    clock = Clock()
    model = make_model("mpu6050", clock=clock, noise=False)
    drv = M.Mpu6050(LocalBus(model), rate_hz=100, dlpf_cfg=3, sleep=no_sleep)
    drv.configure()
    assert model.regs[M.SMPLRT_DIV] == 9 and model.sample_rate == 100.0
    # within one sample period the registers hold the same sample
    clock.t = 1.0
    drv.read()
    n = model.samples
    clock.t = 1.004
    drv.read()
    assert model.samples == n
    clock.t = 1.011
    drv.read()
    assert model.samples == n + 1


def test_mpu6050_wrong_who_am_i_names_bus_address_expected_and_read():
    model = make_model("bno055", address=0x68, noise=False)  # a different chip at 0x68
    drv = M.Mpu6050(LocalBus(model), bus_name="/dev/i2c-1", sleep=no_sleep)
    with pytest.raises(DeviceIdError) as e:
        drv.configure()
    text = str(e.value)
    assert "/dev/i2c-1" in text and "0x68" in text and "0x00" in text and "0x75" in text


def test_mpu6050_wrong_address_is_a_nack():
    model = make_model("mpu6050", noise=False)
    drv = M.Mpu6050(LocalBus(model), address=0x69, sleep=no_sleep)
    with pytest.raises(OSError) as e:
        drv.probe()
    assert e.value.errno == errno.EREMOTEIO


def test_mpu6050_asleep_until_configured_and_reset_restores_power_on_values():
    clock = Clock()
    model = make_model("mpu6050", clock=clock, noise=False)
    bus = LocalBus(model)
    assert bus.read_byte_data(0x68, M.PWR_MGMT_1) == M.PWR_SLEEP
    clock.t = 0.5
    assert bus.read_i2c_block_data(0x68, M.ACCEL_XOUT_H, 14) == [0] * 14  # asleep: no data
    drv = M.Mpu6050(bus, sleep=no_sleep)
    drv.configure()
    bus.write_byte_data(0x68, M.PWR_MGMT_1, M.PWR_RESET)
    assert bus.read_byte_data(0x68, M.PWR_MGMT_1) == M.PWR_SLEEP
    assert bus.read_byte_data(0x68, M.GYRO_CONFIG) == 0


def test_bno055_configure_units_mode_and_fused_quaternion():
    clock = Clock()
    traj = make_trajectory("static", roll_deg=20, pitch_deg=-10, yaw_deg=30)
    model = make_model("bno055", motion=traj, clock=clock, noise=False)
    drv = B.Bno055(LocalBus(model), mode="ndof", sleep=no_sleep)
    drv.configure()
    assert model.regs[B.UNIT_SEL] == B.UNIT_SEL_VALUE
    assert model.regs[B.OPR_MODE] == B.MODES["ndof"]
    clock.t = 0.1
    s = drv.read()
    q_true = traj.orientation(0.1)
    dot = abs(sum(a * b for a, b in zip(s.orientation, q_true)))
    assert dot > 0.99999
    grav_body = (-GRAVITY * math.sin(math.radians(-10)), 0, 0)
    assert s.accel[0] == pytest.approx(grav_body[0], abs=0.011)
    assert math.sqrt(sum(a * a for a in s.accel)) == pytest.approx(GRAVITY, abs=0.02)
    assert s.gyro == pytest.approx((0, 0, 0), abs=1.5 / 900)
    temp, cal = drv.read_status()
    assert temp == 25.0 and cal == (0, 0, 0, 0)


def test_bno055_raw_decoding_little_endian():
    drv = B.Bno055(None)
    raw = struct.pack("<16h", 981, -100, 50, 0, 0, 0, 900, -450, 0, 0, 0, 0, 16384, 0, 0, 0)
    s = drv.decode(list(raw))
    assert s.accel == pytest.approx((9.81, -1.0, 0.5))
    assert s.gyro == pytest.approx((1.0, -0.5, 0.0))
    assert s.orientation == (1.0, 0.0, 0.0, 0.0)
    assert B.decode_calib_status(0b11100100) == (3, 2, 1, 0)


def test_bno055_wrong_chip_id():
    model = make_model("mpu6050", address=0x28, noise=False)
    with pytest.raises(DeviceIdError) as e:
        B.Bno055(LocalBus(model), bus_name="tcp://x:1", sleep=no_sleep).configure()
    assert "0xa0" in str(e.value) and "0x28" in str(e.value)


def test_bno055_offsets_only_in_config_mode_and_read_back():
    clock = Clock()
    model = make_model("bno055", clock=clock, seed=3)
    bus = LocalBus(model)
    drv = B.Bno055(bus, sleep=no_sleep)
    drv.configure()
    offs = list(range(1, 23))
    bus.write_i2c_block_data(0x28, B.OFFSETS, offs)  # ignored outside CONFIG mode
    assert drv.read_offsets() != offs
    drv.write_offsets(offs)
    assert drv.read_offsets() == offs
    assert model.regs[B.OPR_MODE] == B.MODES["imu"]
    # offsets given at configure time are written in CONFIG mode and verified
    model2 = make_model("bno055", clock=clock, seed=3)
    B.Bno055(LocalBus(model2), offsets=offs, sleep=no_sleep).configure()
    assert list(model2.regs[B.OFFSETS : B.OFFSETS + 22]) == offs


def test_bno055_self_calibration_learns_the_bias():
    clock = Clock()
    model = make_model("bno055", clock=clock, seed=5)
    drv = B.Bno055(LocalBus(model), sleep=no_sleep)
    drv.configure()
    for i in range(300):
        clock.t = i * 0.01
        drv.read()
    assert drv.read_status()[1] == (3, 3, 3, 3)
    gyro = [0.0, 0.0, 0.0]
    for i in range(300, 400):
        clock.t = i * 0.01
        s = drv.read()
        gyro = [g + v / 100 for g, v in zip(gyro, s.gyro)]
    assert max(abs(g) for g in gyro) < math.radians(0.1)


def test_bus_spec_parsing():
    assert parse_bus_spec(1) == ("smbus", 1)
    assert parse_bus_spec("/dev/i2c-3") == ("smbus", 3)
    assert parse_bus_spec("tcp://127.0.0.1:4000") == ("tcp", "127.0.0.1", 4000)
    assert bus_label("/dev/i2c-1") == "i2c-1"
    for bad in ("i2c1", "tcp://host", "/dev/ttyUSB0", "tcp://h:99999"):
        with pytest.raises(BusSpecError):
            parse_bus_spec(bad)


def test_missing_linux_bus_is_an_oserror():
    with pytest.raises(OSError):
        open_bus("/dev/i2c-97")


def test_tcp_bus_round_trip_errors_and_reconnect():
    with VirtualImuServer(chip="mpu6050", seed=1, noise=False) as srv:
        spec = srv.start()
        bus = open_bus(spec)
        assert isinstance(bus, TcpBus)
        drv = M.Mpu6050(bus, bus_name=spec)
        drv.configure()
        srv.set_motion(accel=(0.0, 0.0, GRAVITY), gyro=(0.0, 0.0, 0.3))
        import time

        time.sleep(0.02)
        s = drv.read()
        assert s.gyro[2] == pytest.approx(0.3, abs=0.002)
        srv.inject_errors(2)
        for _ in range(2):
            with pytest.raises(OSError) as e:
                drv.read()
            assert e.value.errno == errno.EIO
        drv.read()
        srv.set_present(False)
        with pytest.raises(OSError) as e:
            drv.read()
        assert e.value.errno == errno.EREMOTEIO
        srv.set_present(True)
        drv.read()
        with pytest.raises(OSError):
            bus.read_byte_data(0x69, M.WHO_AM_I)  # nobody at 0x69: NACK
        bus.close()
        assert drv.probe() == 0x68  # reconnects on the next call
        bus.close()


def test_tcp_bus_connection_refused_then_server_appears():
    from edgebot_testing import free_port

    port = free_port()
    bus = open_bus(f"tcp://127.0.0.1:{port}")
    with pytest.raises(OSError):
        bus.read_byte_data(0x68, M.WHO_AM_I)
    with VirtualImuServer(chip="mpu6050", noise=False) as srv:
        srv.start(port=port)
        assert bus.read_byte_data(0x68, M.WHO_AM_I) == 0x68
    bus.close()


def test_mpu6050_fifo_returns_every_sample_in_order_and_detects_overflow():
    clock = Clock()
    model = make_model("mpu6050", clock=clock, noise=False)
    drv = M.Mpu6050(LocalBus(model), rate_hz=500, dlpf_cfg=1, sleep=no_sleep)
    drv.configure()
    drv.enable_fifo()
    assert model.regs[M.FIFO_EN] == M.FIFO_EN_ALL
    clock.t = 1.0
    drv.read_fifo()  # starts the sample clock
    got = []
    for step in range(10):  # 20 ms between polls: 10 samples each
        model.motion.set(accel=(0.0, 0.0, GRAVITY), gyro=(0.0, 0.0, 0.1 * step))
        clock.t += 0.02
        samples, overflow = drv.read_fifo()
        assert not overflow
        assert len(samples) == 10
        got += [s.gyro[2] for s in samples]
    assert len(got) == 100
    # the host waits too long: 0.5 s = 250 samples > 73 that fit -> overflow, FIFO reset
    clock.t += 0.5
    samples, overflow = drv.read_fifo()
    assert overflow and samples == []
    clock.t += 0.01
    samples, overflow = drv.read_fifo()
    assert not overflow and 4 <= len(samples) <= 6
    assert all(abs(s.accel[2] - GRAVITY) < 0.01 for s in samples)  # aligned after the reset


def test_bno055_fused_output_follows_orientation_pushed_by_a_simulator():
    """The simulator pushes the rigid body's state with set_motion(..., orientation=q)."""
    from edgebot_imu import quat as Q

    with VirtualImuServer(chip="bno055", seed=2, noise=False) as srv:
        bus = open_bus(srv.start())
        drv = B.Bno055(bus, mode="ndof")
        drv.configure()
        q = Q.from_euler(0.3, -0.2, 1.1)
        srv.set_motion(
            accel=Q.rotate_inv(q, (0.0, 0.0, GRAVITY)), gyro=(0.0, 0.0, 0.2), orientation=q
        )
        import time

        time.sleep(0.03)
        s = drv.read()
        assert Q.angle_deg(s.orientation, q) < 0.1
        assert s.gyro[2] == pytest.approx(0.2, abs=2 / 900)
        # without an orientation the model integrates the pushed rate
        srv.set_motion(accel=(0.0, 0.0, GRAVITY), gyro=(0.0, 0.0, 1.0))
        time.sleep(0.3)
        s2 = drv.read()
        assert Q.angle_deg(s2.orientation, q) > 5.0
        bus.close()
