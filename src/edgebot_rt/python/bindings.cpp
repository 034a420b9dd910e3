// pybind11 bindings: `import edgebot_rt`. The loop threads never touch Python; calls that wait
// (start/stop/run_for) release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "edgebot_rt/base_control_loop.hpp"
#include "edgebot_rt/diff_drive.hpp"
#include "edgebot_rt/loop_runner.hpp"
#include "edgebot_rt/madgwick.hpp"
#include "edgebot_rt/pid.hpp"
#include "edgebot_rt/rate_limiter.hpp"

namespace py = pybind11;
using namespace edgebot_rt;  // NOLINT(build/namespaces)

namespace
{

py::dict loop_stats_dict(const LoopStats & s)
{
  py::dict d;
  d["cycles"] = s.cycles;
  d["overruns"] = s.overruns;
  d["period_err_p50_ns"] = s.period_err_p50_ns;
  d["period_err_p99_ns"] = s.period_err_p99_ns;
  d["period_err_max_ns"] = s.period_err_max_ns;
  d["wake_latency_p50_ns"] = s.wake_latency_p50_ns;
  d["wake_latency_p99_ns"] = s.wake_latency_p99_ns;
  d["wake_latency_max_ns"] = s.wake_latency_max_ns;
  d["drift_ns"] = s.drift_ns;
  d["phase_err_last_ns"] = s.phase_err_last_ns;
  d["elapsed_s"] = s.elapsed_s;
  d["rt_priority_applied"] = s.rt_priority_applied;
  d["mlock_applied"] = s.mlock_applied;
  d["running"] = s.running;
  return d;
}

// Feed rows of a C-contiguous float64 array (N, cols) to the filter; returns how many the filter
// accepted. The GIL is released while the C++ loop runs.
template<int Cols, typename Fn>
size_t update_many(py::array_t<double, py::array::c_style | py::array::forcecast> rows, Fn fn)
{
  if (rows.ndim() != 2 || rows.shape(1) != Cols) {
    throw std::invalid_argument("expected an array of shape (N, " + std::to_string(Cols) + ")");
  }
  const double * d = rows.data();
  const size_t n = static_cast<size_t>(rows.shape(0));
  size_t accepted = 0;
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < n; ++i) {accepted += fn(d + i * Cols) ? 1 : 0;}
  }
  return accepted;
}

py::tuple sample_tuple(const LoopSample & s)
{
  return py::make_tuple(s.t, s.wl_cmd, s.wr_cmd, s.x, s.y, s.theta, s.v, s.w, s.timed_out != 0);
}

class LoopRunner
{
public:
  // record > 0: keep the wake times of the first `record` cycles of each run (preallocated here,
  // so the loop still does not allocate) for benchmarks that compute their own statistics.
  LoopRunner(double rate_hz, int priority, size_t record)
  : stamps_(record),
    loop_(rate_hz, priority, [this](int64_t now, double) {
      const size_t i = recorded_.load(std::memory_order_relaxed);
      if (i < stamps_.size()) {
        stamps_[i] = now;
        recorded_.store(i + 1, std::memory_order_release);
      }
    }) {}
  bool start()
  {
    if (loop_.running()) {return false;}
    recorded_.store(0, std::memory_order_release);
    return loop_.start();
  }
  void stop() {loop_.stop();}
  LoopStats run_for(double seconds)
  {
    if (!std::isfinite(seconds) || seconds < 0.0) {throw std::invalid_argument("seconds must be >= 0");}
    start();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    loop_.stop();
    return loop_.stats();
  }
  LoopStats stats() const {return loop_.stats();}
  bool running() const {return loop_.running();}
  double rate_hz() const {return loop_.rate_hz();}
  std::vector<int64_t> timestamps() const
  {
    const size_t n = recorded_.load(std::memory_order_acquire);
    return std::vector<int64_t>(stamps_.begin(), stamps_.begin() + static_cast<std::ptrdiff_t>(n));
  }

private:
  std::vector<int64_t> stamps_;
  std::atomic<size_t> recorded_{0};
  FixedRateLoop loop_;
};

}  // namespace

