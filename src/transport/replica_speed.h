// How fast each replica's agent has been answering lately, so that reads leave an agent that
// still answers but slowly (a lossy or congested link, an overloaded host) for another replica's
// agent, and come back once it is fast again. Failures are not its business: an agent that errs
// or times out backs off (server_health.h); this is about agents that succeed, late.
//
// Per volume server: a running estimate of the cost of a request in nanoseconds per MiB (a
// request counts as at least 64 KiB, so small random reads are not judged by their size). It
// rises by 1/8 of the distance to a slower sample and falls by 3/4 of the distance to a faster
// one: slow to condemn on one late answer, quick to forgive once a probe is fast. An agent is
// "slow" once it has kMinSamples, costs more than kSlowFactor times the cheapest other replica
// (that also has kMinSamples) and more than kSlowFloor (healthy agents differ by more than 8x only
// at costs that do not matter). A slow agent is still asked for one read in kProbeEvery, which
// keeps its estimate current. Why: docs/fault-topology.md ("A slow link").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace seaweed::transport {

class ReplicaSpeed {
 public:
  static constexpr uint64_t kMinCostBytes = 64 * 1024;
  static constexpr uint32_t kMinSamples = 4;
  static constexpr uint64_t kSlowFactor = 8;
  static constexpr uint64_t kSlowFloorNsPerMiB = 20'000'000;  // 20 ms per MiB (50 MB/s)
  static constexpr uint32_t kProbeEvery = 16;

  // A successful request to server's agent: how long it took and how many bytes it returned.
  void record(const std::string& server, std::chrono::nanoseconds took, uint64_t bytes);

  // The servers in `order`, the slow ones moved behind the others (relative order kept), except
  // that a slow server's every kProbeEvery-th turn keeps its place (its probe). Returns true when
  // it moved any.
  bool demote_slow(std::vector<std::string>& order);

  // The current estimate (ns per MiB; 0 without samples), for tests and logs.
  [[nodiscard]] uint64_t cost(const std::string& server) const;

 private:
  struct Estimate {
    std::atomic<uint64_t> ns_per_mib{0};
    std::atomic<uint32_t> samples{0};
    std::atomic<uint32_t> turns{0};  // decisions that found it slow (every kProbeEvery-th probes)
  };
  Estimate* find(const std::string& server) const;
  Estimate& get(const std::string& server);

  mutable std::shared_mutex mu_;  // guards the map; the estimates are atomics (racy updates are fine)
  std::unordered_map<std::string, std::unique_ptr<Estimate>> by_server_;
};

}  // namespace seaweed::transport
