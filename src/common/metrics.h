// A process-wide registry of metrics, rendered as Prometheus text (exposition format 0.0.4).
// Metrics are created once (at wiring time) and then only updated: the hot path touches one or
// two relaxed atomics and never a lock.
//   Counter    monotonically increasing integer (`_total` names)
//   Gauge      a value that goes up and down (set/add)
//   Histogram  latencies in fixed buckets (kHistogramBoundsNs below), `_seconds` names
//   callback   a gauge or counter computed at scrape time (cache bytes, /proc values, ...)
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seaweed {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Upper bounds (inclusive, as Prometheus' `le`) of the latency buckets: 1-2-5 steps per decade
// from 1 us to 10 s, in nanoseconds; one more bucket (+Inf) holds everything slower. Fixed so
// that every histogram of both binaries can be summed and compared.
inline constexpr std::array<uint64_t, 22> kHistogramBoundsNs = {
    1'000,       2'000,       5'000,         10'000,        20'000,        50'000,        100'000,    200'000,
    500'000,     1'000'000,   2'000'000,     5'000'000,     10'000'000,    20'000'000,    50'000'000, 100'000'000,
    200'000'000, 500'000'000, 1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000};

class Histogram {
 public:
  static constexpr size_t kBuckets = kHistogramBoundsNs.size() + 1;  // the last one is +Inf

  // Index of the bucket that holds a value of ns nanoseconds.
  static size_t bucket_of(uint64_t ns);

  void observe_ns(uint64_t ns) {
    counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  }
  void observe(std::chrono::nanoseconds d) { observe_ns(d.count() > 0 ? static_cast<uint64_t>(d.count()) : 0); }

  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
    uint64_t count = 0;                       // sum of counts
    uint64_t sum_ns = 0;
    // The q-quantile (0..1) in seconds, interpolated linearly inside its bucket as Prometheus'
    // histogram_quantile does (the +Inf bucket answers the largest finite bound); NaN if empty.
    [[nodiscard]] double quantile(double q) const;
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// Times a scope into a histogram (steady clock; ~20 ns per clock read with the TSC clocksource).
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { h_.observe(std::chrono::steady_clock::now() - start_); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram& h_;
  std::chrono::steady_clock::time_point start_;
};

enum class MetricType { counter, gauge, histogram };

// Labels rendered as `key="value",...` with Prometheus escaping (\\, \", \n), in the given order.
std::string render_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
// The value of key in a rendered label string, unescaped; empty if absent.
std::string label_value(std::string_view labels, std::string_view key);
// A float as Prometheus text: shortest round-trip form, NaN, +Inf, -Inf.
std::string format_metric_value(double v);

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The registry /metrics serves; never destroyed, so threads may update metrics while exiting.
  static Metrics& global();

  // name, help, and labels pre-rendered as `key="value",...` (render_labels; empty for none).
  // The same name and labels return the same object. A name keeps the type it was first
  // registered with: asking for it as another type is a programming error (std::logic_error).
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help, const std::string& labels = "");

  // Removes its callback series when destroyed (or reset()).
  class Registration {
   public:
    Registration() = default;
    Registration(Metrics* owner, uint64_t id) : owner_(owner), id_(id) {}
    Registration(Registration&& o) noexcept { *this = std::move(o); }
    Registration& operator=(Registration&& o) noexcept;
    ~Registration() { reset(); }
    void reset();

   private:
    Metrics* owner_ = nullptr;
    uint64_t id_ = 0;
  };

  // A counter or gauge series whose value fn computes at every scrape, on the scraping thread.
  // fn must be quick and must not throw; it may take the locks of what it reads, and it may create
  // metrics: it runs outside the lock that counter()/gauge()/histogram() take, so a thread that
  // holds fn's lock while it creates a metric cannot deadlock with a scrape. fn must not register
  // or remove callbacks. Keep the Registration as long as what fn reads lives: reset() returns only
  // once no scrape is running fn, so never reset() while holding a lock that a callback takes.
  [[nodiscard]] Registration callback(const std::string& name, const std::string& help, const std::string& labels,
                                      MetricType type, std::function<double()> fn);

  struct SeriesSnapshot {
    std::string labels;
    double value = 0;               // counter or gauge
    Histogram::Snapshot histogram;  // histogram
  };
  struct FamilySnapshot {
    std::string name, help;
    MetricType type = MetricType::counter;
    std::vector<SeriesSnapshot> series;  // in registration order
  };
  // Every family, sorted by name.
  [[nodiscard]] std::vector<FamilySnapshot> snapshot() const;
  [[nodiscard]] std::string render() const;

 private:
  struct Series {
    std::string labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
    uint64_t callback_id = 0;
  };
  struct Family {
    std::string help;
    MetricType type;
    std::vector<Series> series;
  };
  Series& series(const std::string& name, const std::string& help, const std::string& labels, MetricType type);
  void remove_callback(uint64_t id);

  // Lock order: callbacks_mu_ before mu_. snapshot() holds callbacks_mu_ while it runs callbacks
  // (copied out under mu_, run after mu_ is released); remove_callback() takes it too, so a
  // removed callback is never running once reset() returns.
  mutable std::mutex callbacks_mu_;
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  uint64_t next_callback_id_ = 1;
};

// Renders a snapshot as Prometheus text (what Metrics::render serves).
std::string render_prometheus(const std::vector<Metrics::FamilySnapshot>& families);

}  // namespace seaweed
