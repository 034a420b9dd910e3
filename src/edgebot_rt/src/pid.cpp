#include "edgebot_rt/pid.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace edgebot_rt
{

Pid::Pid(double kp, double ki, double kd, double out_min, double out_max, double d_filter_tau)
: kp_(kp), ki_(ki), kd_(kd), out_min_(out_min), out_max_(out_max), tau_(d_filter_tau)
{
  if (!std::isfinite(kp) || !std::isfinite(ki) || !std::isfinite(kd)) {
    throw std::invalid_argument("Pid: gains must be finite");
  }
  if (std::isnan(out_min) || std::isnan(out_max) || out_min > out_max) {
    throw std::invalid_argument("Pid: need out_min <= out_max");
  }
  if (!std::isfinite(d_filter_tau) || d_filter_tau < 0.0) {
    throw std::invalid_argument("Pid: d_filter_tau must be finite and >= 0");
  }
}

double Pid::update(double setpoint, double measurement, double dt)
{
  if (!std::isfinite(setpoint) || !std::isfinite(measurement) || !std::isfinite(dt) || dt <= 0.0) {
    ++rejected_;
    return output_;
  }
  const double error = setpoint - measurement;
  const double p = kp_ * error;

  // derivative on measurement, first-order low-pass with time constant tau
  double d_raw = 0.0;
  if (has_prev_) {
    d_raw = -(measurement - prev_measurement_) / dt;
  }
  double d_filtered = d_raw;
  if (tau_ > 0.0 && has_prev_) {
    const double alpha = dt / (tau_ + dt);
    d_filtered = d_filtered_ + alpha * (d_raw - d_filtered_);
  }
  const double d = kd_ * d_filtered;

  // conditional integration: keep the integrator when the output would saturate further
  double integral = integral_ + ki_ * error * dt;
  integral = std::min(std::max(integral, out_min_), out_max_);
  const double unsat = p + integral + d;
  if ((unsat > out_max_ && error > 0.0) || (unsat < out_min_ && error < 0.0)) {
    integral = integral_;
  }
  const double out = std::min(std::max(p + integral + d, out_min_), out_max_);
  if (!std::isfinite(out)) {
    ++rejected_;
    return output_;
  }
  integral_ = integral;
  d_filtered_ = d_filtered;
  prev_measurement_ = measurement;
  has_prev_ = true;
  output_ = out;
  return out;
}

void Pid::reset()
{
  integral_ = 0.0;
  d_filtered_ = 0.0;
  prev_measurement_ = 0.0;
  has_prev_ = false;
  output_ = 0.0;
}

}  // namespace edgebot_rt
