#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "edgebot_rt/pid.hpp"

using edgebot_rt::Pid;

namespace
{
// first-order plant  T y' = -y + K u
struct Plant
{
  double y{0.0}, K{1.0}, T{0.5};
  void step(double u, double dt) {y += dt * (-y + K * u) / T;}
};
}  // namespace

TEST(Pid, ClosedLoopFirstOrderPlantSettles)
{
  Pid pid(2.0, 4.0, 0.05, -10.0, 10.0, 0.02);
  Plant plant;
  const double dt = 0.005;
  double peak = 0.0;
  double settled_at = -1.0;
  for (int i = 0; i < 2000; ++i) {  // 10 s
    const double u = pid.update(1.0, plant.y, dt);
    plant.step(u, dt);
    peak = std::max(peak, plant.y);
    if (std::fabs(plant.y - 1.0) > 0.02) {settled_at = -1.0;} else if (settled_at < 0) {
      settled_at = i * dt;
    }
  }
  EXPECT_NEAR(plant.y, 1.0, 1e-3);
  EXPECT_LT(peak, 1.2);          // overshoot under 20 %
  ASSERT_GE(settled_at, 0.0);
  EXPECT_LT(settled_at, 3.0);    // within 2 % after 3 s
}

TEST(Pid, OutputIsClampedAndIntegratorDoesNotWindUp)
{
  Pid pid(1.0, 5.0, 0.0, -0.5, 0.5);
  Plant plant;
  const double dt = 0.01;
  for (int i = 0; i < 1000; ++i) {  // unreachable setpoint for 10 s
    const double u = pid.update(5.0, plant.y, dt);
    EXPECT_LE(u, 0.5);
    EXPECT_GE(u, -0.5);
    plant.step(u, dt);
  }
  EXPECT_LE(pid.integral(), 0.5);
  // back to a reachable setpoint: the output leaves saturation at once (no wound-up integral)
  const double u = pid.update(0.0, plant.y, dt);
  EXPECT_LT(u, 0.5);
}

TEST(Pid, RejectsNonFiniteInputKeepingState)
{
  Pid pid(1.0, 1.0, 0.1, -10.0, 10.0);
  const double first = pid.update(1.0, 0.0, 0.01);
  const double integral = pid.integral();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(pid.update(nan, 0.0, 0.01), first);
  EXPECT_EQ(pid.update(1.0, inf, 0.01), first);
  EXPECT_EQ(pid.update(1.0, 0.0, 0.0), first);
  EXPECT_EQ(pid.update(1.0, 0.0, -1.0), first);
  EXPECT_EQ(pid.integral(), integral);
  EXPECT_EQ(pid.rejected(), 4u);
}

TEST(Pid, DerivativeActsOnMeasurementAndIsFiltered)
{
  Pid raw(0.0, 0.0, 1.0, -100.0, 100.0, 0.0);
  Pid filt(0.0, 0.0, 1.0, -100.0, 100.0, 0.1);
  raw.update(0.0, 0.0, 0.01);
  filt.update(0.0, 0.0, 0.01);
  // a setpoint step alone gives no derivative kick
  EXPECT_EQ(raw.update(5.0, 0.0, 0.01), 0.0);
  filt.update(5.0, 0.0, 0.01);
  // a measurement step: raw derivative -1/0.01 = -100, filtered alpha = 0.01/0.11
  EXPECT_NEAR(raw.update(5.0, 1.0, 0.01), -100.0, 1e-9);
  EXPECT_NEAR(filt.update(5.0, 1.0, 0.01), -100.0 * 0.01 / 0.11, 1e-9);
}

TEST(Pid, ResetClearsState)
{
  Pid pid(1.0, 1.0, 0.0, -10.0, 10.0);
  for (int i = 0; i < 10; ++i) {pid.update(1.0, 0.0, 0.1);}
  EXPECT_GT(pid.integral(), 0.0);
  pid.reset();
  EXPECT_EQ(pid.integral(), 0.0);
  EXPECT_EQ(pid.last_output(), 0.0);
}

TEST(Pid, InvalidConfigurationThrows)
{
  EXPECT_THROW(Pid(1, 0, 0, 1.0, -1.0), std::invalid_argument);
  EXPECT_THROW(Pid(std::nan(""), 0, 0, -1.0, 1.0), std::invalid_argument);
  EXPECT_THROW(Pid(1, 0, 0, -1.0, 1.0, -0.1), std::invalid_argument);
}
