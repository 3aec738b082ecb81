// A small process-wide registry of counters, rendered as Prometheus text. Counters are created
// once (at wiring time) and then only incremented: the hot path touches one atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace seaweed {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Metrics {
 public:
  static Metrics& global();

  // name, help, and labels pre-rendered as `key="value",...` (empty for none). Same name and
  // labels return the same counter.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");

  [[nodiscard]] std::string render() const;

 private:
  struct Entry {
    std::string name, help, labels;
    Counter counter;
  };
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // deque: stable addresses for handed-out counters
};

}  // namespace seaweed
