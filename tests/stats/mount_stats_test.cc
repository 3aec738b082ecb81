#include "stats/mount_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/metric_names.h"
#include "common/process_metrics.h"

namespace seaweed::stats {
namespace {

namespace names = metric_names;
using ::testing::HasSubstr;

// A registry as a mount that read 3 MiB over RDMA and 1 MiB over HTTP would hold.
class MountStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m.gauge(names::kMountInfo, "Mount",
            render_labels({{"mountpoint", "/mnt/x"}, {"filer", "127.0.0.1:8888"}, {"filer_path", "/data"}}))
        .set(1);
    register_build_info("mount", m);
    m.counter(names::kReadBytes, "B", render_labels({{"transport", "rdma"}})).add(3 << 20);
    m.counter(names::kReadBytes, "B", render_labels({{"transport", "http"}})).add(1 << 20);
    auto& rdma_ok =
        m.histogram(names::kVolumeReadSeconds, "L", render_labels({{"transport", "rdma"}, {"outcome", "ok"}}));
    for (int i = 0; i < 99; ++i) rdma_ok.observe_ns(7'000);
    rdma_ok.observe_ns(3'000'000);
    m.histogram(names::kVolumeReadSeconds, "L", render_labels({{"transport", "rdma"}, {"outcome", "timeout"}}))
        .observe_ns(5'000'000'000);
    auto& http_ok =
        m.histogram(names::kVolumeReadSeconds, "L", render_labels({{"transport", "http"}, {"outcome", "ok"}}));
    for (int i = 0; i < 4; ++i) http_ok.observe_ns(300'000);
    m.counter(names::kFallbacks, "F", render_labels({{"reason", "timeout"}})).add();
    m.counter(names::kFallbacks, "F", render_labels({{"reason", "error"}}));
    m.gauge(names::kAgents, "A", render_labels({{"state", "up"}})).set(2);
    m.gauge(names::kAgents, "A", render_labels({{"state", "down"}})).set(1);
    m.counter(names::kChunkCacheLookups, "C", render_labels({{"result", "hit"}})).add(3);
    m.counter(names::kChunkCacheLookups, "C", render_labels({{"result", "miss"}})).add(1);
    m.gauge(names::kChunkCacheBytes, "C").set(4096);
    auto& reads = m.histogram(names::kFuseOpSeconds, "O", render_labels({{"op", "read"}}));
    for (int i = 0; i < 10; ++i) reads.observe_ns(9'000);
    m.histogram(names::kFuseOpSeconds, "O", render_labels({{"op", "lookup"}})).observe_ns(100'000);
    m.histogram(names::kFuseOpSeconds, "O", render_labels({{"op", "readlink"}}));  // never used: not shown
    m.counter(names::kFuseErrors, "E", render_labels({{"op", "read"}, {"errno", "EIO"}})).add(2);
    m.counter(names::kFuseErrors, "E", render_labels({{"op", "lookup"}, {"errno", "ENOENT"}})).add(50);  // not errors
    m.gauge(names::kInodes, "I").set(12);
    m.gauge(names::kOpenFiles, "O").set(3);
    m.gauge(names::kSubscriptionLag, "L").set(0.25);
    processes = add_process_metrics(m);
  }
  Metrics m;
  std::vector<Metrics::Registration> processes;
};

TEST_F(MountStatsTest, SummarisesTransportsCachesAgentsAndLatencies) {
  const auto s = mount_stats(m.snapshot());
  EXPECT_EQ(s["version"], kStatsVersion);
  EXPECT_EQ(s["mount"]["mountpoint"], "/mnt/x");
  EXPECT_EQ(s["mount"]["filer"], "127.0.0.1:8888");
  EXPECT_EQ(s["read_bytes"], 4u << 20);
  EXPECT_EQ(s["transport"]["rdma"]["bytes"], 3u << 20);
  EXPECT_DOUBLE_EQ(s["transport"]["rdma"]["share"].get<double>(), 0.75);
  EXPECT_EQ(s["transport"]["rdma"]["requests"], 100u);
  EXPECT_EQ(s["transport"]["rdma"]["failed_requests"], 1u);
  EXPECT_NEAR(s["transport"]["rdma"]["p50_seconds"].get<double>(), 7.525e-6, 1e-9);  // in (5, 10] us
  EXPECT_NEAR(s["transport"]["rdma"]["p99_seconds"].get<double>(), 10e-6, 1e-9);
  EXPECT_DOUBLE_EQ(s["transport"]["http"]["share"].get<double>(), 0.25);
  EXPECT_EQ(s["transport"]["http"]["requests"], 4u);
  EXPECT_EQ(s["fallbacks"]["timeout"], 1u);
  EXPECT_EQ(s["fallbacks"]["error"], 0u);
  EXPECT_EQ(s["fallbacks"]["total"], 1u);
  EXPECT_EQ(s["agents"]["up"], 2u);
  EXPECT_EQ(s["agents"]["down"], 1u);
  EXPECT_DOUBLE_EQ(s["chunk_cache"]["hit_rate"].get<double>(), 0.75);
  EXPECT_EQ(s["chunk_cache"]["bytes"], 4096u);
  EXPECT_EQ(s["fuse"]["ops"]["read"]["count"], 10u);
  EXPECT_FALSE(s["fuse"]["ops"].contains("readlink"));
  EXPECT_EQ(s["fuse"]["inodes"], 12u);
  EXPECT_EQ(s["fuse"]["open_files"], 3u);
  EXPECT_EQ(s["fuse"]["errors"], 2u);
  EXPECT_DOUBLE_EQ(s["metadata"]["subscription_lag_seconds"].get<double>(), 0.25);
  EXPECT_GT(s["process"]["resident_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(s["uptime_seconds"].get<double>(), 0);
}

TEST_F(MountStatsTest, TableShowsTheSameFigures) {
  auto s = mount_stats(m.snapshot());
  s["pid"] = 4242;
  const auto table = format_table(s);
  EXPECT_THAT(table, HasSubstr("mount /mnt/x  filer 127.0.0.1:8888/data  pid 4242"));
  EXPECT_THAT(table, HasSubstr("  rdma      3.0 MiB     75.0%   100       7.5 us    10.0 us   1\n"));
  EXPECT_THAT(table, HasSubstr("  http      1.0 MiB     25.0%   4         "));
  EXPECT_THAT(table, HasSubstr("fallbacks     1 (error 0, timeout 1)\n"));
  EXPECT_THAT(table, HasSubstr("agents        up 2, down 1\n"));
  EXPECT_THAT(table, HasSubstr("chunk cache   hit rate 75.0% (3 hits, 1 misses), 4.0 KiB held\n"));
  EXPECT_THAT(table, HasSubstr("read latency  p50 7.5 us, p99 "));
  EXPECT_THAT(table, HasSubstr(" us (10 FUSE reads)\n"));
  EXPECT_THAT(table, HasSubstr("files         12 inodes, 3 open, 2 errors\n"));
  EXPECT_THAT(table, HasSubstr("metadata      last event 250.0 ms ago\n"));
}

TEST(MountStats, AnEmptyRegistryGivesZerosAndNulls) {
  Metrics empty;
  const auto s = mount_stats(empty.snapshot());
  EXPECT_EQ(s["read_bytes"], 0u);
  EXPECT_TRUE(s["transport"].empty());
  EXPECT_TRUE(s["chunk_cache"]["hit_rate"].is_null());
  EXPECT_TRUE(s["metadata"]["subscription_lag_seconds"].is_null());
  EXPECT_THAT(format_table(s), HasSubstr("hit rate - (0 hits, 0 misses)"));
}

TEST(MountStats, HumanUnits) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3.0 * (1ull << 30)), "3.0 GiB");
  EXPECT_EQ(human_seconds(8.1e-6), "8.1 us");
  EXPECT_EQ(human_seconds(0.0012), "1.2 ms");
  EXPECT_EQ(human_seconds(75), "75.0 s");
}

}  // namespace
}  // namespace seaweed::stats
