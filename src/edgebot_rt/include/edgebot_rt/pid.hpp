// PID controller with output limits, anti-windup and a first-order filtered derivative.
// No allocation, no locks, no ROS: safe to call from the real-time loop.
#pragma once

namespace edgebot_rt
{

class Pid
{
public:
  // d_filter_tau: time constant (s) of the low-pass filter on the derivative term, 0 = unfiltered.
  // Throws std::invalid_argument for non-finite gains, out_min > out_max or a negative tau.
  Pid(double kp, double ki, double kd, double out_min, double out_max, double d_filter_tau = 0.0);

  // One step. The derivative acts on the measurement (no kick on setpoint steps). The integrator
  // is clamped to [out_min, out_max] and does not grow while the output saturates in the
  // direction of the error (conditional integration). Non-finite input or dt <= 0: rejected,
  // state unchanged, the previous output is returned.
  double update(double setpoint, double measurement, double dt);
  void reset();

  double kp() const {return kp_;}
  double ki() const {return ki_;}
  double kd() const {return kd_;}
  double out_min() const {return out_min_;}
  double out_max() const {return out_max_;}
  double d_filter_tau() const {return tau_;}
  double integral() const {return integral_;}
  double last_output() const {return output_;}
  unsigned long rejected() const {return rejected_;}  // NOLINT(runtime/int)

private:
  double kp_, ki_, kd_, out_min_, out_max_, tau_;
  double integral_{0.0};
  double d_filtered_{0.0};
  double prev_measurement_{0.0};
  bool has_prev_{false};
  double output_{0.0};
  unsigned long rejected_{0};  // NOLINT(runtime/int)
};

}  // namespace edgebot_rt
