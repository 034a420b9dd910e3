// Differential-drive kinematics and odometry (REP 103: x forward, theta counter-clockwise).
#pragma once

#include <cstdint>

namespace edgebot_rt
{

struct WheelSpeeds
{
  double left;   // rad/s
  double right;  // rad/s
};

struct BodyTwist
{
  double v;  // m/s
  double w;  // rad/s
};

class DiffDriveKinematics
{
public:
  // Throws std::invalid_argument unless both are finite and > 0.
  DiffDriveKinematics(double wheel_radius, double wheel_separation);
  WheelSpeeds inverse(double v, double w) const;
  BodyTwist forward(double wl, double wr) const;
  double wheel_radius() const {return r_;}
  double wheel_separation() const {return sep_;}

private:
  double r_, sep_;
};

class Odometry
{
public:
  Odometry(double wheel_radius, double wheel_separation);

  // Integrate wheel speeds (rad/s) over dt (exact arc; second-order Runge-Kutta for straight
  // motion). Non-finite input or dt <= 0: rejected (false), state unchanged.
  bool update_velocity(double wl, double wr, double dt);
  // Integrate from absolute wheel positions (rad, e.g. encoders). The first call only latches
  // the positions. dt > 0 gives the twist; dt <= 0 measures it with the monotonic clock.
  bool update_position(double left_rad, double right_rad, double dt = 0.0);
  void reset(double x = 0.0, double y = 0.0, double theta = 0.0);
  void set_yaw(double theta);
  // Integrate a known body twist (used by the control loop when the heading rate is fused).
  bool integrate_twist(double v, double w, double dt);
  // Integrate a body displacement (ds m along the heading, dtheta rad) without touching the
  // twist: odometry from wheel travel, independent of any clock. Non-finite: rejected.
  bool integrate_displacement(double ds, double dtheta);
  // The reported twist (v m/s, w rad/s), set by a caller that integrates displacements.
  void set_twist(double v, double w)
  {
    v_ = v;
    w_ = w;
  }

  double x() const {return x_;}
  double y() const {return y_;}
  double theta() const {return theta_;}
  double v() const {return v_;}
  double w() const {return w_;}
  const DiffDriveKinematics & kinematics() const {return kin_;}

private:
  void integrate(double ds, double dtheta);
  DiffDriveKinematics kin_;
  double x_{0.0}, y_{0.0}, theta_{0.0}, v_{0.0}, w_{0.0};
  bool has_position_{false};
  double last_left_{0.0}, last_right_{0.0};
  int64_t last_position_ns_{0};
};

double wrap_angle(double a);

}  // namespace edgebot_rt
