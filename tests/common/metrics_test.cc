#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace seaweed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, RendersCountersGaugesAndHistogramsAsPrometheusText) {
  Metrics m;
  m.counter("b_requests_total", "Requests, by result", render_labels({{"result", "ok"}})).add(3);
  m.counter("b_requests_total", "Requests, by result", render_labels({{"result", "error"}})).add();
  m.gauge("a_cache_bytes", "Bytes held\nby the cache").set(1048576);
  auto& h = m.histogram("c_latency_seconds", "Latency", render_labels({{"op", "read"}}));
  h.observe_ns(1'000);           // le=1e-06 (inclusive)
  h.observe_ns(1'500);           // le=2e-06
  h.observe_ns(3'000'000);       // le=0.005
  h.observe_ns(20'000'000'000);  // +Inf
  const std::string expected_histogram_head =
      "# HELP c_latency_seconds Latency\n"
      "# TYPE c_latency_seconds histogram\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"1e-06\"} 1\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"2e-06\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"5e-06\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"1e-05\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"2e-05\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"5e-05\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"1e-04\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"2e-04\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"5e-04\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.001\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.002\"} 2\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.005\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.01\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.02\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.05\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.2\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"0.5\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"2\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"5\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"10\"} 3\n"
      "c_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
      "c_latency_seconds_sum{op=\"read\"} 20.0030025\n"
      "c_latency_seconds_count{op=\"read\"} 4\n";
  EXPECT_EQ(m.render(),
            "# HELP a_cache_bytes Bytes held\\nby the cache\n"
            "# TYPE a_cache_bytes gauge\n"
            "a_cache_bytes 1048576\n"
            "# HELP b_requests_total Requests, by result\n"
            "# TYPE b_requests_total counter\n"
            "b_requests_total{result=\"ok\"} 3\n"
            "b_requests_total{result=\"error\"} 1\n" +
                expected_histogram_head);
}

TEST(Metrics, UnlabelledHistogramHasOnlyTheLeLabel) {
  Metrics m;
  m.histogram("x_seconds", "X").observe(std::chrono::microseconds(7));
  const auto text = m.render();
  EXPECT_THAT(text, HasSubstr("x_seconds_bucket{le=\"1e-05\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("x_seconds_sum 7e-06\n"));
  EXPECT_THAT(text, HasSubstr("x_seconds_count 1\n"));
}

TEST(Metrics, SameNameAndLabelsReturnTheSameObject) {
  Metrics m;
  auto& a = m.counter("n_total", "N", "k=\"1\"");
  auto& b = m.counter("n_total", "N", "k=\"1\"");
  auto& c = m.counter("n_total", "N", "k=\"2\"");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&m.histogram("h_seconds", "H"), &m.histogram("h_seconds", "H"));
  EXPECT_EQ(&m.gauge("g", "G"), &m.gauge("g", "G"));
}

TEST(Metrics, ANameKeepsItsType) {
  Metrics m;
  m.counter("n_total", "N");
  EXPECT_THROW(m.gauge("n_total", "N"), std::logic_error);
  EXPECT_THROW(m.histogram("n_total", "N"), std::logic_error);
  EXPECT_THROW((void)m.callback("n_total", "N", "", MetricType::gauge, [] { return 1.0; }), std::logic_error);
}

TEST(Metrics, GaugeSetsAndAdds) {
  Metrics m;
  auto& g = m.gauge("open_files", "Open files");
  g.add(3);
  g.add(-1);
  EXPECT_EQ(g.value(), 2);
  g.set(0.25);
  EXPECT_THAT(m.render(), HasSubstr("open_files 0.25\n"));
}

TEST(Metrics, CallbackSeriesAreEvaluatedAtScrapeTimeAndRemovedWithTheirRegistration) {
  Metrics m;
  double bytes = 10;
  {
    auto reg = m.callback("cache_bytes", "Cache bytes", "tier=\"memory\"", MetricType::gauge, [&] { return bytes; });
    EXPECT_THAT(m.render(), HasSubstr("cache_bytes{tier=\"memory\"} 10\n"));
    bytes = 4096;
    EXPECT_THAT(m.render(), HasSubstr("cache_bytes{tier=\"memory\"} 4096\n"));
    auto moved = std::move(reg);
    EXPECT_THAT(m.render(), HasSubstr("cache_bytes"));
  }
  EXPECT_THAT(m.render(), Not(HasSubstr("cache_bytes")));  // the whole family goes with its last series
  // Two registrations of the same series are two series (each owner removes its own).
  auto r1 = m.callback("c_total", "C", "", MetricType::counter, [] { return 1.0; });
  auto r2 = m.callback("c_total", "C", "", MetricType::counter, [] { return 2.0; });
  r1.reset();
  EXPECT_THAT(m.render(), HasSubstr("# TYPE c_total counter\nc_total 2\n"));
}

TEST(Metrics, BucketEdgesAreInclusiveUpperBounds) {
  EXPECT_EQ(Histogram::bucket_of(0), 0u);
  EXPECT_EQ(Histogram::bucket_of(1'000), 0u);
  EXPECT_EQ(Histogram::bucket_of(1'001), 1u);
  EXPECT_EQ(Histogram::bucket_of(2'000), 1u);
  EXPECT_EQ(Histogram::bucket_of(5'000), 2u);
  EXPECT_EQ(Histogram::bucket_of(5'001), 3u);
  EXPECT_EQ(Histogram::bucket_of(1'000'000'000), 18u);
  EXPECT_EQ(Histogram::bucket_of(10'000'000'000), 21u);
  EXPECT_EQ(Histogram::bucket_of(10'000'000'001), 22u);  // +Inf
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), 22u);
  for (size_t i = 0; i < kHistogramBoundsNs.size(); ++i) {
    EXPECT_EQ(Histogram::bucket_of(kHistogramBoundsNs[i]), i);
    EXPECT_EQ(Histogram::bucket_of(kHistogramBoundsNs[i] + 1), i + 1);
  }
  Histogram h;
  h.observe(std::chrono::nanoseconds(-5));  // a clock step backwards counts as 0
  EXPECT_EQ(h.snapshot().counts[0], 1u);
}

TEST(Metrics, QuantilesInterpolateInsideTheirBucket) {
  Histogram h;
  EXPECT_TRUE(std::isnan(h.snapshot().quantile(0.5)));
  for (int i = 0; i < 100; ++i) h.observe_ns(7'000);  // (5 us, 10 us]
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 100u);
  EXPECT_NEAR(s.quantile(0.5), 7.5e-6, 1e-12);  // halfway through (5, 10]
  EXPECT_NEAR(s.quantile(1.0), 10e-6, 1e-12);
  for (int i = 0; i < 100; ++i) h.observe_ns(3'000'000);  // (2 ms, 5 ms]
  s = h.snapshot();
  EXPECT_NEAR(s.quantile(0.5), 10e-6, 1e-12);    // the top of the first half's bucket
  EXPECT_NEAR(s.quantile(0.99), 4.94e-3, 1e-9);  // 98 of 100 through (2, 5] ms
  Histogram slow;
  slow.observe_ns(60'000'000'000);
  EXPECT_EQ(slow.snapshot().quantile(0.5), 10.0);  // +Inf answers the largest finite bound
}

TEST(Metrics, ConcurrentUpdatesWhileScrapingLoseNothing) {
  Metrics m;
  auto& c = m.counter("c_total", "C");
  auto& g = m.gauge("g", "G");
  auto& h = m.histogram("h_seconds", "H");
  constexpr int kThreads = 4, kEach = 20000;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      auto snap = m.snapshot();
      ASSERT_EQ(snap.size(), 3u);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        c.add();
        g.add(1);
        h.observe_ns(static_cast<uint64_t>((i % 7) * 1000 + t));
        if (i % 1000 == 0) (void)m.counter("c_total", "C");  // lookups under the lock meanwhile
      }
    });
  for (auto& w : workers) w.join();
  done = true;
  scraper.join();
  EXPECT_EQ(c.value(), uint64_t{kThreads} * kEach);
  EXPECT_EQ(g.value(), double{kThreads} * kEach);
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kEach);
  uint64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) expected_sum += static_cast<uint64_t>((i % 7) * 1000 + t);
  EXPECT_EQ(s.sum_ns, expected_sum);
}

TEST(Metrics, CallbacksComeAndGoWhileScraping) {
  Metrics m;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) (void)m.render();
  });
  for (int i = 0; i < 2000; ++i) {
    int value = i;
    auto reg = m.callback("v", "V", "", MetricType::gauge, [&value] { return static_cast<double>(value); });
  }
  done = true;
  scraper.join();
  EXPECT_EQ(m.render(), "");
}

// A callback takes the lock of what it reads; the owner of that lock creates a metric while
// holding it (InodeTable::acquire counting its first inode did, and a mount hung: its first
// lookup and a scrape waited for each other). A scrape must not hold the registry's lock while
// the callback waits.
TEST(Metrics, ACallbackWaitingForALockDoesNotBlockCreatingMetrics) {
  Metrics m;
  std::mutex owner_lock;
  std::atomic<bool> in_callback{false};
  auto reg = m.callback("held", "H", "", MetricType::gauge, [&] {
    in_callback = true;
    std::lock_guard lock(owner_lock);
    return 1.0;
  });
  std::unique_lock owner(owner_lock);
  std::thread scraper([&] { (void)m.render(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!in_callback && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(in_callback);
  // The owner, holding its lock, creates a metric: it must not wait for the scrape.
  auto created = std::async(std::launch::async, [&] { m.counter("created_total", "C").add(); });
  const bool finished = created.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  owner.unlock();  // lets the scrape (and, on failure, the creation) finish either way
  scraper.join();
  created.wait();
  EXPECT_TRUE(finished) << "creating a metric waited for a scrape blocked in a callback";
  EXPECT_THAT(m.render(), HasSubstr("created_total 1"));
}

TEST(Metrics, LabelsAreEscapedAndReadBack) {
  const auto labels = render_labels({{"path", "a\"b\\c\nd"}, {"op", "read"}});
  EXPECT_EQ(labels, "path=\"a\\\"b\\\\c\\nd\",op=\"read\"");
  EXPECT_EQ(label_value(labels, "path"), "a\"b\\c\nd");
  EXPECT_EQ(label_value(labels, "op"), "read");
  EXPECT_EQ(label_value(labels, "missing"), "");
  EXPECT_EQ(label_value("", "op"), "");
}

TEST(Metrics, ValuesAreFormattedAsPrometheusExpects) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(1e6), "1000000");
  EXPECT_EQ(format_metric_value(-3), "-3");
  EXPECT_EQ(format_metric_value(0.5), "0.5");
  EXPECT_EQ(format_metric_value(1e-6), "1e-06");
  EXPECT_EQ(format_metric_value(1e300), "1e+300");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(format_metric_value(HUGE_VAL), "+Inf");
  EXPECT_EQ(format_metric_value(-HUGE_VAL), "-Inf");
}

// What the read path pays per observation (timer + histogram), in CPU time of this thread (wall
// time on a loaded machine counts other processes' turns). The figures are printed; the bound is
// loose so a sanitizer build does not fail it.
double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

TEST(Metrics, AnObservationCostsLittle) {
  Histogram h;
  constexpr int kN = 1'000'000;
  uint64_t values[1024];
  uint64_t x = 88172645463325252ull;
  for (auto& v : values) {  // 0..10 ms, spread over the buckets (branch prediction gets no help)
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v = (x % 10000) * ((x >> 20) % 3 == 0 ? 1000 : 1);
  }
  double start = thread_cpu_ns();
  for (int i = 0; i < kN; ++i) h.observe_ns(values[i & 1023]);
  const double observe_ns = (thread_cpu_ns() - start) / kN;
  start = thread_cpu_ns();
  for (int i = 0; i < kN; ++i) ScopedTimer t(h);
  const double timed_ns = (thread_cpu_ns() - start) / kN;
  std::printf("histogram observe: %.1f ns CPU; ScopedTimer (two clock reads + observe): %.1f ns CPU\n", observe_ns,
              timed_ns);
  EXPECT_EQ(h.snapshot().count, 2u * kN);
  EXPECT_LT(observe_ns, 1000);
}

}  // namespace
}  // namespace seaweed
