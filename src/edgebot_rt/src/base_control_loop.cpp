#include "edgebot_rt/base_control_loop.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
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
  require(
    c.emergency_linear_decel >= c.max_linear_accel && c.emergency_angular_decel >= c.max_angular_accel,
    "emergency_linear_decel / emergency_angular_decel must be >= max_linear_accel / max_angular_accel");
  require(std::isfinite(c.standstill_speed) && c.standstill_speed >= 0.0, "standstill_speed must be finite and >= 0");
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

bool BaseControlLoop::set_wheel_feedback(double wl, double wr, double stamp_s)
{
  return set_wheel_state(stamp_s, true, wl, wr, false, 0.0, 0.0);
}

bool BaseControlLoop::set_wheel_state(
  double stamp_s, bool has_velocity, double wl, double wr, bool has_position, double left_rad,
  double right_rad)
{
  if ((!has_velocity && !has_position) || (has_velocity && (!std::isfinite(wl) || !std::isfinite(wr))) ||
    (has_position && (!std::isfinite(left_rad) || !std::isfinite(right_rad))))
  {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const int64_t mono = monotonic_ns();
  const double stamp = std::isfinite(stamp_s) ? stamp_s : 1e-9 * static_cast<double>(mono);
  const double dt = stamp - last_wheel_stamp_;  // NaN on the first message
  const bool time_back = dt < 0.0;  // a simulator's reset: positions and time start again
  if (has_position && cfg_.position_feedback) {
    if (pos_latched_ && !time_back) {
      travel_left_ += left_rad - last_pos_left_;
      travel_right_ += right_rad - last_pos_right_;
    }
    last_pos_left_ = left_rad;
    last_pos_right_ = right_rad;
    pos_latched_ = true;
  } else {
    pos_latched_ = false;  // positions that come back are latched afresh
    // velocity x the feedback's own time step; a gap longer than feedback_timeout (of the
    // feedback's clock) is not bridged with a guessed speed
    if (dt > 0.0 && dt <= cfg_.feedback_timeout) {
      travel_left_ += wl * dt;
      travel_right_ += wr * dt;
    }
  }
  last_wheel_stamp_ = stamp;
  travel_.write(Travel{travel_left_, travel_right_, mono});
  if (has_velocity) {
    feedback_.write(Stamped{wl, wr, mono});
  }
  return true;
}

bool BaseControlLoop::set_imu_yaw_rate(double wz, double stamp_s)
{
  if (!std::isfinite(wz)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const int64_t mono = monotonic_ns();
  const double stamp = std::isfinite(stamp_s) ? stamp_s : 1e-9 * static_cast<double>(mono);
  const double dt = stamp - last_imu_stamp_;
  if (dt > 0.0 && dt <= cfg_.feedback_timeout) {
    imu_yaw_ += wz * dt;  // the heading change on the IMU's own clock
  }
  last_imu_stamp_ = stamp;
  imu_.write(Stamped{wz, imu_yaw_, mono});
  return true;
}

void BaseControlLoop::set_authority(bool has_authority)
{
  authority_.write(Stamped{has_authority ? 1.0 : 0.0, 0.0, monotonic_ns()});
  last_authority_.store(has_authority, std::memory_order_relaxed);
}

void BaseControlLoop::cycle(int64_t now, double dt)
{
  Stamped cmd{}, fb{}, imu{};
  const bool cmd_fresh = command_.read(cmd) && now - cmd.stamp_ns <= to_ns(cfg_.command_timeout);
  const bool fb_fresh = feedback_.read(fb) && now - fb.stamp_ns <= to_ns(cfg_.feedback_timeout);
  const bool imu_fresh = imu_.read(imu) && now - imu.stamp_ns <= to_ns(cfg_.feedback_timeout);

  // lost authority (the safety monitor says nothing may drive): brake towards zero at the
  // emergency decelerations instead of following the normal ramp; no fresh command: at once
  Stamped auth{};
  const bool auth_lost = authority_.read(auth) && auth.a == 0.0 &&
    now - auth.stamp_ns <= to_ns(cfg_.command_timeout);
  const bool braking = !cmd_fresh || auth_lost;
  double v, w;
  if (!cmd_fresh) {
    // no command at all (the link is gone): zero at once, the hardest stop
    v = lin_limiter_.brake(dt, std::numeric_limits<double>::infinity());
    w = ang_limiter_.brake(dt, std::numeric_limits<double>::infinity());
  } else if (auth_lost) {
    v = lin_limiter_.brake(dt, cfg_.emergency_linear_decel);
    w = ang_limiter_.brake(dt, cfg_.emergency_angular_decel);
  } else {
    v = lin_limiter_.step(cmd.a, dt);
    w = ang_limiter_.step(cmd.b, dt);
  }
  const WheelSpeeds ws = kin_.inverse(v, w);
  double wl = clamp(ws.left, cfg_.max_wheel_speed);
  double wr = clamp(ws.right, cfg_.max_wheel_speed);

  if (cfg_.use_feedback && fb_fresh && !braking) {
    // feed-forward plus a PID correction on the measured wheel speed (not while braking on a
    // lost authority: the measured wheels lag the hard ramp, and the PID would reverse them)
    wl = wheel_output(pid_left_, wl, fb.a, dt);
    wr = wheel_output(pid_right_, wr, fb.b, dt);
    pid_active_ = true;
  } else if (pid_active_) {
    pid_left_.reset();
    pid_right_.reset();
    pid_active_ = false;
  }

  // twist: measured wheel speeds when fresh, else what was commanded; IMU yaw rate blended
  BodyTwist t = fb_fresh ? kin_.forward(fb.a, fb.b) : kin_.forward(wl, wr);
  if (cfg_.imu_yaw_weight > 0.0 && imu_fresh) {
    t.w = (1.0 - cfg_.imu_yaw_weight) * t.w + cfg_.imu_yaw_weight * imu.a;
  }
  // pose: from the wheels' travel (position deltas, or velocity x the feedback's stamps),
  // never from this loop's wall-clock dt -- only while no feedback ever came, the commands are
  // dead-reckoned on the loop clock
  Travel tr{};
  bool tr_new = false;
  if (!travel_.read(tr, &tr_new)) {
    odom_.integrate_twist(t.v, t.w, dt);
  } else {
    if (tr_new) {
      const BodyTwist d = kin_.forward(tr.left - used_left_, tr.right - used_right_);  // m, rad
      used_left_ = tr.left;
      used_right_ = tr.right;
      double dtheta = d.w;
      if (cfg_.imu_yaw_weight > 0.0 && imu_fresh) {
        // blend the heading CHANGES: the IMU's since the previous wheel update
        if (imu_latched_) {
          dtheta = (1.0 - cfg_.imu_yaw_weight) * d.w + cfg_.imu_yaw_weight * (imu.b - used_imu_yaw_);
        }
        used_imu_yaw_ = imu.b;
        imu_latched_ = true;
      } else {
        imu_latched_ = false;
      }
      odom_.integrate_displacement(d.v, dtheta);
    }
    odom_.set_twist(t.v, t.w);
  }
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
  s.braking = braking ? 1 : 0;
  ring_.push(s);
  latest_.write(s);
}

double BaseControlLoop::wheel_output(Pid & pid, double target, double measured, double dt)
{
  if (target != 0.0) {
    return clamp(target + pid.update(target, measured, dt), cfg_.max_wheel_speed);
  }
  // A stop: the drive's integrator must not carry into it (it would hold the wheel creeping
  // at a few PWM counts for a second), so the PID restarts from zero every cycle: proportional
  // braking while the wheel still turns, exactly zero once it is at rest.
  pid.reset();
  if (std::abs(measured) <= cfg_.standstill_speed) {
    return 0.0;
  }
  return clamp(pid.update(0.0, measured, dt), cfg_.max_wheel_speed);
}

}  // namespace edgebot_rt
