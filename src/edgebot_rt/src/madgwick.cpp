#include "edgebot_rt/madgwick.hpp"

#include <cmath>

namespace edgebot_rt
{

namespace
{
inline bool finite3(double a, double b, double c)
{
  return std::isfinite(a) && std::isfinite(b) && std::isfinite(c);
}
}  // namespace

Madgwick::Madgwick(double beta, double zeta)
: beta_(beta), zeta_(zeta) {}

void Madgwick::reset()
{
  q_ = Quaternion{};
  bx_ = by_ = bz_ = 0.0;
}

bool Madgwick::set_quaternion(double w, double x, double y, double z)
{
  const double n = std::sqrt(w * w + x * x + y * y + z * z);
  if (!std::isfinite(n) || n <= 0.0) {return false;}
  q_ = Quaternion{w / n, x / n, y / n, z / n};
  return true;
}

bool Madgwick::init_from_accel(double ax, double ay, double az)
{
  if (!finite3(ax, ay, az) || (ax == 0.0 && ay == 0.0 && az == 0.0)) {return false;}
  const double roll = std::atan2(ay, az);
  const double pitch = std::atan2(-ax, std::sqrt(ay * ay + az * az));
  const double cr = std::cos(0.5 * roll), sr = std::sin(0.5 * roll);
  const double cp = std::cos(0.5 * pitch), sp = std::sin(0.5 * pitch);
  q_ = Quaternion{cr * cp, sr * cp, cr * sp, -sr * sp};
  return true;
}

// Shared integration step: gyro (bias-corrected inside), normalised gradient step s, gains.
void Madgwick::step(
  double gx, double gy, double gz, double s0, double s1, double s2, double s3,
  bool has_correction, double dt, Quaternion & q, double & bx, double & by, double & bz) const
{
  const double q0 = q.w, q1 = q.x, q2 = q.y, q3 = q.z;
  if (has_correction && zeta_ != 0.0) {
    // gyro error = 2 q* (x) s (vector part), integrated into the bias estimate
    const double ex = 2.0 * (q0 * s1 - q1 * s0 - q2 * s3 + q3 * s2);
    const double ey = 2.0 * (q0 * s2 + q1 * s3 - q2 * s0 - q3 * s1);
    const double ez = 2.0 * (q0 * s3 - q1 * s2 + q2 * s1 - q3 * s0);
    bx += zeta_ * ex * dt;
    by += zeta_ * ey * dt;
    bz += zeta_ * ez * dt;
  }
  gx -= bx;
  gy -= by;
  gz -= bz;
  // rate of change from the gyro: 0.5 q (x) (0, g)
  double qd0 = 0.5 * (-q1 * gx - q2 * gy - q3 * gz);
  double qd1 = 0.5 * (q0 * gx + q2 * gz - q3 * gy);
  double qd2 = 0.5 * (q0 * gy - q1 * gz + q3 * gx);
  double qd3 = 0.5 * (q0 * gz + q1 * gy - q2 * gx);
  if (has_correction) {
    qd0 -= beta_ * s0;
    qd1 -= beta_ * s1;
    qd2 -= beta_ * s2;
    qd3 -= beta_ * s3;
  }
  double n0 = q0 + qd0 * dt, n1 = q1 + qd1 * dt, n2 = q2 + qd2 * dt, n3 = q3 + qd3 * dt;
  const double norm = std::sqrt(n0 * n0 + n1 * n1 + n2 * n2 + n3 * n3);
  n0 /= norm;
  n1 /= norm;
  n2 /= norm;
  n3 /= norm;
  q = Quaternion{n0, n1, n2, n3};
}

bool Madgwick::finish(const Quaternion & q, double bx, double by, double bz)
{
  if (!std::isfinite(q.w) || !finite3(q.x, q.y, q.z) || !finite3(bx, by, bz)) {
    reset();
    ++nan_resets_;
    return false;
  }
  q_ = q;
  bx_ = bx;
  by_ = by;
  bz_ = bz;
  return true;
}

bool Madgwick::update_imu(double gx, double gy, double gz, double ax, double ay, double az, double dt)
{
  if (!finite3(gx, gy, gz) || !finite3(ax, ay, az) || !std::isfinite(dt) || dt <= 0.0) {
    return false;
  }
  const double q0 = q_.w, q1 = q_.x, q2 = q_.y, q3 = q_.z;
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  bool corr = false;
  const double an = std::sqrt(ax * ax + ay * ay + az * az);
  if (an > 0.0 && std::isfinite(an)) {
    ax /= an;
    ay /= an;
    az /= an;
    // objective: predicted gravity in the sensor frame minus measured
    const double f1 = 2.0 * (q1 * q3 - q0 * q2) - ax;
    const double f2 = 2.0 * (q0 * q1 + q2 * q3) - ay;
    const double f3 = 2.0 * (0.5 - q1 * q1 - q2 * q2) - az;
    s0 = -2.0 * q2 * f1 + 2.0 * q1 * f2;
    s1 = 2.0 * q3 * f1 + 2.0 * q0 * f2 - 4.0 * q1 * f3;
    s2 = -2.0 * q0 * f1 + 2.0 * q3 * f2 - 4.0 * q2 * f3;
    s3 = 2.0 * q1 * f1 + 2.0 * q2 * f2;
    const double sn = std::sqrt(s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3);
    if (sn > 0.0) {
      s0 /= sn;
      s1 /= sn;
      s2 /= sn;
      s3 /= sn;
      corr = true;
    }
  }
  Quaternion q = q_;
  double bx = bx_, by = by_, bz = bz_;
  step(gx, gy, gz, s0, s1, s2, s3, corr, dt, q, bx, by, bz);
  return finish(q, bx, by, bz);
}

bool Madgwick::update_marg(
  double gx, double gy, double gz, double ax, double ay, double az,
  double mx, double my, double mz, double dt)
{
  if (!finite3(mx, my, mz)) {
    return false;
  }
  const double mn = std::sqrt(mx * mx + my * my + mz * mz);
  if (!(mn > 0.0) || !std::isfinite(mn)) {
    return update_imu(gx, gy, gz, ax, ay, az, dt);
  }
  if (!finite3(gx, gy, gz) || !finite3(ax, ay, az) || !std::isfinite(dt) || dt <= 0.0) {
    return false;
  }
  const double an = std::sqrt(ax * ax + ay * ay + az * az);
  if (!(an > 0.0) || !std::isfinite(an)) {
    return update_imu(gx, gy, gz, 0.0, 0.0, 0.0, dt);  // gyro-only step
  }
  ax /= an;
  ay /= an;
  az /= an;
  mx /= mn;
  my /= mn;
  mz /= mn;
  const double q0 = q_.w, q1 = q_.x, q2 = q_.y, q3 = q_.z;
  // earth-frame direction of the field: h = R(q) m, reference b = (|h_xy|, 0, h_z)
  const double hx = (1.0 - 2.0 * (q2 * q2 + q3 * q3)) * mx + 2.0 * (q1 * q2 - q0 * q3) * my +
    2.0 * (q1 * q3 + q0 * q2) * mz;
  const double hy = 2.0 * (q1 * q2 + q0 * q3) * mx + (1.0 - 2.0 * (q1 * q1 + q3 * q3)) * my +
    2.0 * (q2 * q3 - q0 * q1) * mz;
  const double hz = 2.0 * (q1 * q3 - q0 * q2) * mx + 2.0 * (q2 * q3 + q0 * q1) * my +
    (1.0 - 2.0 * (q1 * q1 + q2 * q2)) * mz;
  const double bx = std::sqrt(hx * hx + hy * hy);
  const double bz = hz;
  const double f1 = 2.0 * (q1 * q3 - q0 * q2) - ax;
  const double f2 = 2.0 * (q0 * q1 + q2 * q3) - ay;
  const double f3 = 2.0 * (0.5 - q1 * q1 - q2 * q2) - az;
  const double f4 = 2.0 * bx * (0.5 - q2 * q2 - q3 * q3) + 2.0 * bz * (q1 * q3 - q0 * q2) - mx;
  const double f5 = 2.0 * bx * (q1 * q2 - q0 * q3) + 2.0 * bz * (q0 * q1 + q2 * q3) - my;
  const double f6 = 2.0 * bx * (q0 * q2 + q1 * q3) + 2.0 * bz * (0.5 - q1 * q1 - q2 * q2) - mz;
  double s0 = -2.0 * q2 * f1 + 2.0 * q1 * f2 - 2.0 * bz * q2 * f4 +
    (-2.0 * bx * q3 + 2.0 * bz * q1) * f5 + 2.0 * bx * q2 * f6;
  double s1 = 2.0 * q3 * f1 + 2.0 * q0 * f2 - 4.0 * q1 * f3 + 2.0 * bz * q3 * f4 +
    (2.0 * bx * q2 + 2.0 * bz * q0) * f5 + (2.0 * bx * q3 - 4.0 * bz * q1) * f6;
  double s2 = -2.0 * q0 * f1 + 2.0 * q3 * f2 - 4.0 * q2 * f3 + (-4.0 * bx * q2 - 2.0 * bz * q0) * f4 +
    (2.0 * bx * q1 + 2.0 * bz * q3) * f5 + (2.0 * bx * q0 - 4.0 * bz * q2) * f6;
  double s3 = 2.0 * q1 * f1 + 2.0 * q2 * f2 + (-4.0 * bx * q3 + 2.0 * bz * q1) * f4 +
    (-2.0 * bx * q0 + 2.0 * bz * q2) * f5 + 2.0 * bx * q1 * f6;
  bool corr = false;
  const double sn = std::sqrt(s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3);
  if (sn > 0.0 && std::isfinite(sn)) {
    s0 /= sn;
    s1 /= sn;
    s2 /= sn;
    s3 /= sn;
    corr = true;
  }
  Quaternion q = q_;
  double gbx = bx_, gby = by_, gbz = bz_;
  step(gx, gy, gz, s0, s1, s2, s3, corr, dt, q, gbx, gby, gbz);
  return finish(q, gbx, gby, gbz);
}

}  // namespace edgebot_rt
