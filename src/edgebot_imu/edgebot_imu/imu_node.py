"""``imu_node``: an MPU-6050 or BNO055 on I²C (or the virtual IMU) -> sensor_msgs/Imu.

ROS glue only. The parameters and the processing chain are in ``node_config``, the bus and
driver in ``device`` (supervised by ``edgebot_common.supervisor.DeviceSupervisor``: reopened
with backoff while the node keeps running), the read thread with its absolute deadlines in
``read_loop`` (timestamps taken at read time); drivers, calibration, glitch filter, bias
estimator and fusion are ROS-free modules of this package.
"""

from __future__ import annotations

import threading
import time

from builtin_interfaces.msg import Time as TimeMsg
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Imu, Temperature
from std_srvs.srv import Trigger

from edgebot_common import qos
from edgebot_common.backoff import Backoff
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParameterError
from edgebot_common.ros_params import declare_params
from edgebot_common.supervisor import DeviceUnavailable
from edgebot_common.throttle import Throttle

from .bus import BusSpecError, bus_label, parse_bus_spec
from .calibrate import Calibrator
from .calibration import default_path
from .core import RetryingReader
from .device import CHIP_CLASSES, ImuDevice
from .node_config import SPECS, build_chain, covariance
from .read_loop import ImuReadLoop
from .sample import DeviceIdError
from .status import connection_status, data_status

LEVELS = {"ok": OK, "warn": WARN, "error": ERROR}


