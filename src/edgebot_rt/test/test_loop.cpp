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
  int64_t t = edgebot_rt::monotonic_ns();
  for (int i = 0; i <= 100; ++i) {  // 1 s of stamped speeds, one message per cycle
    loop.set_wheel_feedback(5.0, 5.0, 0.01 * i);
    loop.set_imu_yaw_rate(0.3, 0.01 * i);
    loop.cycle(t += 10000000, 0.01);
  }
  LoopSample s{};
  ASSERT_TRUE(loop.latest(s));
  EXPECT_NEAR(s.v, 5.0 * c.wheel_radius, 1e-9);  // measured, not commanded (0)
  EXPECT_NEAR(s.w, 0.3, 1e-9);                  // heading rate from the gyro
  EXPECT_NEAR(s.theta, 0.3, 1e-9);              // the gyro's heading change over the 1 s
  // the PID pushes the wheel commands against the measured overspeed
  EXPECT_LT(s.wl_cmd, 0.0);
}

namespace
{
// Wheel positions stamped every 20 ms of the feedback's (simulated) time while the loop runs
// 60 ms per message: a simulator at a third of real time. `every`: only every n-th message
// reaches the loop (the others are dropped), `cycles`: loop cycles per message.
LoopSample drive_positions(
  BaseControlConfig c, double left_rate, double right_rate, int messages, int every, int cycles,
  bool with_positions = true)
{
  c.command_timeout = 1000.0;
  c.feedback_timeout = 1000.0;
  BaseControlLoop loop(c);
  loop.set_command(0.0, 0.0);
  int64_t t = edgebot_rt::monotonic_ns();
  const double step = 0.02;
  for (int i = 0; i < messages; ++i) {
    if (i % every == 0 || i == messages - 1) {
      if (with_positions) {
        EXPECT_TRUE(loop.set_wheel_state(
            step * i, true, left_rate, right_rate, true, 1.0 + left_rate * step * i,
            -2.0 + right_rate * step * i));
      } else {
        EXPECT_TRUE(loop.set_wheel_feedback(left_rate, right_rate, step * i));
      }
    }
    for (int k = 0; k < cycles; ++k) {loop.cycle(t += 20000000, 0.02);}
  }
  LoopSample s{};
  EXPECT_TRUE(loop.latest(s));
  return s;
}
}  // namespace

TEST(BaseControlLoop, PositionOdometryIsTheWheelGeometryWhateverTheLoopClock)
{
  BaseControlConfig c;
  const double secs = 0.02 * 99;  // 100 messages: 99 steps of the feedback's time
  // straight, 10 rad/s: 3 loop cycles of 20 ms per 20 ms of feedback time
  LoopSample s = drive_positions(c, 10.0, 10.0, 100, 1, 3);
  EXPECT_NEAR(s.x, c.wheel_radius * 10.0 * secs, 1e-9);
  EXPECT_NEAR(s.y, 0.0, 1e-12);
  EXPECT_NEAR(s.theta, 0.0, 1e-12);
  // on the spot: the heading is the wheel geometry's angle
  s = drive_positions(c, -4.0, 4.0, 100, 1, 3);
  EXPECT_NEAR(s.theta, edgebot_rt::wrap_angle(c.wheel_radius * 8.0 * secs / c.wheel_separation), 1e-9);
  EXPECT_NEAR(s.x, 0.0, 1e-9);
  // a loop as slow as a third of the feedback rate (messages overwrite each other): the same
  s = drive_positions(c, -4.0, 4.0, 300, 3, 1);
  EXPECT_NEAR(s.theta, edgebot_rt::wrap_angle(c.wheel_radius * 8.0 * 0.02 * 299 / c.wheel_separation), 1e-9);
}

TEST(BaseControlLoop, DroppedPositionFeedbackLosesNothing)
{
  BaseControlConfig c;
  const double secs = 0.02 * 99;
  const LoopSample all = drive_positions(c, 6.0, 9.0, 100, 1, 3);
  const LoopSample some = drive_positions(c, 6.0, 9.0, 100, 7, 3);  // 6 of 7 messages lost
  EXPECT_NEAR(c.wheel_radius * 3.0 * secs / c.wheel_separation, all.theta, 1e-9);
  // constant wheel rates: one circular arc, however it is cut up
  EXPECT_NEAR(some.theta, all.theta, 1e-9);
  EXPECT_NEAR(some.x, all.x, 1e-9);
  EXPECT_NEAR(some.y, all.y, 1e-9);
  EXPECT_GT(all.y, 0.01);  // it did curve
}

