#include "edgebot_rt/loop_runner.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace edgebot_rt
{

namespace
{
constexpr int64_t kNsPerSec = 1000000000LL;
std::atomic<int> g_mlock_users{0};  // loops holding mlockall; the last one to stop unlocks

timespec to_timespec(int64_t ns)
{
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns % kNsPerSec);  // NOLINT(runtime/int)
  return ts;
}

void prefault_stack()
{
  // touch 64 KiB of stack so the first cycles do not page-fault
  volatile unsigned char buf[64 * 1024];
  for (size_t i = 0; i < sizeof(buf); i += 4096) {buf[i] = 0;}
}
}  // namespace

int64_t monotonic_ns()
{
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

// ----------------------------------------------------------------- histogram

int LatencyHistogram::index(uint64_t v)
{
  if (v < static_cast<uint64_t>(kSub)) {return static_cast<int>(v);}
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;
  const int mant = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + mant;
}

uint64_t LatencyHistogram::upper_edge(int idx)
{
  if (idx < kSub) {return static_cast<uint64_t>(idx);}
  const int block = idx / kSub;
  const int mant = idx % kSub;
  const int shift = block - 1;
  const uint64_t lower = (uint64_t{1} << (shift + kSubBits)) + (static_cast<uint64_t>(mant) << shift);
  return lower + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(int64_t ns)
{
  const uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
  auto & b = buckets_[index(v)];
  b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (static_cast<int64_t>(v) > max_.load(std::memory_order_relaxed)) {
    max_.store(static_cast<int64_t>(v), std::memory_order_relaxed);
  }
}

void LatencyHistogram::clear()
{
  for (auto & b : buckets_) {b.store(0, std::memory_order_relaxed);}
  count_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

int64_t LatencyHistogram::percentile(double q) const
{
  const uint64_t n = count();
  if (n == 0) {return 0;}
  q = std::min(std::max(q, 0.0), 1.0);
  uint64_t target = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  if (target == 0) {target = 1;}
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= target) {
      return std::min(static_cast<int64_t>(upper_edge(i)), max());
    }
  }
  return max();
}

// ----------------------------------------------------------------- RT rights

int apply_rt_priority(int priority)
{
  if (priority <= 0) {return EINVAL;}
  sched_param sp{};
  sp.sched_priority = std::min(priority, sched_get_priority_max(SCHED_FIFO));
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

int apply_mlockall()
{
  return mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : errno;
}

// ----------------------------------------------------------------- loop

FixedRateLoop::FixedRateLoop(double rate_hz, int priority, Callback callback)
: rate_hz_(rate_hz), priority_(priority), callback_(std::move(callback))
{
  if (!std::isfinite(rate_hz) || rate_hz <= 0.0 || rate_hz > 100000.0) {
    throw std::invalid_argument("FixedRateLoop: rate_hz must be in (0, 100000]");
  }
  if (priority < 0 || priority > 99) {
    throw std::invalid_argument("FixedRateLoop: priority must be in [0, 99]");
  }
  period_ns_ = static_cast<int64_t>(std::llround(1e9 / rate_hz));
  period_err_.clear();
  wake_latency_.clear();
}

FixedRateLoop::~FixedRateLoop()
{
  stop();
}

bool FixedRateLoop::start()
{
  if (running_.load(std::memory_order_acquire) || thread_.joinable()) {return false;}
  stop_requested_.store(false, std::memory_order_release);
  period_err_.clear();
  wake_latency_.clear();
  cycles_.store(0);
  overruns_.store(0);
  first_wake_ns_.store(0);
  last_wake_ns_.store(0);
  last_latency_ns_.store(0);
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] {run();});
  return true;
}

void FixedRateLoop::stop()
{
  stop_requested_.store(true, std::memory_order_release);
  if (thread_.joinable()) {thread_.join();}
  running_.store(false, std::memory_order_release);
}

