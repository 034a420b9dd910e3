#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "edgebot_rt/spsc.hpp"

using edgebot_rt::DropOldestRing;
using edgebot_rt::LatestBox;

namespace
{
struct Pair
{
  uint64_t a, b;  // a writer keeps b == ~a: a torn read would break that
};
}  // namespace

TEST(LatestBox, EmptyThenNewest)
{
  LatestBox<Pair> box;
  Pair p{};
  bool fresh = true;
  EXPECT_FALSE(box.read(p, &fresh));
  EXPECT_FALSE(fresh);
  box.write(Pair{1, ~1ull});
  box.write(Pair{2, ~2ull});
  ASSERT_TRUE(box.read(p, &fresh));
  EXPECT_TRUE(fresh);
  EXPECT_EQ(p.a, 2u);
  ASSERT_TRUE(box.read(p, &fresh));  // still the latest, not fresh
  EXPECT_FALSE(fresh);
  EXPECT_EQ(p.a, 2u);
}

TEST(LatestBox, ConcurrentReadsAreNeverTornNorOlder)
{
  LatestBox<Pair> box;
  std::atomic<bool> done{false};
  const uint64_t n = 300000;
  std::thread writer([&] {
      for (uint64_t i = 1; i <= n; ++i) {box.write(Pair{i, ~i});}
      done = true;
    });
  uint64_t last = 0, reads = 0;
  bool ok = true;
  while (!done || last < n) {
    Pair p{};
    if (box.read(p)) {
      ok = ok && (p.b == ~p.a) && (p.a >= last);
      last = p.a;
      ++reads;
    }
  }
  writer.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(last, n);
  EXPECT_GT(reads, 0u);
}

TEST(DropOldestRing, FifoAndDropOldestWhenFull)
{
  DropOldestRing<Pair> ring(4);
  EXPECT_EQ(ring.capacity(), 4u);
  for (uint64_t i = 0; i < 6; ++i) {ring.push(Pair{i, ~i});}
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(ring.size(), 4u);
  Pair p{};
  for (uint64_t want = 2; want < 6; ++want) {
    ASSERT_TRUE(ring.pop(p));
    EXPECT_EQ(p.a, want);
  }
  EXPECT_FALSE(ring.pop(p));
  EXPECT_EQ(DropOldestRing<Pair>(5).capacity(), 8u);  // rounded up to a power of two
}

TEST(DropOldestRing, ConcurrentProducerConsumerLosesOnlyCountedElements)
{
  DropOldestRing<Pair> ring(64);
  const uint64_t n = 500000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
      for (uint64_t i = 0; i < n; ++i) {ring.push(Pair{i, ~i});}
      done = true;
    });
  uint64_t received = 0, last = 0;
  bool first = true, ok = true;
  Pair p{};
  for (;;) {
    if (ring.pop(p)) {
      ok = ok && (p.b == ~p.a) && (first || p.a > last);  // intact and in order
      first = false;
      last = p.a;
      ++received;
    } else if (done && ring.size() == 0) {
      break;
    }
  }
  producer.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(received + ring.dropped(), n);
  EXPECT_EQ(last, n - 1);
}
