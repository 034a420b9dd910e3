// Counts every heap allocation of the process through a replaced global operator new, and
// checks that a running loop makes none once started (the ROS-side calls neither).
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "edgebot_rt/base_control_loop.hpp"
#include "edgebot_rt/loop_runner.hpp"

namespace
{
std::atomic<uint64_t> g_allocations{0};
int * volatile g_sink = nullptr;  // keeps the probe allocation from being optimised away

void sleep_ms(long ms)  // NOLINT(runtime/int): nanosleep does not allocate
{
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}
}  // namespace

void * operator new(std::size_t n)
{
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void * p = std::malloc(n ? n : 1)) {return p;}
  throw std::bad_alloc();
}
void * operator new[](std::size_t n)
{
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void * p = std::malloc(n ? n : 1)) {return p;}
  throw std::bad_alloc();
}
void operator delete(void * p) noexcept {std::free(p);}
void operator delete[](void * p) noexcept {std::free(p);}
void operator delete(void * p, std::size_t) noexcept {std::free(p);}
void operator delete[](void * p, std::size_t) noexcept {std::free(p);}

TEST(NoAllocation, HookCountsAllocations)
{
  const uint64_t before = g_allocations.load();
  g_sink = new int(3);
  delete g_sink;
  EXPECT_EQ(g_allocations.load(), before + 1);  // the hook is live: a zero below means something
}

TEST(NoAllocation, BaseControlLoopAllocatesNothingAfterStart)
{
  edgebot_rt::BaseControlConfig c;
  c.rate_hz = 1000.0;
  c.use_feedback = true;
  c.imu_yaw_weight = 0.5;
  c.ring_capacity = 64;  // small, so the drop-oldest path runs too
  edgebot_rt::BaseControlLoop loop(c);
  ASSERT_TRUE(loop.start());
  sleep_ms(50);  // thread start-up (and its allocations) done
  const uint64_t before = g_allocations.load();
  const uint64_t cycles_before = loop.stats().cycles;
  edgebot_rt::LoopSample s{};
  for (int i = 0; i < 200; ++i) {
    loop.set_command(0.2, 0.5);
    loop.set_wheel_feedback(5.0, 6.0);
    loop.set_imu_yaw_rate(0.4);
    if (i % 50 == 0) {
      while (loop.pop(s)) {}
    }
    sleep_ms(2);
  }
  const uint64_t after = g_allocations.load();
  const auto stats = loop.stats();
  loop.stop();
  EXPECT_GT(stats.cycles, cycles_before + 50);  // the loop did run in the window
  EXPECT_GT(loop.drops(), 0u);
  EXPECT_EQ(after, before) << (after - before) << " allocation(s) while the loop ran";
}

TEST(NoAllocation, FixedRateLoopAllocatesNothingAfterStart)
{
  std::atomic<uint64_t> calls{0};
  edgebot_rt::FixedRateLoop loop(2000.0, 0, [&](int64_t, double) {calls.fetch_add(1);});
  ASSERT_TRUE(loop.start());
  sleep_ms(50);
  const uint64_t before = g_allocations.load();
  const uint64_t calls_before = calls.load();
  sleep_ms(300);
  const auto stats = loop.stats();  // reading stats does not allocate either
  const uint64_t after = g_allocations.load();
  loop.stop();
  EXPECT_GT(calls.load(), calls_before + 50);
  EXPECT_GE(stats.cycles, calls_before);
  EXPECT_EQ(after, before);
}
