"""imu_node in its own process against the virtual IMU (served from this test process over
TCP), real rclpy/DDS between them."""

import math
import os
import random
import time

import yaml
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Imu, Temperature
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_imu import quat as Q
from edgebot_imu.motion import make_trajectory
from edgebot_imu.virtual_imu import VirtualImuServer
from edgebot_testing import wait_for

START = 60.0  # generous: a loaded 2-core machine
# A namespace of our own: other developers' sessions on this host may draw the same random
# ROS_DOMAIN_ID, and their imu_node / sim publish imu/data too.
NS = f"/imutest{os.getpid()}x{random.randint(0, 99999)}"


def start_node(procs, spec, tmp_path, **params):
    p = {"bus": spec, "calibration.file": str(tmp_path / "imu_cal.yaml"), "publish_rate": 100.0}
    p.update(params)
    return procs.node(
        "edgebot_imu", "imu_node", "-r", f"__ns:={NS}", "-r", f"/clock:={NS}/clock", params=p
    )


def diag_values(msgs, name_part, hw=""):
    for m in reversed(list(msgs)):
        for st in m.status:
            if name_part in st.name and st.name.startswith("imu_node") and hw in st.hardware_id:
                return st, {kv.key: kv.value for kv in st.values}
    return None, {}


def q_of(m):
    return (m.orientation.w, m.orientation.x, m.orientation.y, m.orientation.z)


def test_publishes_raw_and_fused_static_tilt_and_temperature(procs, ros, tmp_path):
    traj = make_trajectory("static", roll_deg=10.0, pitch_deg=-5.0)
    with VirtualImuServer(chip="mpu6050", seed=1, noise=False, motion=traj) as srv:
        spec = srv.start()
        node = start_node(procs, spec, tmp_path)
        raw = ros.collect(Imu, NS + "/imu/data_raw", qos.SENSOR_DATA)
        data = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
        temp = ros.collect(Temperature, NS + "/imu/temperature", qos.SENSOR_DATA)
        wait_for(
            lambda: len(data) > 50 and raw and temp,
            START,
            what="imu/data, imu/data_raw and temperature",
        )
        assert "edgebot_rt" in node.output(), node.output()
        m = data[-1]
        assert m.header.frame_id == "imu_link" and raw[-1].header.frame_id == "imu_link"
        assert raw[-1].orientation_covariance[0] == -1.0
        assert m.orientation_covariance[0] > 0
        tilt = Q.tilt_deg(q_of(m), traj.orientation(0))
        assert tilt <= 0.5, (tilt, q_of(m), node.output()[-2000:])
        norm = math.sqrt(
            sum(
                v * v
                for v in (m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z)
            )
        )
        assert abs(norm - 9.80665) < 0.05, norm
        assert 20.0 < temp[-1].temperature < 30.0, temp[-1].temperature
        # stamps are taken at read time and increase
        stamps = [x.header.stamp.sec + x.header.stamp.nanosec * 1e-9 for x in list(data)[-20:]]
        assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps


def test_wrong_who_am_i_stops_with_a_clear_message(procs, tmp_path):
    with VirtualImuServer(chip="bno055", address=0x68, noise=False) as srv:
        spec = srv.start()
        node = start_node(procs, spec, tmp_path)  # told it is an MPU-6050
        assert node.wait(START) == 2
        out = node.output()
        assert "configuration error" in out and spec in out and "0x68" in out
        assert "expected 0x68" in out and "reads 0xa0" not in out  # WHO_AM_I of a BNO is 0x00
        assert "reads 0x00" in out


def test_wrong_address_and_bad_bus_parameter(procs, tmp_path):
    with VirtualImuServer(chip="mpu6050", noise=False) as srv:
        spec = srv.start()
        node = start_node(procs, spec, tmp_path, address=0x69, startup_timeout=1.0)
        assert node.wait(START) == 2
        assert "0x69" in node.output() and "EREMOTEIO" in node.output()
    bad = start_node(procs, "i2c-one", tmp_path)
    assert bad.wait(START) == 2
    assert "parameter 'bus'" in bad.output()
    fast = start_node(procs, "tcp://127.0.0.1:1", tmp_path, chip="bno055", publish_rate=500.0)
    assert fast.wait(START) == 2
    assert "publish_rate" in fast.output() and "100" in fast.output()