PYBIND11_MODULE(_edgebot_rt, m)
{
  m.doc() = "edgebot real-time core: PID, rate limiter, diff-drive kinematics/odometry, "
    "Madgwick filter, fixed-rate C++ loops";
  m.def("monotonic_ns", &monotonic_ns, "CLOCK_MONOTONIC in ns (same clock as time.monotonic_ns)");

  py::class_<Pid>(m, "Pid")
  .def(py::init<double, double, double, double, double, double>(),
    py::arg("kp"), py::arg("ki"), py::arg("kd"), py::arg("out_min"), py::arg("out_max"),
    py::arg("d_filter_tau") = 0.0)
  .def("update", &Pid::update, py::arg("setpoint"), py::arg("measurement"), py::arg("dt"),
    "One step; non-finite input or dt <= 0 is rejected (previous output returned)")
  .def("reset", &Pid::reset)
  .def_property_readonly("integral", &Pid::integral)
  .def_property_readonly("output", &Pid::last_output)
  .def_property_readonly("rejected", &Pid::rejected)
  .def_property_readonly("kp", &Pid::kp)
  .def_property_readonly("ki", &Pid::ki)
  .def_property_readonly("kd", &Pid::kd);

  py::class_<RateLimiter>(m, "RateLimiter")
  .def(py::init<double, double>(), py::arg("max_velocity"), py::arg("max_acceleration"))
  .def("step", &RateLimiter::step, py::arg("target"), py::arg("dt"))
  .def("brake", &RateLimiter::brake, py::arg("dt"), py::arg("deceleration"))
  .def("reset", &RateLimiter::reset, py::arg("value") = 0.0)
  .def_property_readonly("value", &RateLimiter::value);

  py::class_<DiffDriveKinematics>(m, "DiffDriveKinematics")
  .def(py::init<double, double>(), py::arg("wheel_radius"), py::arg("wheel_separation"))
  .def("inverse", [](const DiffDriveKinematics & k, double v, double w) {
      const WheelSpeeds s = k.inverse(v, w);
      return py::make_tuple(s.left, s.right);
    }, py::arg("v"), py::arg("w"), "(v m/s, w rad/s) -> (wl, wr) rad/s")
  .def("forward", [](const DiffDriveKinematics & k, double wl, double wr) {
      const BodyTwist t = k.forward(wl, wr);
      return py::make_tuple(t.v, t.w);
    }, py::arg("wl"), py::arg("wr"), "(wl, wr) rad/s -> (v m/s, w rad/s)")
  .def_property_readonly("wheel_radius", &DiffDriveKinematics::wheel_radius)
  .def_property_readonly("wheel_separation", &DiffDriveKinematics::wheel_separation);

  py::class_<Odometry>(m, "Odometry")
  .def(py::init<double, double>(), py::arg("wheel_radius"), py::arg("wheel_separation"))
  .def("update_velocity", &Odometry::update_velocity, py::arg("wl"), py::arg("wr"), py::arg("dt"))
  .def("update_position", &Odometry::update_position, py::arg("left_rad"), py::arg("right_rad"),
    py::arg("dt") = 0.0)
  .def("reset", &Odometry::reset, py::arg("x") = 0.0, py::arg("y") = 0.0, py::arg("theta") = 0.0)
  .def("set_yaw", &Odometry::set_yaw, py::arg("theta"))
  .def_property_readonly("pose", [](const Odometry & o) {
      return py::make_tuple(o.x(), o.y(), o.theta());
    })
  .def_property_readonly("twist", [](const Odometry & o) {return py::make_tuple(o.v(), o.w());});

  py::class_<Madgwick>(m, "Madgwick")
  .def(py::init<double, double>(), py::arg("beta") = 0.1, py::arg("zeta") = 0.0)
  .def("update_imu", &Madgwick::update_imu, py::arg("gx"), py::arg("gy"), py::arg("gz"),
    py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("dt"))
  .def("update_marg", &Madgwick::update_marg, py::arg("gx"), py::arg("gy"), py::arg("gz"),
    py::arg("ax"), py::arg("ay"), py::arg("az"), py::arg("mx"), py::arg("my"), py::arg("mz"),
    py::arg("dt"))
  .def("update_imu_many", [](Madgwick & f, py::array_t<double, py::array::c_style | py::array::forcecast> rows) {
      return update_many<7>(rows, [&f](const double * r) {
        return f.update_imu(r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
      });
    }, py::arg("rows"), "rows (N, 7): gx, gy, gz, ax, ay, az, dt -> number accepted")
  .def("update_marg_many", [](Madgwick & f, py::array_t<double, py::array::c_style | py::array::forcecast> rows) {
      return update_many<10>(rows, [&f](const double * r) {
        return f.update_marg(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]);
      });
    }, py::arg("rows"), "rows (N, 10): gx, gy, gz, ax, ay, az, mx, my, mz, dt -> number accepted")
  .def("init_from_accel", &Madgwick::init_from_accel, py::arg("ax"), py::arg("ay"), py::arg("az"))
  .def("set_quaternion", &Madgwick::set_quaternion, py::arg("w"), py::arg("x"), py::arg("y"),
    py::arg("z"))
  .def("reset", &Madgwick::reset)
  .def_property_readonly("quaternion", [](const Madgwick & f) {
      const Quaternion & q = f.quaternion();
      return py::make_tuple(q.w, q.x, q.y, q.z);
    })
  .def_property_readonly("gyro_bias", [](const Madgwick & f) {
      return py::make_tuple(f.bias_x(), f.bias_y(), f.bias_z());
    })
  .def_property("beta", &Madgwick::beta, &Madgwick::set_beta)
  .def_property("zeta", &Madgwick::zeta, &Madgwick::set_zeta)
  .def_property_readonly("nan_resets", &Madgwick::nan_resets);

  py::class_<BaseControlLoop>(m, "BaseControlLoop")
  .def(py::init([](double rate_hz, double wheel_radius, double wheel_separation, double max_linear,
    double max_angular, double max_linear_accel, double max_angular_accel, double max_wheel_speed,
    double command_timeout, bool use_feedback, double kp, double ki, double kd,
    double feedback_timeout, double imu_yaw_weight, int realtime_priority, size_t ring_capacity,
    double emergency_linear_decel, double emergency_angular_decel, double standstill_speed,
    bool position_feedback) {
      BaseControlConfig c;
      c.rate_hz = rate_hz;
      c.wheel_radius = wheel_radius;
      c.wheel_separation = wheel_separation;
      c.max_linear = max_linear;
      c.max_angular = max_angular;
      c.max_linear_accel = max_linear_accel;
      c.max_angular_accel = max_angular_accel;
      c.max_wheel_speed = max_wheel_speed;
      c.command_timeout = command_timeout;
      c.use_feedback = use_feedback;
      c.kp = kp;
      c.ki = ki;
      c.kd = kd;
      c.feedback_timeout = feedback_timeout;
      c.imu_yaw_weight = imu_yaw_weight;
      c.realtime_priority = realtime_priority;
      c.ring_capacity = ring_capacity;
      c.emergency_linear_decel = emergency_linear_decel;
      c.emergency_angular_decel = emergency_angular_decel;
      c.standstill_speed = standstill_speed;
      c.position_feedback = position_feedback;
      return std::make_unique<BaseControlLoop>(c);
    }),
    py::arg("rate_hz") = 200.0, py::arg("wheel_radius") = 0.033, py::arg("wheel_separation") = 0.16,
    py::arg("max_linear") = 0.5, py::arg("max_angular") = 2.5, py::arg("max_linear_accel") = 1.0,
    py::arg("max_angular_accel") = 5.0, py::arg("max_wheel_speed") = 20.0,
    py::arg("command_timeout") = 0.25, py::arg("use_feedback") = false, py::arg("kp") = 0.5,
    py::arg("ki") = 2.0, py::arg("kd") = 0.0, py::arg("feedback_timeout") = 0.2,
    py::arg("imu_yaw_weight") = 0.0, py::arg("realtime_priority") = 0,
    py::arg("ring_capacity") = 4096,
    py::arg("emergency_linear_decel") = std::numeric_limits<double>::infinity(),
    py::arg("emergency_angular_decel") = std::numeric_limits<double>::infinity(),
    py::arg("standstill_speed") = 0.3, py::arg("position_feedback") = true)
  .def("start", &BaseControlLoop::start, py::call_guard<py::gil_scoped_release>())
  .def("stop", &BaseControlLoop::stop, py::call_guard<py::gil_scoped_release>())
  .def_property_readonly("running", &BaseControlLoop::running)
  .def("set_command", &BaseControlLoop::set_command, py::arg("v"), py::arg("w"))
  .def("set_wheel_feedback", &BaseControlLoop::set_wheel_feedback, py::arg("wl"), py::arg("wr"),
    py::arg("stamp") = std::numeric_limits<double>::quiet_NaN(),
    "Wheel speeds [rad/s] at stamp [s] (the message's own time; NaN: the monotonic clock now)")
  .def("set_wheel_state", [](BaseControlLoop & l, double stamp, py::object velocity, py::object position) {
      const bool hv = !velocity.is_none(), hp = !position.is_none();
      double wl = 0.0, wr = 0.0, pl = 0.0, pr = 0.0;
      if (hv) {auto t = velocity.cast<std::pair<double, double>>(); wl = t.first; wr = t.second;}
      if (hp) {auto t = position.cast<std::pair<double, double>>(); pl = t.first; pr = t.second;}
      return l.set_wheel_state(stamp, hv, wl, wr, hp, pl, pr);
    }, py::arg("stamp"), py::arg("velocity") = py::none(), py::arg("position") = py::none(),
    "One wheel-state message: velocity (left, right) rad/s and/or position (left, right) rad "
    "at stamp [s] (NaN: now). Odometry from the position deltas (position_feedback), else "
    "velocity x the stamp differences. False (counted in rejected) when non-finite or empty")
  .def("set_imu_yaw_rate", &BaseControlLoop::set_imu_yaw_rate, py::arg("wz"),
    py::arg("stamp") = std::numeric_limits<double>::quiet_NaN(),
    "IMU yaw rate [rad/s] at stamp [s] (NaN: now); its heading change is fused")
  .def("set_authority", &BaseControlLoop::set_authority, py::arg("has_authority"),
    "False: nothing may drive (e-stop, no source): brake at the emergency decelerations")
  .def_property_readonly("authority", &BaseControlLoop::authority)
  .def("drain", [](BaseControlLoop & l) {
      py::list out;
      LoopSample s;
      while (l.pop(s)) {out.append(sample_tuple(s));}
      return out;
    }, "Every sample since the last drain: (t, wl_cmd, wr_cmd, x, y, theta, v, w, timed_out)")
  .def("latest", [](BaseControlLoop & l) -> py::object {
      LoopSample s;
      if (!l.latest(s)) {return py::none();}
      return sample_tuple(s);
    })
  .def("stats", [](const BaseControlLoop & l) {
      py::dict d = loop_stats_dict(l.stats());
      d["drops"] = l.drops();
      d["rejected"] = l.rejected();
      return d;
    });

  py::class_<LoopRunner>(m, "LoopRunner")
  .def(py::init<double, int, size_t>(), py::arg("rate_hz"), py::arg("priority") = 0,
    py::arg("record") = 0)
  .def("run_for", [](LoopRunner & r, double seconds) {
      LoopStats s;
      {
        py::gil_scoped_release release;
        s = r.run_for(seconds);
      }
      return loop_stats_dict(s);
    }, py::arg("seconds"))
  .def("start", &LoopRunner::start, py::call_guard<py::gil_scoped_release>())
  .def("stop", &LoopRunner::stop, py::call_guard<py::gil_scoped_release>())
  .def("stats", [](const LoopRunner & r) {return loop_stats_dict(r.stats());})
  .def_property_readonly("running", &LoopRunner::running)
  .def_property_readonly("rate_hz", &LoopRunner::rate_hz)
  .def("timestamps", [](const LoopRunner & r) {
      const std::vector<int64_t> v = r.timestamps();
      py::array_t<int64_t> out(static_cast<py::ssize_t>(v.size()));
      std::copy(v.begin(), v.end(), out.mutable_data());
      return out;
    }, "CLOCK_MONOTONIC ns of the recorded cycles of the last run (numpy int64)");
}