def _time_msg(ns: int) -> TimeMsg:
    return TimeMsg(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


class ImuNode(Node):
    NODE_NAME = "imu_node"

    def __init__(self):
        super().__init__("imu_node")
        self.p = p = declare_params(self, SPECS)
        log = self.get_logger()
        bus_param = self.declare_parameter(
            "bus",
            "1",
            ParameterDescriptor(
                description="I2C bus: N, /dev/i2c-N, or tcp://host:port (virtual IMU)",
                read_only=True,
                dynamic_typing=True,
            ),
        ).value
        self.bus_spec = str(bus_param)
        try:
            parse_bus_spec(self.bus_spec)
        except BusSpecError:
            raise ParameterError(
                "bus", bus_param, "must be an integer, /dev/i2c-N or tcp://host:port"
            ) from None
        self.chip = chip = p["chip"]
        cls = CHIP_CLASSES[chip]
        if p["publish_rate"] > cls.MAX_RATE_HZ:
            raise ParameterError(
                "publish_rate", p["publish_rate"], f"must be <= {cls.MAX_RATE_HZ:g} for the {chip}"
            )
        self.address = p["address"] or cls.DEFAULT_ADDRESS
        self.cal_path = p["calibration.file"] or default_path(
            chip, bus_label(self.bus_spec), self.address
        )
        self.hw = f"{chip}@{self.bus_spec}:0x{self.address:02x}"
        self.calib = Calibrator(chip, self.cal_path, log.info, log.warning, log.error)
        self.chain = c = self.calib.chain = build_chain(
            p, chip, self.calib.cal, log.info, log.warning, log.error
        )
        self.reader = RetryingReader(p["i2c.retries"])
        self._err_log = Throttle(5.0)

        # device: connect now (a config error if it never answers), then supervised
        self.dev = ImuDevice(
            chip,
            self.bus_spec,
            self.address,
            p,
            use_fifo=bool(p["mpu6050.use_fifo"]) and chip == "mpu6050",
            bno055_offsets=lambda: self.calib.cal.bno055_offsets,
        )
        self.sup = self.dev.supervisor(self._on_up, self._on_down, self._on_reset)
        try:
            self.sup.connect_at_start(p["startup_timeout"], backoff=Backoff(0.1, 1.0))
        except DeviceIdError as e:
            raise ConfigError(str(e)) from None
        except DeviceUnavailable as e:
            raise ConfigError(
                f"{chip}: no working device on bus {self.bus_spec} address "
                f"0x{self.address:02x} after {p['startup_timeout']:g} s ({e})"
            ) from None

        # ROS interfaces
        self.pub_raw = self.create_publisher(Imu, "imu/data_raw", qos.SENSOR_DATA)
        self.pub_data = self.create_publisher(Imu, "imu/data", qos.SENSOR_DATA)
        self.pub_temp = self.create_publisher(Temperature, "imu/temperature", qos.SENSOR_DATA)
        self.create_service(Trigger, "imu/calibrate", self.on_calibrate)
        self.create_timer(1.0 / p["temperature_rate"], self.publish_temperature)
        self.diag = Diagnostics(self, hardware_id=self.hw)
        self.diag.add("connection", self.diag_connection)
        self.diag.add("data", self.diag_data)
        self._msg_raw, self._msg_data = self._make_messages()

        # read thread
        self.published = 0
        self._rate_count, self._rate_t, self.measured_rate = 0, time.monotonic(), 0.0
        if p["calibration.at_start"] and chip != "bno055":
            self.calib.start(p["calibration.samples"])
        self._stop = threading.Event()
        self.loop = ImuReadLoop(
            self.dev,
            self.sup,
            c.proc,
            self.reader,
            p["publish_rate"],
            p["temperature_rate"],
            self._emit,
            self._stamp,
            self._now_ns,
            _time_msg,
            self._stop,
        )
        self._thread = threading.Thread(target=self._run, daemon=True, name="imu-read")
        self._thread.start()
        log.info(f"{self.hw}: publishing at {p['publish_rate']:g} Hz, calibration {self.cal_path}")

    # -- device --------------------------------------------------------------------------------
    def _on_up(self, reconnect: bool, what: str = "") -> None:
        if not reconnect:
            return
        self.chain.glitch.reset()
        if self.chain.fusion is not None:
            self.chain.fusion.reset()
        self.loop.after_reconnect()
        self.get_logger().info(
            f"{self.hw}: {what or f'device back (reconnect {self.sup.reconnects})'}"
        )

    def _on_reset(self) -> None:
        self._on_up(
            reconnect=True,
            what=f"the chip reset itself (reset {self.sup.resets}); configured again",
        )

    def _on_down(self, reason: str, _delay: float) -> None:
        if self._err_log.ready():
            self.get_logger().error(
                f"{self.hw}: lost the device ({reason}); reconnecting with backoff"
            )

    # -- read thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.loop.run()
        except Exception:
            # SIGINT/SIGTERM shut the ROS context down before run_node stops this thread (in
            # shutdown()): a publish in between raises. That is the node stopping, not a crash.
            if self.context.ok():
                raise

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
        return _time_msg(time.time_ns())

    def _make_messages(self):
        # two preallocated messages (publish serialises synchronously): no per-sample
        # allocation of the covariance arrays
        raw, data = Imu(), Imu()
        for m in (raw, data):
            m.header.frame_id = self.p["frame_id"]
            m.angular_velocity_covariance = covariance(self.p["covariance.angular_velocity"])
            m.linear_acceleration_covariance = covariance(self.p["covariance.linear_acceleration"])
        raw.orientation_covariance[0] = -1.0  # REP 145: no orientation here
        data.orientation_covariance = covariance(self.p["covariance.orientation"])
        return raw, data

    def _emit(self, stamp, out, raw) -> None:
        self.calib.collector.feed(raw)  # calibration sees raw values, never glitches
        s = out.sample
        for msg in (self._msg_raw, self._msg_data):
            msg.header.stamp = stamp
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
        if self.loop.temperature is None or not self.sup.connected:
            return
        msg = Temperature()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.p["frame_id"]
        msg.temperature = float(self.loop.temperature)
        msg.variance = 0.0
        self.pub_temp.publish(msg)

    # -- calibration ----------------------------------------------------------------------------
    def on_calibrate(self, request, response):
        if not self.sup.connected:
            response.success = False
            response.message = f"device not connected ({self.sup.last_error})"
            return response

        def read_offsets():
            with self.dev.lock:
                return self.reader.call(self.dev.driver.read_offsets)

        n = self.p["calibration.samples"]
        response.success, response.message = self.calib.request(
            n, 3.0 * n / self.p["publish_rate"] + 5.0, self.loop.calib_status, read_offsets
        )
        return response

    # -- diagnostics --------------------------------------------------------------------------
    def diag_connection(self):
        level, msg, values = connection_status(self.bus_spec, self.address, self.sup, self.reader)
        return LEVELS[level], msg, values

    def diag_data(self):
        now = time.monotonic()
        span = now - self._rate_t
        if span > 0:
            self.measured_rate = self._rate_count / span
        self._rate_count, self._rate_t = 0, now
        level, msg, values = data_status(
            self.measured_rate,
            self.p["publish_rate"],
            self.published,
            self.chain,
            self.calib,
            self.loop,
            self.dev.use_fifo,
            self.sup.connected,
        )
        return LEVELS[level], msg, values

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self.dev.close()


def main(args=None):
    run_node(ImuNode, args)


if __name__ == "__main__":
    main()
