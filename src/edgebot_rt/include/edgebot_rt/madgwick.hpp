// Madgwick gradient-descent orientation filter (IMU and MARG) with gyro-bias estimation.
// Quaternion (w, x, y, z) rotates the sensor frame into the earth frame: z up; with a
// magnetometer, x points to magnetic north (NWU). Without one, yaw is integrated gyro.
#pragma once

#include <cstdint>

namespace edgebot_rt
{

struct Quaternion
{
  double w{1.0}, x{0.0}, y{0.0}, z{0.0};
};

class Madgwick
{
public:
  // beta: gradient step gain (rad/s); zeta: gyro-bias gain (1/s, 0 = no bias estimation).
  explicit Madgwick(double beta = 0.1, double zeta = 0.0);

  // Gyro rad/s, accel any unit (normalised), dt s. Returns false for non-finite input or
  // dt <= 0 (state unchanged). A zero accel vector gives a gyro-only step. If the state ever
  // becomes non-finite it is reset to identity, nan_resets() counts it and false is returned.
  bool update_imu(double gx, double gy, double gz, double ax, double ay, double az, double dt);
  // As update_imu plus a magnetometer (any unit); a zero mag vector falls back to update_imu.
  bool update_marg(
    double gx, double gy, double gz, double ax, double ay, double az,
    double mx, double my, double mz, double dt);
  // Roll and pitch from gravity, yaw 0. False for a zero or non-finite vector.
  bool init_from_accel(double ax, double ay, double az);
  bool set_quaternion(double w, double x, double y, double z);  // normalised; false if invalid
  void reset();  // identity, zero bias (nan_resets is kept)

  const Quaternion & quaternion() const {return q_;}
  double bias_x() const {return bx_;}
  double bias_y() const {return by_;}
  double bias_z() const {return bz_;}
  double beta() const {return beta_;}
  double zeta() const {return zeta_;}
  void set_beta(double beta) {beta_ = beta;}
  void set_zeta(double zeta) {zeta_ = zeta;}
  uint64_t nan_resets() const {return nan_resets_;}

private:
  bool finish(const Quaternion & q, double bx, double by, double bz);
  void step(
    double gx, double gy, double gz, double s0, double s1, double s2, double s3,
    bool has_correction, double dt, Quaternion & q, double & bx, double & by, double & bz) const;
  Quaternion q_;
  double bx_{0.0}, by_{0.0}, bz_{0.0};
  double beta_, zeta_;
  uint64_t nan_resets_{0};
};

}  // namespace edgebot_rt