TEST(BaseControlLoop, VelocityOdometryUsesTheFeedbackStampsNotTheLoopDt)
{
  BaseControlConfig c;
  const double secs = 0.02 * 99;
  LoopSample s = drive_positions(c, 10.0, 10.0, 100, 1, 3, false);
  EXPECT_NEAR(s.x, c.wheel_radius * 10.0 * secs, 1e-9);
  // position_feedback false: the positions are ignored, the velocities x stamps used
  c.position_feedback = false;
  s = drive_positions(c, 10.0, 10.0, 100, 1, 3);
  EXPECT_NEAR(s.x, c.wheel_radius * 10.0 * secs, 1e-9);
}

TEST(BaseControlLoop, ImuHeadingChangeOnItsOwnStamps)
{
  // wheels straight, the gyro turns at 0.5 rad/s on the feedback clock; the loop at 3x
  BaseControlConfig c;
  c.imu_yaw_weight = 1.0;
  c.command_timeout = 1000.0;
  c.feedback_timeout = 1000.0;
  BaseControlLoop loop(c);
  loop.set_command(0.0, 0.0);
  int64_t t = edgebot_rt::monotonic_ns();
  for (int i = 0; i <= 100; ++i) {
    loop.set_imu_yaw_rate(0.5, 0.02 * i);
    loop.set_wheel_state(0.02 * i, false, 0.0, 0.0, true, 0.2 * i, 0.2 * i);
    for (int k = 0; k < 3; ++k) {loop.cycle(t += 20000000, 0.02);}
  }
  LoopSample s{};
  ASSERT_TRUE(loop.latest(s));
  // 100 steps of 20 ms of the gyro's time (the loop ran 3x that on its clock)
  EXPECT_NEAR(s.theta, 0.5 * 0.02 * 100, 1e-9);
  // no velocity and no position: rejected and counted
  EXPECT_FALSE(loop.set_wheel_state(1.0, false, 0.0, 0.0, false, 0.0, 0.0));
  EXPECT_FALSE(loop.set_wheel_state(1.0, false, 0.0, 0.0, true, std::nan(""), 0.0));
  EXPECT_FALSE(loop.set_imu_yaw_rate(std::nan(""), 1.0));
  EXPECT_EQ(loop.rejected(), 3u);
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

namespace
{
// cycles until the loop's linear speed (from commands: open-loop odometry) is zero; returns
// the simulated seconds it took
double seconds_to_zero(BaseControlLoop & loop, int64_t & t, double dt, bool keep_commanding_zero)
{
  LoopSample s{};
  for (int i = 1; i < 10000; ++i) {
    if (keep_commanding_zero) {loop.set_command(0.0, 0.0);}
    loop.cycle(t += static_cast<int64_t>(dt * 1e9), dt);
    EXPECT_TRUE(loop.latest(s));
    if (s.wl_cmd == 0.0 && s.wr_cmd == 0.0) {return i * dt;}
  }
  return 1e9;
}

BaseControlConfig braking_config()
{
  BaseControlConfig c;
  c.max_linear = 0.5;
  c.max_linear_accel = 1.0;
  c.emergency_linear_decel = 5.0;
  c.emergency_angular_decel = 25.0;
  c.command_timeout = 0.1;
  return c;
}

// drive at 0.4 m/s (the command stamped now, the loop's clock following the real one)
void cruise(BaseControlLoop & loop, int64_t & t, double dt)
{
  for (int i = 0; i < 100; ++i) {
    loop.set_command(0.4, 0.0);
    t = edgebot_rt::monotonic_ns();
    loop.cycle(t, dt);
  }
  LoopSample s{};
  ASSERT_TRUE(loop.latest(s));
  ASSERT_NEAR(s.v, 0.4, 1e-9);
}
}  // namespace

TEST(BaseControlLoop, ZeroCommandWithAuthorityRampsAtTheNormalDeceleration)
{
  BaseControlLoop loop(braking_config());
  int64_t t = 0;
  const double dt = 0.005;
  cruise(loop, t, dt);
  // a source that asks for zero: the ordinary 1 m/s^2 ramp, 0.4 s
  double took = 0.0;
  LoopSample s{};
  for (int i = 1; i < 200; ++i) {
    loop.set_command(0.0, 0.0);
    t = edgebot_rt::monotonic_ns();
    loop.cycle(t, dt);
    ASSERT_TRUE(loop.latest(s));
    EXPECT_FALSE(s.braking);
    if (s.wl_cmd == 0.0) {took = i * dt; break;}
  }
  EXPECT_NEAR(took, 0.4, 2 * dt);
}

TEST(BaseControlLoop, LostAuthorityBrakesAtTheEmergencyDeceleration)
{
  BaseControlLoop loop(braking_config());
  int64_t t = 0;
  const double dt = 0.005;
  cruise(loop, t, dt);
  loop.set_authority(false);  // e-stop / no source at the safety monitor: zero commands follow
  EXPECT_FALSE(loop.authority());
  double took = 0.0;
  LoopSample s{};
  for (int i = 1; i < 200; ++i) {
    loop.set_authority(false);
    loop.set_command(0.0, 0.0);
    t = edgebot_rt::monotonic_ns();
    loop.cycle(t, dt);
    ASSERT_TRUE(loop.latest(s));
    EXPECT_TRUE(s.braking);
    EXPECT_FALSE(s.timed_out);
    if (s.wl_cmd == 0.0) {took = i * dt; break;}
  }
  EXPECT_NEAR(took, 0.4 / 5.0, 2 * dt);  // 5 m/s^2: 0.08 s instead of 0.4 s
  // even a non-zero command is not followed while the authority is lost
  loop.set_authority(false);
  loop.set_command(0.3, 0.0);
  loop.cycle(t = edgebot_rt::monotonic_ns(), dt);
  ASSERT_TRUE(loop.latest(s));
  EXPECT_EQ(s.wl_cmd, 0.0);
  // back: the normal ramp from zero
  loop.set_authority(true);
  loop.set_command(0.3, 0.0);
  loop.cycle(t = edgebot_rt::monotonic_ns(), dt);
  ASSERT_TRUE(loop.latest(s));
  EXPECT_FALSE(s.braking);
  EXPECT_NEAR(s.v, 1.0 * dt, 1e-9);
}

TEST(BaseControlLoop, AStaleLossOfAuthorityExpires)
{
  // the publisher of the authority died after a 'false': a command source of its own drives
  BaseControlLoop loop(braking_config());
  loop.set_authority(false);
  loop.set_command(0.3, 0.0);
  LoopSample s{};
  loop.cycle(edgebot_rt::monotonic_ns(), 0.005);
  ASSERT_TRUE(loop.latest(s));
  EXPECT_TRUE(s.braking);
  EXPECT_EQ(s.wl_cmd, 0.0);
  const int64_t said = edgebot_rt::monotonic_ns();
  wait_until([&] {return edgebot_rt::monotonic_ns() > said + 150000000;});  // > command_timeout
  loop.set_command(0.3, 0.0);
  loop.cycle(edgebot_rt::monotonic_ns(), 0.005);
  ASSERT_TRUE(loop.latest(s));
  EXPECT_FALSE(s.braking);
  EXPECT_GT(s.wl_cmd, 0.0);
}

TEST(BaseControlLoop, CommandTimeoutStopsAtOnceEvenWithAnEmergencyDeceleration)
{
  BaseControlLoop loop(braking_config());
  int64_t t = 0;
  const double dt = 0.005;
  cruise(loop, t, dt);
  t += 150000000;  // 0.15 s later, no command since: timed out
  const double took = seconds_to_zero(loop, t, dt, false);
  EXPECT_EQ(took, dt);  // the first cycle
  LoopSample s{};
  ASSERT_TRUE(loop.latest(s));
  EXPECT_TRUE(s.timed_out);
  EXPECT_TRUE(s.braking);
}

TEST(BaseControlLoop, EmergencyDecelerationBelowTheRampIsRefused)
{
  BaseControlConfig c;
  c.max_linear_accel = 2.0;
  c.emergency_linear_decel = 1.0;
  EXPECT_THROW(BaseControlLoop{c}, std::invalid_argument);
  c = BaseControlConfig{};
  c.standstill_speed = -1.0;
  EXPECT_THROW(BaseControlLoop{c}, std::invalid_argument);
}

TEST(BaseControlLoop, WheelPidOutputIsExactlyZeroOnceStoppedAndAtRest)
{
  // a wheel with friction: 80 % of the command, first-order 50 ms, and it does not turn below
  // a command of 0.5 rad/s (static friction). The drive winds the integrator up; after the
  // stop the old loop kept that integral on the wheel command (a few PWM counts for a second).
  BaseControlConfig c;
  c.use_feedback = true;
  c.max_linear_accel = 2.0;
  c.emergency_linear_decel = 5.0;
  c.command_timeout = 1.0;
  c.feedback_timeout = 1.0;
  BaseControlLoop loop(c);
  double wl = 0.0, wr = 0.0;
  const double dt = 0.005;
  LoopSample s{};
  auto plant = [&](double cmd, double w) {
      const double drive = std::abs(cmd) < 0.5 ? 0.0 : 0.8 * cmd;
      return w + dt * (drive - w) / 0.05;
    };
  for (int i = 0; i < 600; ++i) {  // 3 s at 0.2 m/s
    loop.set_command(0.2, 0.0);
    loop.set_wheel_feedback(wl, wr);
    loop.cycle(edgebot_rt::monotonic_ns(), dt);
    ASSERT_TRUE(loop.latest(s));
    wl = plant(s.wl_cmd, wl);
    wr = plant(s.wr_cmd, wr);
  }
  ASSERT_GT(wl, 5.0);
  int at_rest_from = -1;
  for (int i = 0; i < 400; ++i) {  // 2 s of zero commands
    loop.set_command(0.0, 0.0);
    loop.set_wheel_feedback(wl, wr);
    loop.cycle(edgebot_rt::monotonic_ns(), dt);
    ASSERT_TRUE(loop.latest(s));
    wl = plant(s.wl_cmd, wl);
    wr = plant(s.wr_cmd, wr);
    const bool target_zero = i >= 20;  // the 2 m/s^2 ramp from 0.2 m/s ends after 0.1 s
    if (at_rest_from < 0 && target_zero && std::abs(wl) <= c.standstill_speed) {at_rest_from = i;}
    if (at_rest_from >= 0 && i > at_rest_from) {
      // at rest with a zero target: exactly zero, every cycle after
      EXPECT_EQ(s.wl_cmd, 0.0) << "cycle " << i;
      EXPECT_EQ(s.wr_cmd, 0.0) << "cycle " << i;
    }
    // never drives forward again once the target is zero (the integrator is gone)
    if (target_zero) {EXPECT_LE(s.wl_cmd, 0.0) << "cycle " << i;}
  }
  ASSERT_GE(at_rest_from, 0);
  EXPECT_LT(at_rest_from * dt, 0.5);
}

TEST(BaseControlLoop, EmergencyBrakingIsOpenLoopNeverReversingTheWheels)
{
  // the measured wheels lag a hard ramp; a PID on them would drive the wheels backwards
  BaseControlConfig c = braking_config();
  c.use_feedback = true;
  c.feedback_timeout = 10.0;
  BaseControlLoop loop(c);
  int64_t t = 0;
  const double dt = 0.005;
  for (int i = 0; i < 100; ++i) {
    loop.set_command(0.4, 0.0);
    loop.set_wheel_feedback(0.4 / c.wheel_radius, 0.4 / c.wheel_radius);
    loop.cycle(t = edgebot_rt::monotonic_ns(), dt);
  }
  loop.set_authority(false);
  LoopSample s{};
  double prev = 1e9;
  for (int i = 0; i < 40; ++i) {
    loop.set_authority(false);
    loop.set_command(0.0, 0.0);
    loop.set_wheel_feedback(0.4 / c.wheel_radius, 0.4 / c.wheel_radius);  // still turning
    loop.cycle(t = edgebot_rt::monotonic_ns(), dt);
    ASSERT_TRUE(loop.latest(s));
    EXPECT_GE(s.wl_cmd, 0.0) << "cycle " << i;
    EXPECT_LE(s.wl_cmd, prev) << "cycle " << i;
    prev = s.wl_cmd;
  }
  EXPECT_EQ(s.wl_cmd, 0.0);
  EXPECT_EQ(s.wr_cmd, 0.0);
}
