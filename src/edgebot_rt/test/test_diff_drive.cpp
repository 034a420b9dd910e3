#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "edgebot_rt/diff_drive.hpp"

using edgebot_rt::DiffDriveKinematics;
using edgebot_rt::Odometry;

namespace
{
constexpr double kR = 0.033;
constexpr double kSep = 0.16;
}

TEST(Kinematics, InverseAndForwardAreInverse)
{
  DiffDriveKinematics k(kR, kSep);
  const auto ws = k.inverse(0.3, 1.2);
  EXPECT_NEAR(ws.left, (0.3 - 1.2 * kSep / 2) / kR, 1e-12);
  EXPECT_NEAR(ws.right, (0.3 + 1.2 * kSep / 2) / kR, 1e-12);
  const auto t = k.forward(ws.left, ws.right);
  EXPECT_NEAR(t.v, 0.3, 1e-12);
  EXPECT_NEAR(t.w, 1.2, 1e-12);
  EXPECT_THROW(DiffDriveKinematics(0.0, kSep), std::invalid_argument);
}

TEST(Odometry, StraightLine)
{
  Odometry o(kR, kSep);
  const double wheel = 0.2 / kR;  // 0.2 m/s
  for (int i = 0; i < 500; ++i) {ASSERT_TRUE(o.update_velocity(wheel, wheel, 0.01));}
  EXPECT_NEAR(o.x(), 1.0, 1e-9);
  EXPECT_NEAR(o.y(), 0.0, 1e-12);
  EXPECT_NEAR(o.theta(), 0.0, 1e-12);
  EXPECT_NEAR(o.v(), 0.2, 1e-12);
}

TEST(Odometry, FullCircleReturnsToStart)
{
  Odometry o(kR, kSep);
  DiffDriveKinematics k(kR, kSep);
  const double v = 0.2, w = 0.5;  // radius 0.4 m, period 4 pi s
  const auto ws = k.inverse(v, w);
  const double period = 2.0 * M_PI / w;
  const int n = 1000;
  for (int i = 0; i < n / 4; ++i) {o.update_velocity(ws.left, ws.right, period / n);}
  // a quarter circle to the left: (r, r), heading pi/2
  EXPECT_NEAR(o.x(), 0.4, 1e-9);
  EXPECT_NEAR(o.y(), 0.4, 1e-9);
  EXPECT_NEAR(o.theta(), M_PI / 2, 1e-9);
  for (int i = n / 4; i < n; ++i) {o.update_velocity(ws.left, ws.right, period / n);}
  EXPECT_NEAR(o.x(), 0.0, 1e-9);
  EXPECT_NEAR(o.y(), 0.0, 1e-9);
  EXPECT_NEAR(std::fabs(o.theta()), 0.0, 1e-9);
}

TEST(Odometry, TurnInPlace)
{
  Odometry o(kR, kSep);
  const double wheel = 1.0;
  for (int i = 0; i < 100; ++i) {o.update_velocity(-wheel, wheel, 0.01);}
  EXPECT_NEAR(o.x(), 0.0, 1e-12);
  EXPECT_NEAR(o.y(), 0.0, 1e-12);
  EXPECT_NEAR(o.theta(), 2.0 * kR / kSep, 1e-12);
  EXPECT_NEAR(o.w(), 2.0 * kR / kSep, 1e-12);
}

TEST(Odometry, FromEncoderPositions)
{
  Odometry o(kR, kSep);
  EXPECT_TRUE(o.update_position(10.0, 20.0, 0.1));  // first call latches only
  EXPECT_EQ(o.x(), 0.0);
  const double rad = 1.0 / kR;  // 1 m of travel per wheel
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(o.update_position(10.0 + rad * i / 10, 20.0 + rad * i / 10, 0.1));
  }
  EXPECT_NEAR(o.x(), 1.0, 1e-9);
  EXPECT_NEAR(o.v(), 1.0, 1e-9);
  EXPECT_FALSE(o.update_position(std::nan(""), 0.0));
}

TEST(Odometry, RejectsNonFiniteAndResets)
{
  Odometry o(kR, kSep);
  o.update_velocity(1.0, 1.0, 0.1);
  const double x = o.x();
  EXPECT_FALSE(o.update_velocity(std::numeric_limits<double>::infinity(), 1.0, 0.1));
  EXPECT_FALSE(o.update_velocity(1.0, 1.0, -0.1));
  EXPECT_EQ(o.x(), x);
  o.reset(1.0, 2.0, 4.0);
  EXPECT_EQ(o.x(), 1.0);
  EXPECT_EQ(o.y(), 2.0);
  EXPECT_NEAR(o.theta(), 4.0 - 2 * M_PI, 1e-12);  // wrapped to (-pi, pi]
  o.set_yaw(0.5);
  EXPECT_EQ(o.theta(), 0.5);
}
