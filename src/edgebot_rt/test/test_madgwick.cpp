#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "edgebot_rt/madgwick.hpp"

using edgebot_rt::Madgwick;
using edgebot_rt::Quaternion;

namespace
{
Quaternion mul(const Quaternion & a, const Quaternion & b)
{
  return Quaternion{
    a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
    a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
}
Quaternion conj(const Quaternion & q) {return Quaternion{q.w, -q.x, -q.y, -q.z};}
// rotate the world vector v into the sensor frame: R(q)^T v
void to_sensor(const Quaternion & q, double v[3], double out[3])
{
  const Quaternion p{0.0, v[0], v[1], v[2]};
  const Quaternion r = mul(mul(conj(q), p), q);
  out[0] = r.x;
  out[1] = r.y;
  out[2] = r.z;
}
double angle_deg(const Quaternion & a, const Quaternion & b)
{
  const double d = std::fabs(a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z);
  return 2.0 * std::acos(std::min(1.0, d)) * 180.0 / M_PI;
}
Quaternion axis_angle(double x, double y, double z, double angle)
{
  const double n = std::sqrt(x * x + y * y + z * z);
  const double s = std::sin(angle / 2) / n;
  return Quaternion{std::cos(angle / 2), x * s, y * s, z * s};
}
}  // namespace

TEST(Madgwick, StaticTiltConvergesFromIdentity)
{
  const Quaternion truth = axis_angle(1.0, 0.5, 0.0, 0.6);
  double g[3] = {0, 0, 9.81}, a[3];
  to_sensor(truth, g, a);
  Madgwick f(0.3);
  for (int i = 0; i < 4000; ++i) {ASSERT_TRUE(f.update_imu(0, 0, 0, a[0], a[1], a[2], 0.005));}
  // without a magnetometer yaw is unobservable: compare the gravity direction
  double est[3];
  to_sensor(f.quaternion(), g, est);
  const double cosang = (est[0] * a[0] + est[1] * a[1] + est[2] * a[2]) / (9.81 * 9.81);
  EXPECT_LT(std::acos(std::min(1.0, cosang)) * 180.0 / M_PI, 0.5);
}

TEST(Madgwick, InitFromAccelMatchesTilt)
{
  const Quaternion truth = axis_angle(0.3, -1.0, 0.0, 0.4);  // no yaw component
  double g[3] = {0, 0, 1}, a[3];
  to_sensor(truth, g, a);
  Madgwick f;
  ASSERT_TRUE(f.init_from_accel(a[0], a[1], a[2]));
  double est[3];
  to_sensor(f.quaternion(), g, est);
  EXPECT_NEAR(est[0], a[0], 1e-9);
  EXPECT_NEAR(est[1], a[1], 1e-9);
  EXPECT_NEAR(est[2], a[2], 1e-9);
  EXPECT_FALSE(f.init_from_accel(0, 0, 0));
}

TEST(Madgwick, MargTracksRotatingBody)
{
  // spin about z at 1 rad/s while tilted; earth field points north and down
  double g[3] = {0, 0, 9.81}, mag[3] = {0.2, 0.0, -0.4};
  const double dt = 0.005, wz = 1.0;
  Quaternion truth{};
  Madgwick f(0.1);
  f.set_quaternion(truth.w, truth.x, truth.y, truth.z);
  double sum_sq = 0.0;
  int n = 0;
  for (int i = 0; i < 4000; ++i) {
    const Quaternion step = axis_angle(0, 0, 1, wz * dt);
    const Quaternion next = mul(truth, step);  // body rate in the body frame
    double a[3], m[3];
    to_sensor(next, g, a);
    to_sensor(next, mag, m);
    ASSERT_TRUE(f.update_marg(0, 0, wz, a[0], a[1], a[2], m[0], m[1], m[2], dt));
    truth = next;
    sum_sq += std::pow(angle_deg(truth, f.quaternion()), 2);
    ++n;
  }
  EXPECT_LT(std::sqrt(sum_sq / n), 2.0);
}

TEST(Madgwick, EstimatesGyroBias)
{
  double g[3] = {0, 0, 9.81}, mag[3] = {0.2, 0.0, -0.4};
  Madgwick f(0.1, 0.05);
  for (int i = 0; i < 40000; ++i) {  // 200 s at rest with a biased gyro
    ASSERT_TRUE(f.update_marg(0.02, -0.01, 0.015, g[0], g[1], g[2], mag[0], mag[1], mag[2], 0.005));
  }
  EXPECT_NEAR(f.bias_x(), 0.02, 0.005);
  EXPECT_NEAR(f.bias_y(), -0.01, 0.005);
  EXPECT_NEAR(f.bias_z(), 0.015, 0.005);
  EXPECT_LT(angle_deg(f.quaternion(), Quaternion{}), 0.5);
}

TEST(Madgwick, RejectsNonFiniteInputAndRecoversFromNonFiniteState)
{
  Madgwick f;
  f.update_imu(0.1, 0, 0, 0, 0, 1, 0.01);
  const Quaternion before = f.quaternion();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(f.update_imu(nan, 0, 0, 0, 0, 1, 0.01));
  EXPECT_FALSE(f.update_imu(0, 0, 0, 0, std::numeric_limits<double>::infinity(), 1, 0.01));
  EXPECT_FALSE(f.update_imu(0, 0, 0, 0, 0, 1, 0.0));
  EXPECT_FALSE(f.update_marg(0, 0, 0, 0, 0, 1, nan, 0, 0, 0.01));
  EXPECT_EQ(f.quaternion().w, before.w);
  EXPECT_EQ(f.quaternion().x, before.x);
  EXPECT_EQ(f.nan_resets(), 0u);
  // finite but absurd input overflows the state: reset to identity and counted
  EXPECT_FALSE(f.update_imu(1e308, 1e308, 1e308, 0, 0, 1, 1e10));
  EXPECT_EQ(f.nan_resets(), 1u);
  EXPECT_EQ(f.quaternion().w, 1.0);
  EXPECT_TRUE(f.update_imu(0, 0, 0, 0, 0, 1, 0.01));
}

TEST(Madgwick, ZeroAccelIsGyroOnly)
{
  Madgwick f(0.5);
  for (int i = 0; i < 100; ++i) {ASSERT_TRUE(f.update_imu(0, 0, 1.0, 0, 0, 0, 0.01));}
  const Quaternion q = f.quaternion();
  EXPECT_NEAR(2.0 * std::atan2(q.z, q.w), 1.0, 1e-3);
}
