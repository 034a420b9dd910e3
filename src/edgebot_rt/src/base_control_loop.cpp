#include "edgebot_rt/base_control_loop.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace edgebot_rt
{

namespace
{
void require(bool ok, const char * what)
{
  if (!ok) {throw std::invalid_argument(std::string("BaseControlLoop: ") + what);}
}
inline double clamp(double v, double lim) {return std::min(std::max(v, -lim), lim);}
inline int64_t to_ns(double s) {return static_cast<int64_t>(std::llround(s * 1e9));}
}  // namespace

BaseControlLoop::BaseControlLoop(const BaseControlConfig & c)
: cfg_(c),
  kin_(c.wheel_radius, c.wheel_separation),
  odom_(c.wheel_radius, c.wheel_separation),
  lin_limiter_(c.max_linear, c.max_linear_accel),
  ang_limiter_(c.max_angular, c.max_angular_accel),
  pid_left_(c.kp, c.ki, c.kd, -c.max_wheel_speed, c.max_wheel_speed),
  pid_right_(c.kp, c.ki, c.kd, -c.max_wheel_speed, c.max_wheel_speed),
  ring_(c.ring_capacity),
  loop_(c.rate_hz, c.realtime_priority, [this](int64_t now, double dt) {cycle(now, dt);})
{
  require(c.max_wheel_speed > 0.0 && std::isfinite(c.max_wheel_speed), "max_wheel_speed must be finite and > 0");
  require(c.command_timeout > 0.0 && std::isfinite(c.command_timeout), "command_timeout must be finite and > 0");
  require(c.feedback_timeout > 0.0 && std::isfinite(c.feedback_timeout), "feedback_timeout must be finite and > 0");
  require(c.imu_yaw_weight >= 0.0 && c.imu_yaw_weight <= 1.0, "imu_yaw_weight must be in [0, 1]");
  require(c.ring_capacity >= 2 && c.ring_capacity <= (1u << 24), "ring_capacity must be in [2, 2^24]");
}

BaseControlLoop::~BaseControlLoop()
{
  loop_.stop();
}

bool BaseControlLoop::start() {return loop_.start();}
void BaseControlLoop::stop() {loop_.stop();}

bool BaseControlLoop::set_command(double v, double w)
{
  if (!std::isfinite(v) || !std::isfinite(w)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  command_.write(Stamped{v, w, monotonic_ns()});
  return true;
}

bool BaseControlLoop::set_wheel_feedback(double wl, double wr)
{
  if (!std::isfinite(wl) || !std::isfinite(wr)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  feedback_.write(Stamped{wl, wr, monotonic_ns()});
  return true;
}

bool BaseControlLoop::set_imu_yaw_rate(double wz)
{
  if (!std::isfinite(wz)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  imu_.write(Stamped{wz, 0.0, monotonic_ns()});
  return true;
}

void BaseControlLoop::cycle(int64_t now, double dt)
{
  Stamped cmd{}, fb{}, imu{};
  const bool cmd_fresh = command_.read(cmd) && now - cmd.stamp_ns <= to_ns(cfg_.command_timeout);
  const bool fb_fresh = feedback_.read(fb) && now - fb.stamp_ns <= to_ns(cfg_.feedback_timeout);
  const bool imu_fresh = imu_.read(imu) && now - imu.stamp_ns <= to_ns(cfg_.feedback_timeout);

  double wl = 0.0, wr = 0.0;
  if (!cmd_fresh) {
    // stale or no command: stop now, not after a deceleration ramp
    lin_limiter_.reset(0.0);
    ang_limiter_.reset(0.0);
  } else {
    const double v = lin_limiter_.step(cmd.a, dt);
    const double w = ang_limiter_.step(cmd.b, dt);
    const WheelSpeeds ws = kin_.inverse(v, w);
    wl = clamp(ws.left, cfg_.max_wheel_speed);
    wr = clamp(ws.right, cfg_.max_wheel_speed);
  }

  if (cfg_.use_feedback && fb_fresh && cmd_fresh) {
    // feed-forward plus a PID correction on the measured wheel speed
    wl = clamp(wl + pid_left_.update(wl, fb.a, dt), cfg_.max_wheel_speed);
    wr = clamp(wr + pid_right_.update(wr, fb.b, dt), cfg_.max_wheel_speed);
    pid_active_ = true;
  } else if (pid_active_) {
    pid_left_.reset();
    pid_right_.reset();
    pid_active_ = false;
  }

  // odometry: measured wheel speeds when fresh, else what was commanded
  BodyTwist t = fb_fresh ? kin_.forward(fb.a, fb.b) : kin_.forward(wl, wr);
  if (cfg_.imu_yaw_weight > 0.0 && imu_fresh) {
    t.w = (1.0 - cfg_.imu_yaw_weight) * t.w + cfg_.imu_yaw_weight * imu.a;
  }
  odom_.integrate_twist(t.v, t.w, dt);

  LoopSample s;
  s.t = static_cast<double>(now) * 1e-9;
  s.wl_cmd = wl;
  s.wr_cmd = wr;
  s.x = odom_.x();
  s.y = odom_.y();
  s.theta = odom_.theta();
  s.v = odom_.v();
  s.w = odom_.w();
  s.timed_out = cmd_fresh ? 0 : 1;
  ring_.push(s);
  latest_.write(s);
}

}  // namespace edgebot_rt