def test_calibrate_saves_and_next_start_applies_offsets(procs, ros, tmp_path):
    cal_file = tmp_path / "imu_cal.yaml"
    with VirtualImuServer(chip="mpu6050", seed=7, noise=True) as srv:
        spec = srv.start()
        srv.set_motion(accel=(0.0, 0.0, 9.80665), gyro=(0.0, 0.0, 0.0))
        node = start_node(
            procs,
            spec,
            tmp_path,
            **{"calibration.at_start": False, "bias_estimation.enabled": False},
        )
        raw = ros.collect(Imu, NS + "/imu/data_raw", qos.SENSOR_DATA)
        wait_for(lambda: len(raw) > 20, START, what="imu/data_raw")
        # uncalibrated: the chip's bias shows
        assert (
            max(
                abs(raw[-1].angular_velocity.x),
                abs(raw[-1].angular_velocity.y),
                abs(raw[-1].angular_velocity.z),
            )
            > 0.005
        )
        # while turning the service refuses and says so
        srv.set_motion(accel=(0.0, 0.0, 9.80665), gyro=(0.0, 0.0, 0.6 + 0.0))
        srv.model.motion = make_trajectory("rotate", lead_in=0.0)
        srv.model.t0 = time.monotonic()
        r = ros.call(Trigger, NS + "/imu/calibrate", Trigger.Request(), timeout=START)
        assert not r.success and ("moving" in r.message or "turning" in r.message), r.message
        assert not cal_file.exists()
        srv.set_motion(accel=(0.0, 0.0, 9.80665), gyro=(0.0, 0.0, 0.0))
        # still again: wait until the node's samples say so (on a loaded machine samples of
        # the turn can still be on their way when the service is called: "robot is moving")
        n = len(raw)
        wait_for(
            lambda: len(raw) > n + 30 and all(abs(m.angular_velocity.z) < 0.1 for m in raw[-20:]),
            START,
            what="still samples after the turn",
        )
        r = ros.call(Trigger, NS + "/imu/calibrate", Trigger.Request(), timeout=START)
        assert r.success, r.message
        saved = yaml.safe_load(cal_file.read_text())
        bias = srv.model.gyro_bias
        for got, want in zip(saved["gyro_bias"], bias):
            assert abs(got - want) < 0.002
        for got, want in zip(saved["accel_offset"], srv.model.accel_bias):
            assert abs(got - want) < 0.03
        node.stop()
        # restart: offsets loaded from the file and applied, no start-up calibration
        node2 = start_node(
            procs,
            spec,
            tmp_path,
            **{"calibration.at_start": False, "bias_estimation.enabled": False},
        )
        raw2 = ros.collect(Imu, NS + "/imu/data_raw", qos.SENSOR_DATA)
        wait_for(lambda: len(raw2) > 100, START, what="imu/data_raw after restart")
        assert "loaded calibration" in node2.output()
        last = raw2[-100:]
        for axis in "xyz":
            mean = sum(getattr(m.angular_velocity, axis) for m in last) / len(last)
            assert abs(mean) < 0.002, (axis, mean)
        mean_acc = [sum(getattr(m.linear_acceleration, a) for m in last) / len(last) for a in "xyz"]
        assert abs(mean_acc[0]) < 0.05 and abs(mean_acc[1]) < 0.05
        assert abs(mean_acc[2] - 9.80665) < 0.05


def test_start_calibration_refused_while_moving(procs, tmp_path):
    traj = make_trajectory("rotate", lead_in=0.0)
    with VirtualImuServer(chip="mpu6050", seed=2, noise=True, motion=traj) as srv:
        node = start_node(procs, srv.start(), tmp_path)
        node.wait_output("start-up gyro calibration refused", START)
        assert "moving" in node.output() or "turning" in node.output()


