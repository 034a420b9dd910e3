#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "edgebot_rt/base_control_loop.hpp"
#include "edgebot_rt/loop_runner.hpp"

using edgebot_rt::BaseControlConfig;
using edgebot_rt::BaseControlLoop;
using edgebot_rt::FixedRateLoop;
using edgebot_rt::LatencyHistogram;
using edgebot_rt::LoopSample;

namespace
{
void wait_until(const std::function<bool()> & pred, double timeout_s = 20.0)
{
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!pred() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}
}  // namespace

TEST(LatencyHistogram, PercentilesWithinResolution)
{
  LatencyHistogram h;
  h.clear();
  for (int64_t v = 1; v <= 100000; ++v) {h.record(v);}
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.5)), 50000.0, 50000.0 * 0.02);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 99000.0, 99000.0 * 0.02);
  EXPECT_EQ(h.percentile(1.0), 100000);
  for (int64_t v = 0; v < 64; ++v) {  // exact below 64 ns
    LatencyHistogram e;
    e.clear();
    e.record(v);
    EXPECT_EQ(e.percentile(0.5), v);
  }
}

TEST(FixedRateLoop, RunsCallbackAndStopsCleanly)
{
  std::atomic<int> calls{0};
  FixedRateLoop loop(500.0, 0, [&](int64_t, double dt) {
      EXPECT_GT(dt, 0.0);
      ++calls;
    });
  ASSERT_TRUE(loop.start());
  EXPECT_FALSE(loop.start());  // already running
  wait_until([&] {return calls.load() >= 50;});
  loop.stop();
  EXPECT_FALSE(loop.running());
  const int after_stop = calls.load();
  EXPECT_GE(after_stop, 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), after_stop);  // no cycle after stop() returned
  const auto s = loop.stats();
  EXPECT_EQ(s.cycles, static_cast<uint64_t>(after_stop));
  EXPECT_GE(s.period_err_max_ns, s.period_err_p99_ns);
  EXPECT_GE(s.period_err_p99_ns, s.period_err_p50_ns);
  loop.stop();  // idempotent
  ASSERT_TRUE(loop.start());  // restartable
  wait_until([&] {return loop.stats().cycles >= 5;});
  loop.stop();
}

TEST(FixedRateLoop, InvalidRateThrows)
{
  EXPECT_THROW(FixedRateLoop(0.0, 0, [](int64_t, double) {}), std::invalid_argument);
  EXPECT_THROW(FixedRateLoop(100.0, 100, [](int64_t, double) {}), std::invalid_argument);
}

TEST(BaseControlLoop, CommandTimeoutZeroesWheels)
{
  BaseControlConfig c;
  c.command_timeout = 0.1;
  BaseControlLoop loop(c);
  const int64_t t0 = edgebot_rt::monotonic_ns();
  ASSERT_TRUE(loop.set_command(0.2, 0.0));
  LoopSample s{};
  loop.cycle(t0 + 5000000, 0.005);
  ASSERT_TRUE(loop.pop(s));
  EXPECT_FALSE(s.timed_out);
  EXPECT_GT(s.wl_cmd, 0.0);
  // a cycle after the timeout: zero at once, no ramp
  loop.cycle(t0 + 200000000, 0.005);
  ASSERT_TRUE(loop.pop(s));
  EXPECT_TRUE(s.timed_out);
  EXPECT_EQ(s.wl_cmd, 0.0);
  EXPECT_EQ(s.wr_cmd, 0.0);
}

TEST(BaseControlLoop, LimitsAndClamping)
{
  BaseControlConfig c;
  c.max_linear = 0.5;
  c.max_linear_accel = 1.0;
  c.max_wheel_speed = 10.0;
  c.command_timeout = 1000.0;
  BaseControlLoop loop(c);
  ASSERT_TRUE(loop.set_command(5.0, 0.0));
  int64_t t = edgebot_rt::monotonic_ns();
  LoopSample s{};
  loop.cycle(t, 0.01);
  ASSERT_TRUE(loop.pop(s));
  EXPECT_NEAR(s.wl_cmd, 0.01 / c.wheel_radius, 1e-9);  // 1 m/s^2 * 10 ms
  for (int i = 0; i < 200; ++i) {loop.cycle(t += 10000000, 0.01);}
  ASSERT_TRUE(loop.latest(s));
  EXPECT_NEAR(s.wl_cmd, 10.0, 1e-9);  // 0.5 m/s = 15.2 rad/s, clamped to max_wheel_speed
  EXPECT_NEAR(s.v, 10.0 * c.wheel_radius, 1e-9);  // open-loop odometry from the commands
  EXPECT_FALSE(loop.set_command(std::nan(""), 0.0));
  EXPECT_EQ(loop.rejected(), 1u);
}

TEST(BaseControlLoop, OdometryFromFreshFeedbackAndImuFusion)
{
  BaseControlConfig c;
  c.use_feedback = true;
  c.imu_yaw_weight = 1.0;
  c.command_timeout = 1000.0;
  c.feedback_timeout = 1000.0;
  BaseControlLoop loop(c);
  loop.set_command(0.0, 0.0);
  loop.set_wheel_feedback(5.0, 5.0);
  loop.set_imu_yaw_rate(0.3);
  int64_t t = edgebot_rt::monotonic_ns();
  for (int i = 0; i < 100; ++i) {loop.cycle(t += 10000000, 0.01);}
  LoopSample s{};
  ASSERT_TRUE(loop.latest(s));
  EXPECT_NEAR(s.v, 5.0 * c.wheel_radius, 1e-9);  // measured, not commanded (0)
  EXPECT_NEAR(s.w, 0.3, 1e-9);                  // heading rate from the gyro
  EXPECT_NEAR(s.theta, 0.3, 1e-9);
  // the PID pushes the wheel commands against the measured overspeed
  EXPECT_LT(s.wl_cmd, 0.0);
}

TEST(BaseControlLoop, ThreadProducesSamplesAndStops)
{
  BaseControlConfig c;
  c.rate_hz = 500.0;
  BaseControlLoop loop(c);
  ASSERT_TRUE(loop.start());
  loop.set_command(0.1, 0.0);
  wait_until([&] {return loop.stats().cycles >= 20;});
  loop.stop();
  EXPECT_FALSE(loop.running());
  LoopSample s{};
  size_t n = 0;
  while (loop.pop(s)) {++n;}
  EXPECT_EQ(n, loop.stats().cycles);
}

TEST(BaseControlLoop, WheelPidRemovesPlantGainErrorWithFeedback)
{
  // wheels that reach only 80 % of the commanded speed (first-order, 50 ms): open loop stays
  // 20 % short, the feedback PID closes the gap
  auto run = [](bool use_feedback) {
      BaseControlConfig c;
      c.use_feedback = use_feedback;
      c.max_linear_accel = 100.0;
      BaseControlLoop loop(c);
      double wl = 0.0, wr = 0.0;
      const double dt = 0.005;
      LoopSample s{};
      for (int i = 0; i < 1000; ++i) {  // 5 s
        loop.set_command(0.2, 0.0);
        loop.set_wheel_feedback(wl, wr);
        loop.cycle(edgebot_rt::monotonic_ns(), dt);
        EXPECT_TRUE(loop.latest(s));
        wl += dt * (0.8 * s.wl_cmd - wl) / 0.05;
        wr += dt * (0.8 * s.wr_cmd - wr) / 0.05;
      }
      return wl;
    };
  const double target = 0.2 / 0.033;
  EXPECT_NEAR(run(false), 0.8 * target, 1e-3 * target);
  EXPECT_NEAR(run(true), target, 1e-2 * target);
}
