// Velocity/acceleration limiter: the output is clamped to +-max_velocity and changes by at most
// max_acceleration * dt per step. Infinity disables a limit.
#pragma once

namespace edgebot_rt
{

class RateLimiter
{
public:
  // Throws std::invalid_argument unless both limits are > 0 (infinity allowed).
  RateLimiter(double max_velocity, double max_acceleration);

  // Non-finite target or dt <= 0: rejected, value unchanged and returned.
  double step(double target, double dt);
  // Towards zero by at most `deceleration` * dt (infinity: zero at once), whatever the velocity
  // limit; the braking of a lost command. Non-finite or non-positive dt or deceleration:
  // rejected, value unchanged and returned.
  double brake(double dt, double deceleration);
  void reset(double value = 0.0);
  double value() const {return value_;}
  double max_velocity() const {return max_velocity_;}
  double max_acceleration() const {return max_acceleration_;}

private:
  double max_velocity_, max_acceleration_;
  double value_{0.0};
};

}  // namespace edgebot_rt