def test_spikes_dropped_and_bus_errors_retried_and_reported(procs, ros, tmp_path):
    with VirtualImuServer(chip="mpu6050", seed=3, noise=True) as srv:
        spec = srv.start()
        node = start_node(procs, spec, tmp_path, **{"i2c.retries": 3})
        data = ros.collect(Imu, NS + "/imu/data_raw", qos.SENSOR_DATA)
        diags = ros.collect(DiagnosticArray, "/diagnostics", qos.DIAGNOSTICS)
        wait_for(lambda: len(data) > 20, START, what="imu/data_raw")
        srv.inject_spikes(5)
        srv.inject_errors(2)  # within the retries: no sample lost for long
        wait_for(
            lambda: int(diag_values(diags, "data", spec)[1].get("dropped", 0)) >= 5,
            START,
            what="dropped spikes in diagnostics",
        )
        n_before = len(data)
        wait_for(lambda: len(data) > n_before + 20, START, what="data after spikes")
        # no spike made it out
        assert all(
            abs(m.linear_acceleration.x) < 5.0 and abs(m.angular_velocity.z) < 1.0 for m in data
        )
        # the errors are counted as they happen, the successful retry after them: a status
        # taken in between has EIO 2 and retried_ok 0, so wait for both
        wait_for(
            lambda: (
                int(diag_values(diags, "connection", spec)[1].get("bus_errors.EIO", 0)) >= 2
                and int(diag_values(diags, "connection", spec)[1].get("retried_ok", 0)) >= 1
            ),
            START,
            what="EIO counted and retried",
        )
        st, vals = diag_values(diags, "connection", spec)
        assert int(vals["retried_ok"]) >= 1 and vals["bus"] == spec
        # the device vanishes: the node keeps running, reports it, and recovers
        srv.set_present(False)
        wait_for(
            lambda: (diag_values(diags, "connection", spec)[0] or st).level == b"\x02",
            START,
            what="ERROR level while the device is gone",
        )
        assert "EREMOTEIO" in diag_values(diags, "connection", spec)[1]["last_error"]
        srv.set_present(True)
        n = len(data)
        wait_for(lambda: len(data) > n + 50, START, what="data after the device came back")
        wait_for(
            lambda: int(diag_values(diags, "connection", spec)[1].get("reconnects", 0)) >= 1,
            START,
            what="reconnect counted",
        )
        assert node.running()


def test_server_restart_mid_stream_recovers(procs, ros, tmp_path):
    srv = VirtualImuServer(chip="mpu6050", seed=4, noise=False)
    spec = srv.start()
    port = int(spec.rsplit(":", 1)[1])
    node = start_node(procs, spec, tmp_path)
    data = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
    try:
        wait_for(lambda: len(data) > 20, START, what="imu/data")
        srv.stop()  # the device vanishes (power cut: registers lost)
        time.sleep(1.0)
        assert node.running()
        srv = VirtualImuServer(chip="mpu6050", seed=4, noise=False)
        srv.start(port=port)  # ... and comes back asleep: the node re-initialises
        n = len(data)
        wait_for(lambda: len(data) > n + 50, START, what="data after restart")
        node.wait_output("device back", START)
    finally:
        srv.stop()


def test_bno055_orientation_from_chip_and_offsets_persist(procs, ros, tmp_path):
    traj = make_trajectory("static", roll_deg=-8.0, pitch_deg=4.0, yaw_deg=20.0)
    cal_file = tmp_path / "imu_cal.yaml"
    with VirtualImuServer(chip="bno055", seed=9, noise=True, motion=traj) as srv:
        spec = srv.start()
        node = start_node(procs, spec, tmp_path, chip="bno055", publish_rate=50.0)
        data = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
        wait_for(lambda: len(data) > 20, START, what="imu/data from the BNO055")
        assert Q.angle_deg(q_of(data[-1]), traj.orientation(0)) < 1.0

        # the chip calibrates itself after a few seconds at rest; then the service saves
        def calibrated():
            r = ros.call(Trigger, NS + "/imu/calibrate", Trigger.Request(), timeout=START)
            return r if r.success else None

        wait_for(calibrated, START, interval=1.0, what="BNO055 calibration saved")
        saved = yaml.safe_load(cal_file.read_text())["bno055_offsets"]
        assert saved == list(srv.model.regs[0x55 : 0x55 + 22])
        node.stop()
    with VirtualImuServer(chip="bno055", seed=9, noise=True, motion=traj) as srv2:
        start_node(procs, srv2.start(), tmp_path, chip="bno055", publish_rate=50.0)
        data2 = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
        wait_for(lambda: len(data2) > 5, START, what="imu/data after restart")
        assert list(srv2.model.regs[0x55 : 0x55 + 22]) == saved
        assert srv2.model.calibrated


