#include "edgebot_rt/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace edgebot_rt
{

RateLimiter::RateLimiter(double max_velocity, double max_acceleration)
: max_velocity_(max_velocity), max_acceleration_(max_acceleration)
{
  if (!(max_velocity > 0.0) || !(max_acceleration > 0.0)) {
    throw std::invalid_argument("RateLimiter: limits must be > 0 (inf = unlimited)");
  }
}

double RateLimiter::step(double target, double dt)
{
  if (!std::isfinite(target) || !std::isfinite(dt) || dt <= 0.0) {
    return value_;
  }
  double t = std::min(std::max(target, -max_velocity_), max_velocity_);
  if (std::isfinite(max_acceleration_)) {
    const double dv = max_acceleration_ * dt;
    t = std::min(std::max(t, value_ - dv), value_ + dv);
  }
  value_ = t;
  return value_;
}

double RateLimiter::brake(double dt, double deceleration)
{
  if (!std::isfinite(dt) || dt <= 0.0 || std::isnan(deceleration) || deceleration <= 0.0) {
    return value_;
  }
  if (std::isinf(deceleration)) {
    value_ = 0.0;
    return value_;
  }
  const double dv = deceleration * dt;
  value_ = value_ > 0.0 ? std::max(0.0, value_ - dv) : std::min(0.0, value_ + dv);
  return value_;
}

void RateLimiter::reset(double value)
{
  value_ = std::isfinite(value) ? std::min(std::max(value, -max_velocity_), max_velocity_) : 0.0;
}

}  // namespace edgebot_rt
