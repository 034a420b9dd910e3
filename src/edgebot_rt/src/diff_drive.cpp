#include "edgebot_rt/diff_drive.hpp"

#include <cmath>
#include <stdexcept>

#include "edgebot_rt/loop_runner.hpp"

namespace edgebot_rt
{

double wrap_angle(double a)
{
  return std::atan2(std::sin(a), std::cos(a));
}

DiffDriveKinematics::DiffDriveKinematics(double wheel_radius, double wheel_separation)
: r_(wheel_radius), sep_(wheel_separation)
{
  if (!std::isfinite(r_) || r_ <= 0.0 || !std::isfinite(sep_) || sep_ <= 0.0) {
    throw std::invalid_argument("DiffDriveKinematics: wheel_radius and wheel_separation must be finite and > 0");
  }
}

WheelSpeeds DiffDriveKinematics::inverse(double v, double w) const
{
  const double half = 0.5 * sep_ * w;
  return WheelSpeeds{(v - half) / r_, (v + half) / r_};
}

BodyTwist DiffDriveKinematics::forward(double wl, double wr) const
{
  return BodyTwist{0.5 * r_ * (wl + wr), r_ * (wr - wl) / sep_};
}

Odometry::Odometry(double wheel_radius, double wheel_separation)
: kin_(wheel_radius, wheel_separation) {}

void Odometry::integrate(double ds, double dtheta)
{
  if (std::fabs(dtheta) < 1e-9) {
    // second-order Runge-Kutta: heading at mid-step
    const double mid = theta_ + 0.5 * dtheta;
    x_ += ds * std::cos(mid);
    y_ += ds * std::sin(mid);
  } else {
    // exact circular arc
    const double radius = ds / dtheta;
    const double theta_new = theta_ + dtheta;
    x_ += radius * (std::sin(theta_new) - std::sin(theta_));
    y_ -= radius * (std::cos(theta_new) - std::cos(theta_));
  }
  theta_ = wrap_angle(theta_ + dtheta);
}

bool Odometry::integrate_twist(double v, double w, double dt)
{
  if (!std::isfinite(v) || !std::isfinite(w) || !std::isfinite(dt) || dt <= 0.0) {
    return false;
  }
  integrate(v * dt, w * dt);
  v_ = v;
  w_ = w;
  return true;
}

bool Odometry::integrate_displacement(double ds, double dtheta)
{
  if (!std::isfinite(ds) || !std::isfinite(dtheta)) {
    return false;
  }
  integrate(ds, dtheta);
  return true;
}

bool Odometry::update_velocity(double wl, double wr, double dt)
{
  if (!std::isfinite(wl) || !std::isfinite(wr)) {
    return false;
  }
  const BodyTwist t = kin_.forward(wl, wr);
  return integrate_twist(t.v, t.w, dt);
}

bool Odometry::update_position(double left_rad, double right_rad, double dt)
{
  if (!std::isfinite(left_rad) || !std::isfinite(right_rad) || !std::isfinite(dt)) {
    return false;
  }
  const int64_t now = monotonic_ns();
  if (!has_position_) {
    has_position_ = true;
    last_left_ = left_rad;
    last_right_ = right_rad;
    last_position_ns_ = now;
    return true;
  }
  const double dl = left_rad - last_left_;
  const double dr = right_rad - last_right_;
  const double elapsed = dt > 0.0 ? dt : 1e-9 * static_cast<double>(now - last_position_ns_);
  const BodyTwist d = kin_.forward(dl, dr);  // wheel angles in, body displacement out
  integrate(d.v, d.w);
  if (elapsed > 0.0) {
    v_ = d.v / elapsed;
    w_ = d.w / elapsed;
  }
  last_left_ = left_rad;
  last_right_ = right_rad;
  last_position_ns_ = now;
  return true;
}

void Odometry::reset(double x, double y, double theta)
{
  x_ = std::isfinite(x) ? x : 0.0;
  y_ = std::isfinite(y) ? y : 0.0;
  theta_ = std::isfinite(theta) ? wrap_angle(theta) : 0.0;
  v_ = w_ = 0.0;
  has_position_ = false;
}

void Odometry::set_yaw(double theta)
{
  if (std::isfinite(theta)) {theta_ = wrap_angle(theta);}
}

}  // namespace edgebot_rt