def test_launch_file_runs_the_node_against_a_virtual_imu(procs, ros, tmp_path):
    """launch/imu.launch.yaml through `edgebot launch`, in a namespace, virtual IMU in another
    process started with `edgebot virtual-imu`."""
    from edgebot_testing import ROOT, free_port

    port = free_port()
    vimu = procs.start(
        ["edgebot", "virtual-imu", "--port", str(port), "--trajectory", "rotate", "--seed", "3"],
        name="virtual-imu",
    )
    vimu.wait_output(f"tcp://127.0.0.1:{port}", START)
    launch = procs.start(
        [
            "edgebot",
            "launch",
            str(ROOT / "launch" / "imu.launch.yaml"),
            f"bus:=tcp://127.0.0.1:{port}",
            f"namespace:={NS[1:]}",
            "publish_rate:=100.0",
            f"params_file:={ROOT / 'config' / 'imu.yaml'}",
            f"calibration_file:={tmp_path / 'cal.yaml'}",
        ],
        name="edgebot-launch",
    )
    data = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
    wait_for(lambda: len(data) > 100, START, what="namespaced imu/data from the launched node")
    # the rotate trajectory stands still for 3 s after the virtual IMU starts (start calibration),
    # then spins up to 45 deg/s: the launched node must report the spin once it begins
    wait_for(
        lambda: max(abs(m.angular_velocity.z) for m in data[-50:]) > 0.3,
        START,
        what="the rotation (45 deg/s about z) in imu/data",
    )
    launch.stop()
    assert not launch.running()


def test_stamps_follow_sim_time(procs, ros, tmp_path):
    from rosgraph_msgs.msg import Clock as ClockMsg

    with VirtualImuServer(chip="mpu6050", seed=5, noise=False) as srv:
        node = start_node(procs, srv.start(), tmp_path, use_sim_time=True)
        data = ros.collect(Imu, NS + "/imu/data_raw", qos.SENSOR_DATA)
        clock = ros.publisher(ClockMsg, NS + "/clock", qos.CLOCK)

        def tick():
            m = ClockMsg()
            m.clock.sec = 5000
            clock.publish(m)
            return any(x.header.stamp.sec == 5000 for x in data)

        wait_for(tick, START, interval=0.1, what="stamps in sim time")
        assert node.running()


def test_fifo_mode_publishes_every_sample_with_chip_clock_stamps(procs, ros, tmp_path):
    with VirtualImuServer(chip="mpu6050", seed=6, noise=True) as srv:
        srv.set_motion(accel=(0.0, 0.0, 9.80665), gyro=(0.0, 0.0, 0.0))
        node = start_node(
            procs, srv.start(), tmp_path, publish_rate=500.0, **{"mpu6050.use_fifo": True}
        )
        raw = ros.collect(
            Imu,
            NS + "/imu/data_raw",
            qos.RELIABLE.__class__(
                depth=1000, reliability=qos.SENSOR_DATA.reliability, history=qos.SENSOR_DATA.history
            ),
        )
        data = ros.collect(Imu, NS + "/imu/data", qos.SENSOR_DATA)
        wait_for(lambda: len(raw) > 600, START, what="500 Hz through the FIFO")
        node.wait_output("start-up gyro bias", START)
        # imu/data is its own topic (own discovery) next to the 600 raw samples waited for
        wait_for(lambda: data, START, what="imu/data in FIFO mode")
        stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in raw[-400:]]
        periods = sorted(b - a for a, b in zip(stamps, stamps[1:]))
        # within one FIFO batch the stamps are exactly the chip's 2 ms apart
        assert abs(periods[len(periods) // 2] - 0.002) < 1e-4
        # level; the uncalibrated accel bias (±0.04 g per axis) tilts it by up to ~3.2°
        assert data and Q.tilt_deg(q_of(data[-1]), Q.IDENTITY) < 4.0
        # bus errors in FIFO mode: retried, the FIFO realigned, data keeps flowing
        srv.inject_errors(2)
        srv.inject_spikes(3)
        n = len(raw)
        wait_for(lambda: len(raw) > n + 300, START, what="data after errors in FIFO mode")
        assert all(abs(m.linear_acceleration.x) < 5.0 for m in raw[n:])
        assert node.running()
