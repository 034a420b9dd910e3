"""``imu_node``: an MPU-6050 or BNO055 on I²C (or the virtual IMU) -> sensor_msgs/Imu.

Thin node: the drivers, calibration, glitch filter, bias estimator and fusion glue are ROS-free
modules of this package. Reading runs in its own thread at ``rate_hz`` with absolute deadlines
(timestamps taken at read time); bus errors are retried, counted, and a lost device is
re-initialised with backoff while the node keeps running.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

from builtin_interfaces.msg import Time as TimeMsg
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Imu, Temperature
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_common.backoff import Backoff
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParameterError, ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import Throttle

from . import bno055, mpu6050
from .bus import BusSpecError, bus_label, open_bus, parse_bus_spec
from .calibration import (Calibration, CalibrationFileError, StillLimits, accel_offset_level,
                          check_still, default_path, stats)
from .core import (Fusion, GlitchFilter, GyroBiasEstimator, ImuProcessor, RetryingReader,
                   errno_name)
from .sample import DeviceConfigError, DeviceIdError

CHIP_CLASSES = {"mpu6050": mpu6050.Mpu6050, "bno055": bno055.Bno055}


def _diag3(name, default, text):
    return ParamSpec(name, list(default), text, item_type=float,
                     check=lambda v: None if len(v) == 3 and min(v) >= 0 else
                     "must be three variances >= 0 (the diagonal)")


SPECS = [
    ParamSpec("chip", "mpu6050", "IMU chip", choices=["mpu6050", "bno055"]),
    ParamSpec("address", 0, "7-bit I2C address (0: the chip's default, 0x68 / 0x28)",
              min=0, max=0x77),
    ParamSpec("rate_hz", 200.0, "publish rate [Hz] (MPU-6050 <= 1000, BNO055 <= 100)",
              min=1.0, max=1000.0),
    ParamSpec("frame_id", "imu_link", "frame of the messages"),
    ParamSpec("mpu6050.gyro_range_dps", 500, "gyro full scale [deg/s]", choices=[250, 500, 1000, 2000]),
    ParamSpec("mpu6050.accel_range_g", 4, "accel full scale [g]", choices=[2, 4, 8, 16]),
    ParamSpec("mpu6050.use_fifo", False, "read every sample through the FIFO (batched reads, "
              "chip-clock timestamps; survives a busy host)"),
    ParamSpec("mpu6050.dlpf_cfg", -1, "DLPF_CFG 0..6 (-1: chosen from rate_hz)", min=-1, max=6),
    ParamSpec("bno055.mode", "imu", "fusion mode", choices=list(bno055.FUSION_MODES)),
    _diag3("covariance.orientation", (3e-4, 3e-4, 7.6e-3), "orientation variance diagonal [rad^2]"),
    _diag3("covariance.angular_velocity", (1e-6, 1e-6, 1e-6), "gyro variance diagonal [(rad/s)^2]"),
    _diag3("covariance.linear_acceleration", (1e-3, 1e-3, 1e-3), "accel variance diagonal [(m/s^2)^2]"),
    ParamSpec("calibration.file", "", "calibration YAML (empty: ~/.local/share/edgebot/"
              "imu_<chip>_<bus>_<addr>.yaml)"),
    ParamSpec("calibration.at_start", True, "measure the gyro bias at start (refused if moving)"),
    ParamSpec("calibration.samples", 200, "samples per calibration", min=10, max=100000),
    ParamSpec("calibration.still_gyro_std", 0.01, "still: gyro std below [rad/s]", min=0.0),
    ParamSpec("calibration.still_accel_std", 0.15, "still: accel std below [m/s^2]", min=0.0),
    ParamSpec("calibration.still_gyro_mean", 0.2, "still: |mean rate| below [rad/s]", min=0.0),
    ParamSpec("calibration.level_tilt_deg", 10.0, "accel offsets need the robot level within [deg]",
              min=0.0, max=45.0),
    ParamSpec("bias_estimation.enabled", True, "follow the gyro bias while standing still"),
    ParamSpec("bias_estimation.block_s", 0.5, "still-detection block [s]", min=0.05, max=10.0),
    ParamSpec("glitch.max_accel", 156.0, "drop samples with |accel| beyond [m/s^2]", min=0.0),
    ParamSpec("glitch.max_gyro", 35.0, "drop samples with |rate| beyond [rad/s]", min=0.0),
    ParamSpec("glitch.max_accel_jump", 30.0, "drop accel jumps per sample beyond [m/s^2]", min=0.0),
    ParamSpec("glitch.max_gyro_jump", 5.0, "drop rate jumps per sample beyond [rad/s]", min=0.0),
    ParamSpec("glitch.max_consecutive", 5, "accept a new level after this many drops", min=1),
    ParamSpec("filter.beta", 0.05, "Madgwick gain", min=0.0, max=5.0),
    ParamSpec("filter.zeta", 0.0, "Madgwick gyro-drift gain", min=0.0, max=1.0),
    ParamSpec("filter.accel_gate", 2.0, "gyro-only step when ||a|-g| beyond [m/s^2] (0: off)",
              min=0.0),
    ParamSpec("i2c.retries", 2, "retries per failed read", min=0, max=20),
    ParamSpec("i2c.timeout_s", 0.5, "virtual bus socket timeout [s]", min=0.01, max=10.0),
    ParamSpec("startup_timeout_s", 10.0, "wait this long for the device at start [s]",
              min=0.0, max=300.0),
    ParamSpec("temperature_rate_hz", 1.0, "temperature publish rate [Hz]", min=0.01, max=100.0),
]


def _cov(diag):
    return [diag[0], 0.0, 0.0, 0.0, diag[1], 0.0, 0.0, 0.0, diag[2]]


class ImuNode(Node):
    NODE_NAME = "imu_node"

    def __init__(self):
        super().__init__("imu_node")
        self.p = p = declare_params(self, SPECS)
        log = self.get_logger()
        bus_param = self.declare_parameter(
            "bus", "1", ParameterDescriptor(
                description="I2C bus: N, /dev/i2c-N, or tcp://host:port (virtual IMU)",
                read_only=True, dynamic_typing=True)).value
        self.bus_spec = str(bus_param)
        try:
            parse_bus_spec(self.bus_spec)
        except BusSpecError:
            raise ParameterError("bus", bus_param,
                                 "must be an integer, /dev/i2c-N or tcp://host:port") from None
        self.chip = p["chip"]
        self.use_fifo = bool(p["mpu6050.use_fifo"]) and self.chip == "mpu6050"
        self._fifo_dirty = False
        self._fifo_first = True
        self.fifo_overflows = 0
        cls = CHIP_CLASSES[self.chip]
        if p["rate_hz"] > cls.MAX_RATE_HZ:
            raise ParameterError("rate_hz", p["rate_hz"],
                                 f"must be <= {cls.MAX_RATE_HZ:g} for the {self.chip}")
        self.address = p["address"] or cls.DEFAULT_ADDRESS
        self.bus_name = bus_label(self.bus_spec)
        self.cal_path = p["calibration.file"] or default_path(self.chip, self.bus_name,
                                                              self.address)
        self.hw = f"{self.chip}@{self.bus_spec}:0x{self.address:02x}"

        # calibration from disk
        self.cal_source = "none"
        try:
            cal = Calibration.load(self.cal_path, self.chip)
        except CalibrationFileError as e:
            log.error(f"ignoring calibration file: {e}")
            cal = None
        if cal is not None:
            self.cal_source = f"file {self.cal_path}"
            log.info(f"loaded calibration {self.cal_path}: gyro_bias {cal.gyro_bias} "
                     f"accel_offset {cal.accel_offset}")
        self.cal = cal or Calibration(self.chip)

        # processing chain
        self.limits = StillLimits(p["calibration.still_gyro_std"], p["calibration.still_accel_std"],
                                  p["calibration.still_gyro_mean"],
                                  p["calibration.level_tilt_deg"])
        is_bno = self.chip == "bno055"
        self.fusion = None
        self.fusion_error = ""
        if not is_bno:
            try:
                self.fusion = Fusion(p["filter.beta"], p["filter.zeta"], p["filter.accel_gate"])
            except ImportError as e:
                self.fusion_error = f"no orientation filter (edgebot_rt and the reference: {e})"
                log.error(f"{self.fusion_error}; publishing imu/data_raw only")
            else:
                level = log.info if self.fusion.source.startswith("edgebot_rt") else log.warning
                level(f"orientation filter: Madgwick from {self.fusion.source}")
        block = max(2, int(round(p["bias_estimation.block_s"] * p["rate_hz"])))
        self.bias = GyroBiasEstimator(block=block, bias=self.cal.gyro_bias,
                                      enabled=p["bias_estimation.enabled"] and not is_bno)
        self.glitch = GlitchFilter(p["glitch.max_accel"], p["glitch.max_gyro"],
                                   p["glitch.max_accel_jump"], p["glitch.max_gyro_jump"],
                                   p["glitch.max_consecutive"])
        self.proc = ImuProcessor(self.cal, self.glitch, self.bias, self.fusion,
                                 chip_orientation=is_bno)
        self.reader = RetryingReader(p["i2c.retries"])
        self._err_log = Throttle(5.0)

        # device
        self.bus = None
        self.driver = None
        self._bus_lock = threading.Lock()
        self.connected = False
        self.reconnects = 0
        self.last_error = ""
        self._connect_at_start()

        # ROS interfaces
        self.pub_raw = self.create_publisher(Imu, "imu/data_raw", qos.SENSOR_DATA)
        self.pub_data = self.create_publisher(Imu, "imu/data", qos.SENSOR_DATA)
        self.pub_temp = self.create_publisher(Temperature, "imu/temperature", qos.SENSOR_DATA)
        self.create_service(Trigger, "imu/calibrate", self.on_calibrate)
        self.create_timer(1.0 / p["temperature_rate_hz"], self.publish_temperature)
        self.diag = Diagnostics(self, hardware_id=self.hw)
        self.diag.add("connection", self.diag_connection)
        self.diag.add("data", self.diag_data)
        self.cov_o = _cov(p["covariance.orientation"])
        self.cov_g = _cov(p["covariance.angular_velocity"])
        self.cov_a = _cov(p["covariance.linear_acceleration"])
        self._msg_raw = self._msg_data = None

        # read loop state
        self.temperature: Optional[float] = None
        self.calib_status = None
        self.published = 0
        self._rate_count = 0
        self._rate_t = time.monotonic()
        self.measured_rate = 0.0
        self._collect: Optional[list] = None
        self._collect_n = 0
        self._collect_done = threading.Event()
        self._start_cal_pending = bool(p["calibration.at_start"]) and not is_bno
        if self._start_cal_pending:
            self._begin_collect(p["calibration.samples"])
        self.start_calibration = "not requested" if not self._start_cal_pending else "running"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="imu-read")
        self._thread.start()
        log.info(f"{self.hw}: publishing at {p['rate_hz']:g} Hz, calibration {self.cal_path}")

    # -- device --------------------------------------------------------------------------------
    def _make_driver(self, bus):
        p = self.p
        if self.chip == "mpu6050":
            dlpf = p["mpu6050.dlpf_cfg"]
            if dlpf < 0:
                dlpf = mpu6050.dlpf_for_rate(p["rate_hz"])
            return mpu6050.Mpu6050(bus, self.address, self.bus_spec, p["mpu6050.gyro_range_dps"],
                                   p["mpu6050.accel_range_g"], dlpf, p["rate_hz"])
        return bno055.Bno055(bus, self.address, self.bus_spec, p["bno055.mode"],
                             offsets=self.cal.bno055_offsets)

    def _open_and_configure(self) -> None:
        with self._bus_lock:
            if self.bus is None:
                self.bus = open_bus(self.bus_spec, timeout=self.p["i2c.timeout_s"])
            if self.driver is None:
                self.driver = self._make_driver(self.bus)
            self.driver.configure()
            if self.use_fifo:
                self.driver.enable_fifo()
                self._fifo_dirty = False

    def _close_bus(self) -> None:
        with self._bus_lock:
            if self.bus is not None:
                try:
                    self.bus.close()
                except OSError:
                    pass
            self.bus = None
            self.driver = None

    def _connect_at_start(self) -> None:
        deadline = time.monotonic() + self.p["startup_timeout_s"]
        backoff = Backoff(0.1, 1.0)
        while True:
            try:
                self._open_and_configure()
                self.connected = True
                return
            except DeviceIdError as e:
                self._close_bus()
                raise ConfigError(str(e)) from None
            except (OSError, DeviceConfigError) as e:
                self._close_bus()
                what = errno_name(e) if isinstance(e, OSError) else "config"
                self.last_error = f"{what}: {e}"
                if time.monotonic() + 0.1 > deadline:
                    raise ConfigError(
                        f"{self.chip}: no working device on bus {self.bus_spec} address "
                        f"0x{self.address:02x} after {self.p['startup_timeout_s']:g} s "
                        f"({self.last_error})") from None
                time.sleep(min(backoff.next_delay(), max(0.0, deadline - time.monotonic())))

    def _reconnect(self) -> bool:
        try:
            self._open_and_configure()
        except DeviceIdError as e:
            self.last_error = str(e)
            self._close_bus()
            return False
        except (OSError, DeviceConfigError) as e:
            self.last_error = f"{errno_name(e) if isinstance(e, OSError) else 'config'}: {e}"
            self._close_bus()
            return False
        self.connected = True
        self.reconnects += 1
        self.glitch.reset()
        self._fifo_first = True
        if self.fusion is not None:
            self.fusion.reset()
        self.get_logger().info(f"{self.hw}: device back (reconnect {self.reconnects})")
        return True

    # -- read loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self._read_loop()
        except Exception:
            # SIGINT/SIGTERM shut the ROS context down before run_node stops this thread (in
            # shutdown()): a publish in between raises. That is the node stopping, not a crash.
            if self.context.ok():
                raise

    def _read_loop(self) -> None:
        period = 1.0 / self.p["rate_hz"]
        backoff = Backoff(0.2, 5.0)
        next_t = time.monotonic()
        last_mono = None
        last_status = 0.0
        status_period = 1.0 / self.p["temperature_rate_hz"]
        fifo_period = max(period, 0.01)      # FIFO: poll at <= 100 Hz, several samples a read
        while not self._stop.is_set():
            if not self.connected:
                if backoff.due() and self._reconnect():
                    backoff.reset()
                    next_t = time.monotonic()
                    last_mono = None
                else:
                    if backoff.due():
                        backoff.schedule()
                    self._stop.wait(0.05)
                    continue
            if self.use_fifo:
                if not self._fifo_step():
                    backoff.schedule()
                    continue
                next_t += fifo_period
                now = time.monotonic()
                if next_t < now - fifo_period:
                    next_t = now
                else:
                    self._stop.wait(max(0.0, next_t - now))
                continue
            stamp = self._stamp()
            mono = time.monotonic()
            try:
                with self._bus_lock:
                    raw = self.reader.call(self.driver.read)
                    if self.chip == "bno055" and mono - last_status >= status_period:
                        last_status = mono
                        self.temperature, self.calib_status = self.reader.call(
                            self.driver.read_status)
            except OSError as e:
                self._lost(e)
                backoff.schedule()
                continue
            if raw.temperature is not None:
                self.temperature = raw.temperature
            dt = (mono - last_mono) if last_mono is not None else 0.0
            last_mono = mono
            out = self.proc.process(raw, dt)
            if out is not None:
                self._feed_collector(raw)        # calibration sees raw values, never glitches
                self._publish(stamp, out)
            next_t += period
            now = time.monotonic()
            if next_t < now - period:
                next_t = now           # fell behind (loaded machine): do not burst
            else:
                self._stop.wait(max(0.0, next_t - now))

    def _read_fifo(self):
        if self._fifo_dirty:                 # a failed read may have left half a sample
            self.driver.reset_fifo()
            self._fifo_dirty = False
        try:
            return self.driver.read_fifo(128)
        except OSError:
            self._fifo_dirty = True
            raise

    def _fifo_step(self) -> bool:
        """One FIFO poll: every sample since the last one, stamped by the chip's sample clock
        back from the read time. False when the device is lost."""
        stamp_ns = self._now_ns()
        try:
            with self._bus_lock:
                samples, overflow = self.reader.call(self._read_fifo)
        except OSError as e:
            self._lost(e)
            return False
        if overflow:
            self.fifo_overflows += 1
            self._fifo_first = True
        ts = 1.0 / self.driver.output_rate_hz
        k = len(samples)
        for i, raw in enumerate(samples):
            if raw.temperature is not None:
                self.temperature = raw.temperature
            dt = 0.0 if self._fifo_first else ts
            self._fifo_first = False
            out = self.proc.process(raw, dt)
            if out is not None:
                self._feed_collector(raw)        # calibration sees raw values, never glitches
                ns = stamp_ns - int((k - 1 - i) * ts * 1e9)
                self._publish(TimeMsg(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000), out)
        return True

    def _lost(self, e: OSError) -> None:
        self.connected = False
        self.last_error = f"{errno_name(e)}: {e}"
        if self._err_log.ready():
            self.get_logger().error(f"{self.hw}: lost the device ({self.last_error}); "
                                    f"reconnecting with backoff")

    def _now_ns(self) -> int:
        clock = self.get_clock()
        if clock.ros_time_is_active:
            return clock.now().nanoseconds
        return time.time_ns()

    def _stamp(self) -> TimeMsg:
        """Now, as a message: the ROS clock under sim time, else the system clock directly
        (the same time base, without the cost of rclpy's Time objects in the read loop)."""
        clock = self.get_clock()
        if clock.ros_time_is_active:
            return clock.now().to_msg()
        ns = time.time_ns()
        return TimeMsg(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)

    def _publish(self, stamp, out) -> None:
        # two preallocated messages (publish serialises synchronously): no per-sample
        # allocation of the covariance arrays
        if self._msg_raw is None:
            self._msg_raw, self._msg_data = Imu(), Imu()
            for m in (self._msg_raw, self._msg_data):
                m.header.frame_id = self.p["frame_id"]
                m.angular_velocity_covariance = self.cov_g
                m.linear_acceleration_covariance = self.cov_a
            self._msg_raw.orientation_covariance[0] = -1.0   # REP 145: no orientation here
            self._msg_data.orientation_covariance = self.cov_o
        s = out.sample
        stamp_msg = stamp
        for msg in (self._msg_raw, self._msg_data):
            msg.header.stamp = stamp_msg
            av, la = msg.angular_velocity, msg.linear_acceleration
            av.x, av.y, av.z = s.gyro
            la.x, la.y, la.z = s.accel
        self.pub_raw.publish(self._msg_raw)
        if out.orientation is not None:
            o = self._msg_data.orientation
            o.w, o.x, o.y, o.z = out.orientation
            self.pub_data.publish(self._msg_data)
        self.published += 1
        self._rate_count += 1

    def publish_temperature(self) -> None:
        if self.temperature is None or not self.connected:
            return
        msg = Temperature()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.p["frame_id"]
        msg.temperature = float(self.temperature)
        msg.variance = 0.0
        self.pub_temp.publish(msg)

    # -- calibration ----------------------------------------------------------------------------
    def _begin_collect(self, n: int) -> None:
        self._collect_done.clear()
        self._collect_n = n
        self._collect = []

    def _feed_collector(self, raw) -> None:
        c = self._collect
        if c is None:
            return
        c.append(raw)
        if len(c) >= self._collect_n:
            self._collect = None
            self._collected = c
            if self._start_cal_pending:
                self._start_cal_pending = False
                self._finish_start_calibration(c)
            else:
                self._collect_done.set()

    def _finish_start_calibration(self, samples) -> None:
        st = stats(samples)
        # the offsets in the file were measured on raw data: judge stillness on raw data too
        why = check_still(st, self.limits)
        if why:
            self.start_calibration = f"refused: {why}"
            self.get_logger().warning(
                f"start-up gyro calibration refused: {why}; keeping bias "
                f"{[round(b, 5) for b in self.bias.bias]} ({self.cal_source})")
            return
        self.bias.set_bias(st.gyro_mean)
        if self.fusion is not None:
            self.fusion.reset()
        self.start_calibration = "done"
        self.get_logger().info(f"start-up gyro bias {[round(b, 5) for b in st.gyro_mean]} rad/s "
                               f"from {st.n} samples")

    def on_calibrate(self, request, response):
        n = self.p["calibration.samples"]
        if not self.connected:
            response.success, response.message = False, f"device not connected ({self.last_error})"
            return response
        if self.chip == "bno055":
            return self._calibrate_bno055(response)
        if self._collect is not None:
            response.success, response.message = False, "a calibration is already running"
            return response
        self._begin_collect(n)
        timeout = 3.0 * n / self.p["rate_hz"] + 5.0
        if not self._collect_done.wait(timeout):
            self._collect = None
            response.success, response.message = False, f"timed out collecting {n} samples"
            return response
        st = stats(self._collected)
        why = check_still(st, self.limits)
        offset, why_level = accel_offset_level(st, self.limits)
        if why or why_level:
            response.success = False
            response.message = f"calibration refused: {why or why_level}"
            self.get_logger().warning(response.message)
            return response
        cal = Calibration(self.chip, gyro_bias=list(st.gyro_mean), accel_offset=offset,
                          samples=st.n)
        return self._save(cal, response)

    def _calibrate_bno055(self, response):
        status = self.calib_status
        if status is None or status[1] < 3 or status[2] < 3:
            response.success = False
            response.message = (f"calibration refused: the BNO055 has not calibrated itself yet "
                                f"(sys, gyr, acc, mag = {status}); keep it still for a few seconds, "
                                f"then turn it through a few positions")
            return response
        try:
            with self._bus_lock:
                offsets = self.reader.call(self.driver.read_offsets)
        except OSError as e:
            response.success, response.message = False, f"reading offsets failed: {e}"
            return response
        return self._save(Calibration(self.chip, bno055_offsets=offsets), response)

    def _save(self, cal, response):
        try:
            cal.save(self.cal_path)
        except OSError as e:
            response.success, response.message = False, f"cannot write {self.cal_path}: {e}"
            return response
        self.cal.gyro_bias, self.cal.accel_offset = cal.gyro_bias, cal.accel_offset
        self.cal.bno055_offsets = cal.bno055_offsets
        self.bias.set_bias(cal.gyro_bias)
        self.cal_source = f"file {self.cal_path}"
        response.success = True
        response.message = (f"saved {self.cal_path}: gyro_bias "
                            f"{[round(v, 5) for v in cal.gyro_bias]} rad/s, accel_offset "
                            f"{[round(v, 4) for v in cal.accel_offset]} m/s^2"
                            + (f", bno055 offsets {cal.bno055_offsets}" if cal.bno055_offsets
                               else ""))
        self.get_logger().info(response.message)
        return response

    # -- diagnostics --------------------------------------------------------------------------
    def diag_connection(self):
        values = {"bus": self.bus_spec, "address": f"0x{self.address:02x}",
                  "reconnects": self.reconnects, "retried_ok": self.reader.retried_ok,
                  "failed_reads": self.reader.failures, "last_error": self.last_error}
        values.update({f"bus_errors.{k}": v for k, v in sorted(self.reader.errors.items())})
        values["bus_errors"] = sum(self.reader.errors.values())
        if not self.connected:
            return ERROR, f"device lost: {self.last_error}", values
        if self.reader.errors:
            return WARN if self.reader.failures else OK, "connected (bus errors seen)", values
        return OK, "connected", values

    def diag_data(self):
        now = time.monotonic()
        span = now - self._rate_t
        if span > 0:
            self.measured_rate = self._rate_count / span
        self._rate_count, self._rate_t = 0, now
        values = {"rate_hz": self.measured_rate, "target_rate_hz": self.p["rate_hz"],
                  "published": self.published, "dropped": sum(self.proc.dropped.values()),
                  "glitch_resyncs": self.glitch.resyncs,
                  "gyro_bias": [round(b, 6) for b in self.bias.bias],
                  "bias_updates": self.bias.updates, "calibration": self.cal_source,
                  "start_calibration": self.start_calibration}
        if self.use_fifo:
            values["fifo_overflows"] = self.fifo_overflows
        values.update({f"dropped.{k}": v for k, v in sorted(self.proc.dropped.items())})
        if self.fusion is not None:
            values.update({"filter": self.fusion.source, "filter_nan_resets": self.fusion.resets,
                           "filter_rejected": self.fusion.rejected})
        if self.calib_status is not None:
            values["bno055_calib_status"] = "sys %d gyr %d acc %d mag %d" % self.calib_status
        if self.temperature is not None:
            values["temperature_c"] = round(self.temperature, 2)
        if self.fusion_error:
            return WARN, self.fusion_error, values
        if self.connected and self.measured_rate < 0.5 * self.p["rate_hz"]:
            return WARN, f"rate {self.measured_rate:.1f} Hz below target", values
        return OK, "ok", values

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._close_bus()


def main(args=None):
    run_node(ImuNode, args)


if __name__ == "__main__":
    main()
