#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "edgebot_rt/rate_limiter.hpp"

using edgebot_rt::RateLimiter;

TEST(RateLimiter, LimitsAccelerationAndVelocity)
{
  RateLimiter lim(0.5, 1.0);
  double prev = 0.0;
  for (int i = 0; i < 100; ++i) {
    const double v = lim.step(2.0, 0.01);
    EXPECT_LE(v - prev, 1.0 * 0.01 + 1e-12);
    prev = v;
  }
  EXPECT_DOUBLE_EQ(lim.value(), 0.5);  // reached the velocity limit after 0.5 s
  EXPECT_NEAR(RateLimiter(0.5, 1.0).step(0.3, 0.1), 0.1, 1e-12);
  // decelerating is limited too
  EXPECT_NEAR(lim.step(-2.0, 0.1), 0.4, 1e-12);
}

TEST(RateLimiter, InfinityDisablesALimit)
{
  const double inf = std::numeric_limits<double>::infinity();
  RateLimiter lim(1.0, inf);
  EXPECT_DOUBLE_EQ(lim.step(5.0, 0.01), 1.0);
  RateLimiter lim2(inf, 2.0);
  EXPECT_NEAR(lim2.step(5.0, 0.5), 1.0, 1e-12);
}

TEST(RateLimiter, RejectsNonFiniteAndReset)
{
  RateLimiter lim(1.0, 1.0);
  lim.step(1.0, 0.5);
  EXPECT_DOUBLE_EQ(lim.step(std::nan(""), 0.1), 0.5);
  EXPECT_DOUBLE_EQ(lim.step(1.0, std::nan("")), 0.5);
  EXPECT_DOUBLE_EQ(lim.step(1.0, 0.0), 0.5);
  lim.reset(0.25);
  EXPECT_DOUBLE_EQ(lim.value(), 0.25);
  lim.reset();
  EXPECT_DOUBLE_EQ(lim.value(), 0.0);
  EXPECT_THROW(RateLimiter(0.0, 1.0), std::invalid_argument);
  EXPECT_THROW(RateLimiter(1.0, std::nan("")), std::invalid_argument);
}

TEST(RateLimiter, BrakeFallsToZeroAtTheGivenDecelerationWithoutOvershoot)
{
  RateLimiter lim(1.0, 1.0);
  lim.reset(0.5);
  EXPECT_NEAR(lim.brake(0.01, 5.0), 0.45, 1e-12);  // 5 m/s^2, not the 1 m/s^2 ramp
  for (int i = 0; i < 20; ++i) {lim.brake(0.01, 5.0);}
  EXPECT_EQ(lim.value(), 0.0);  // exactly zero, never through it
  lim.reset(-0.3);
  EXPECT_NEAR(lim.brake(0.02, 5.0), -0.2, 1e-12);
  EXPECT_EQ(lim.brake(1.0, 5.0), 0.0);
  lim.reset(0.7);
  EXPECT_EQ(lim.brake(0.001, std::numeric_limits<double>::infinity()), 0.0);  // at once
  lim.reset(0.7);
  EXPECT_DOUBLE_EQ(lim.brake(std::nan(""), 5.0), 0.7);  // rejected: unchanged
  EXPECT_DOUBLE_EQ(lim.brake(0.01, 0.0), 0.7);
  EXPECT_DOUBLE_EQ(lim.brake(0.01, std::nan("")), 0.7);
}