void FixedRateLoop::run()
{
  if (priority_ > 0) {
    const int rt_err = apply_rt_priority(priority_);
    const int lock_err = apply_mlockall();
    if (lock_err == 0) {g_mlock_users.fetch_add(1);}
    rt_applied_.store(rt_err == 0);
    mlock_applied_.store(lock_err == 0);
    if (rt_err != 0 || lock_err != 0) {
      // one line, before the first cycle (never from inside the loop)
      char rt_msg[96] = "granted", lock_msg[96] = "granted";
      if (rt_err != 0) {std::snprintf(rt_msg, sizeof(rt_msg), "refused: %s", std::strerror(rt_err));}
      if (lock_err != 0) {std::snprintf(lock_msg, sizeof(lock_msg), "refused: %s", std::strerror(lock_err));}
      std::fprintf(
        stderr,
        "edgebot_rt: real-time rights not granted (SCHED_FIFO priority %d %s; mlockall %s); "
        "the loop runs anyway. See the edgebot_rt README (limits.conf rtprio/memlock, setcap "
        "cap_sys_nice,cap_ipc_lock)\n", priority_, rt_msg, lock_msg);
    }
  }
  prefault_stack();
  const int64_t start = monotonic_ns();
  int64_t deadline = start + period_ns_;
  int64_t prev_wake = 0;
  uint64_t cycles = 0;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    const timespec ts = to_timespec(deadline);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {}
    const int64_t now = monotonic_ns();
    if (stop_requested_.load(std::memory_order_acquire)) {break;}
    wake_latency_.record(now - deadline);
    last_latency_ns_.store(now - deadline, std::memory_order_relaxed);
    double dt = static_cast<double>(period_ns_) * 1e-9;
    if (prev_wake != 0) {
      period_err_.record(std::llabs((now - prev_wake) - period_ns_));
      dt = static_cast<double>(now - prev_wake) * 1e-9;
    } else {
      first_wake_ns_.store(now, std::memory_order_relaxed);
    }
    prev_wake = now;
    callback_(now, dt);
    ++cycles;
    cycles_.store(cycles, std::memory_order_relaxed);
    last_wake_ns_.store(now, std::memory_order_relaxed);
    // next absolute deadline; after an overrun skip the missed ones, keeping the phase
    deadline += period_ns_;
    const int64_t after = monotonic_ns();
    if (after >= deadline) {
      const int64_t missed = (after - deadline) / period_ns_ + 1;
      overruns_.fetch_add(1, std::memory_order_relaxed);
      deadline += missed * period_ns_;
    }
  }
  if (mlock_applied_.load() && g_mlock_users.fetch_sub(1) == 1) {munlockall();}
  running_.store(false, std::memory_order_release);
}

LoopStats FixedRateLoop::stats() const
{
  LoopStats s;
  s.cycles = cycles_.load(std::memory_order_relaxed);
  s.overruns = overruns_.load(std::memory_order_relaxed);
  s.period_err_p50_ns = period_err_.percentile(0.50);
  s.period_err_p99_ns = period_err_.percentile(0.99);
  s.period_err_max_ns = period_err_.max();
  s.wake_latency_p50_ns = wake_latency_.percentile(0.50);
  s.wake_latency_p99_ns = wake_latency_.percentile(0.99);
  s.wake_latency_max_ns = wake_latency_.max();
  const int64_t first = first_wake_ns_.load(std::memory_order_relaxed);
  const int64_t last = last_wake_ns_.load(std::memory_order_relaxed);
  if (s.cycles >= 2) {
    s.drift_ns = (last - first) - static_cast<int64_t>(s.cycles - 1) * period_ns_;
    s.elapsed_s = static_cast<double>(last - first) * 1e-9;
  }
  s.phase_err_last_ns = last_latency_ns_.load(std::memory_order_relaxed);
  s.rt_priority_applied = rt_applied_.load();
  s.mlock_applied = mlock_applied_.load();
  s.running = running_.load(std::memory_order_acquire);
  return s;
}

}  // namespace edgebot_rt
