// Fixed-rate loop on a thread of its own: absolute deadlines (clock_nanosleep TIMER_ABSTIME on
// CLOCK_MONOTONIC, so no cumulative drift), optional SCHED_FIFO priority and mlockall, and
// per-cycle timing statistics that another thread can read while the loop runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace edgebot_rt
{

int64_t monotonic_ns();  // CLOCK_MONOTONIC, the clock of Python's time.monotonic() on Linux

// Log-linear histogram of non-negative nanosecond values (about 1.6 % resolution) whose
// counters are written by one thread and read by any: no locks, no allocation.
class LatencyHistogram
{
public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  void record(int64_t ns);  // single writer
  void clear();             // only while no writer runs
  uint64_t count() const {return count_.load(std::memory_order_relaxed);}
  int64_t max() const {return max_.load(std::memory_order_relaxed);}
  // Value below which the fraction q of the samples lies (upper edge of its bucket, capped at max).
  int64_t percentile(double q) const;

private:
  static int index(uint64_t v);
  static uint64_t upper_edge(int index);
  std::atomic<uint64_t> buckets_[kBuckets] = {};
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> max_{0};
};

struct LoopStats
{
  uint64_t cycles{0};
  uint64_t overruns{0};          // cycles that woke a full period or more after their deadline
  int64_t period_err_p50_ns{0};  // |actual period - nominal period|
  int64_t period_err_p99_ns{0};
  int64_t period_err_max_ns{0};
  int64_t wake_latency_p50_ns{0};  // wake time - deadline
  int64_t wake_latency_p99_ns{0};
  int64_t wake_latency_max_ns{0};
  int64_t drift_ns{0};  // (last wake - first wake) - (cycles - 1) * period: time of lost cycles
  int64_t phase_err_last_ns{0};  // last wake - its absolute deadline: the schedule's own drift
  double elapsed_s{0.0};
  bool rt_priority_applied{false};
  bool mlock_applied{false};
  bool running{false};
};

class FixedRateLoop
{
public:
  using Callback = std::function<void (int64_t now_ns, double dt_s)>;

  // priority 0: normal scheduling; 1..99: SCHED_FIFO at that priority plus mlockall, logging
  // one line to stderr when either is not permitted (the loop runs all the same).
  // stats().rt_priority_applied / mlock_applied tell what was granted.
  // The callback runs on the loop thread every cycle; dt_s is the measured time since the
  // previous cycle (the nominal period on the first one).
  FixedRateLoop(double rate_hz, int priority, Callback callback);
  ~FixedRateLoop();
  FixedRateLoop(const FixedRateLoop &) = delete;
  FixedRateLoop & operator=(const FixedRateLoop &) = delete;

  bool start();  // false if already running
  void stop();   // returns after the thread has ended; idempotent
  bool running() const {return running_.load(std::memory_order_acquire);}
  LoopStats stats() const;
  double rate_hz() const {return rate_hz_;}
  int64_t period_ns() const {return period_ns_;}

private:
  void run();
  double rate_hz_;
  int64_t period_ns_;
  int priority_;
  Callback callback_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  LatencyHistogram period_err_;
  LatencyHistogram wake_latency_;
  std::atomic<uint64_t> cycles_{0};
  std::atomic<uint64_t> overruns_{0};
  std::atomic<int64_t> first_wake_ns_{0};
  std::atomic<int64_t> last_wake_ns_{0};
  std::atomic<int64_t> last_latency_ns_{0};
  std::atomic<bool> rt_applied_{false};
  std::atomic<bool> mlock_applied_{false};
};

// SCHED_FIFO for the calling thread / mlockall for the process: 0 on success, else the errno.
int apply_rt_priority(int priority);
int apply_mlockall();

}  // namespace edgebot_rt
