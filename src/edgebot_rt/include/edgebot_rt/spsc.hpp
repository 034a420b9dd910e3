// Lock-free single-producer/single-consumer exchange between the ROS side and the loop.
// Neither side locks; after construction neither side allocates.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace edgebot_rt
{

// Latest-value box (triple buffer): write() never blocks and never waits for the reader; read()
// returns the newest complete value. One writer thread and one reader thread at a time.
template<typename T>
class LatestBox
{
  static_assert(std::is_trivially_copyable<T>::value, "LatestBox holds trivially copyable values");

public:
  LatestBox()
  {
    for (auto & b : buf_) {b = T{};}
  }

  void write(const T & value)
  {
    buf_[back_] = value;
    // publish the back buffer as the middle one, take the old middle as the next back buffer
    const uint8_t old = state_.exchange(static_cast<uint8_t>(back_ | kFresh), std::memory_order_acq_rel);
    back_ = old & kIndex;
  }

  // True when a value was ever written; `out` gets the newest one. `fresh` (optional) tells
  // whether it is newer than the one returned by the previous read().
  bool read(T & out, bool * fresh = nullptr)
  {
    bool is_new = false;
    if (state_.load(std::memory_order_acquire) & kFresh) {
      const uint8_t old = state_.exchange(front_, std::memory_order_acq_rel);
      front_ = old & kIndex;
      has_value_ = true;
      is_new = true;
    }
    if (fresh) {*fresh = is_new;}
    if (!has_value_) {return false;}
    out = buf_[front_];
    return true;
  }

private:
  static constexpr uint8_t kFresh = 0x4;
  static constexpr uint8_t kIndex = 0x3;
  std::array<T, 3> buf_;
  alignas(64) std::atomic<uint8_t> state_{1};  // middle index | fresh flag
  alignas(64) uint8_t back_{0};                // writer's
  alignas(64) uint8_t front_{2};               // reader's
  bool has_value_{false};
};

// Bounded ring. When full, push() drops the OLDEST element (counted in dropped()), so the
// producer (the loop) never waits. The consumer pops with a compare-and-swap so a concurrent
// drop is detected and the element re-read. Slots are stored as relaxed atomic words, so a
// racing overwrite is never a data race; capacity is rounded up to a power of two.
template<typename T>
class DropOldestRing
{
  static_assert(std::is_trivially_copyable<T>::value, "ring elements must be trivially copyable");
  static constexpr size_t kWords = (sizeof(T) + 7) / 8;
  struct Slot { std::atomic<uint64_t> w[kWords]; };

public:
  explicit DropOldestRing(size_t capacity)
  {
    size_t c = 2;
    while (c < capacity) {c <<= 1;}
    capacity_ = c;
    mask_ = c - 1;
    slots_.reset(new Slot[c]);
    for (size_t i = 0; i < c; ++i) {
      for (auto & w : slots_[i].w) {w.store(0, std::memory_order_relaxed);}
    }
  }

  size_t capacity() const {return capacity_;}

  void push(const T & value)
  {
    const uint64_t w = write_.load(std::memory_order_relaxed);
    uint64_t r = read_.load(std::memory_order_acquire);
    if (w - r >= capacity_) {
      // full: drop the oldest; if the consumer popped it meanwhile, there is room anyway
      if (read_.compare_exchange_strong(r, r + 1, std::memory_order_acq_rel)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    uint64_t words[kWords] = {};
    std::memcpy(words, &value, sizeof(T));
    Slot & s = slots_[w & mask_];
    for (size_t i = 0; i < kWords; ++i) {s.w[i].store(words[i], std::memory_order_relaxed);}
    write_.store(w + 1, std::memory_order_release);
  }

  bool pop(T & out)
  {
    uint64_t r = read_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t w = write_.load(std::memory_order_acquire);
      if (r == w) {return false;}
      uint64_t words[kWords];
      const Slot & s = slots_[r & mask_];
      for (size_t i = 0; i < kWords; ++i) {words[i] = s.w[i].load(std::memory_order_relaxed);}
      if (read_.compare_exchange_strong(r, r + 1, std::memory_order_acq_rel)) {
        std::memcpy(&out, words, sizeof(T));
        return true;
      }
      // the producer dropped that element while we copied it: r now holds the new index
    }
  }

  size_t size() const
  {
    const uint64_t w = write_.load(std::memory_order_acquire);
    const uint64_t r = read_.load(std::memory_order_acquire);
    return static_cast<size_t>(w - r);
  }
  uint64_t dropped() const {return dropped_.load(std::memory_order_relaxed);}

private:
  size_t capacity_{0}, mask_{0};
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> write_{0};
  alignas(64) std::atomic<uint64_t> read_{0};
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

}  // namespace edgebot_rt
