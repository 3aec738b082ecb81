#include "transport/replica_speed.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seaweed::transport {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr uint64_t kMiB = 1 << 20;

void feed(ReplicaSpeed& s, const std::string& server, std::chrono::nanoseconds took, int times, uint64_t bytes = kMiB) {
  for (int i = 0; i < times; ++i) s.record(server, took, bytes);
}

TEST(ReplicaSpeed, HealthyAgentsKeepTheirOrder) {
  ReplicaSpeed s;
  feed(s, "a", milliseconds(2), 10);
  feed(s, "b", microseconds(300), 10);  // ~7x faster: within the factor
  std::vector<std::string> order{"a", "b"};
  EXPECT_FALSE(s.demote_slow(order));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST(ReplicaSpeed, ASlowAgentGoesLastButForOneProbeInSixteen) {
  ReplicaSpeed s;
  feed(s, "fast", milliseconds(1), 10);
  feed(s, "slow", milliseconds(300), 10);  // 300 ms per MiB: a lossy 100 ms link
  int demoted = 0, kept = 0;
  for (int i = 0; i < 64; ++i) {
    std::vector<std::string> order{"slow", "fast"};
    if (s.demote_slow(order)) {
      EXPECT_EQ(order, (std::vector<std::string>{"fast", "slow"}));
      ++demoted;
    } else {
      EXPECT_EQ(order.front(), "slow");
      ++kept;
    }
  }
  EXPECT_EQ(kept, 64 / static_cast<int>(ReplicaSpeed::kProbeEvery));
  EXPECT_EQ(demoted, 64 - kept);
}

TEST(ReplicaSpeed, SmallReadsAreJudgedAsAtLeast64KiB) {
  ReplicaSpeed s;
  // 4 KiB in 100 us (healthy random reads) must not look like 25 ms per MiB
  feed(s, "a", microseconds(100), 10, 4096);
  feed(s, "b", microseconds(5), 10, 4096);
  EXPECT_LE(s.cost("a"), ReplicaSpeed::kSlowFloorNsPerMiB);
  std::vector<std::string> order{"a", "b"};
  EXPECT_FALSE(s.demote_slow(order));
}

TEST(ReplicaSpeed, NoJudgementWithoutEnoughSamplesOnBothSides) {
  ReplicaSpeed s;
  feed(s, "slow", milliseconds(500), 10);
  std::vector<std::string> order{"slow", "unknown"};
  EXPECT_FALSE(s.demote_slow(order));  // nothing to compare with
  feed(s, "other", milliseconds(1), ReplicaSpeed::kMinSamples - 1);
  order = {"slow", "other"};
  EXPECT_FALSE(s.demote_slow(order));
  feed(s, "other", milliseconds(1), 1);
  EXPECT_TRUE(s.demote_slow(order));
}

TEST(ReplicaSpeed, OneLateAnswerDoesNotCondemnAndAFewFastProbesForgive) {
  ReplicaSpeed s;
  feed(s, "a", milliseconds(1), 10);
  feed(s, "b", milliseconds(1), 10);
  s.record("a", milliseconds(100), kMiB);  // a descheduled moment: 1 + 99/8 = ~13 ms per MiB
  std::vector<std::string> order{"a", "b"};
  EXPECT_FALSE(s.demote_slow(order));
  feed(s, "a", milliseconds(400), 10);  // the link went bad
  EXPECT_TRUE(s.demote_slow(order));
  feed(s, "a", milliseconds(1), 4);  // healed: four fast probes
  order = {"a", "b"};
  EXPECT_FALSE(s.demote_slow(order));
  EXPECT_LT(s.cost("a"), 8 * s.cost("b"));
}

}  // namespace
}  // namespace seaweed::transport
