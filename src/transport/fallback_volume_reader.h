// The fallback policy of the read path. For each request the RDMA agents beside the needle's
// volume servers are asked, replica by replica in the order of transport/replica_order.h: an
// agent that errs, times out or disconnects is skipped for a backoff (doubling up to a ceiling,
// transport/server_health.h) so reads don't pay its timeout again and again, and the next
// replica's agent is asked; an agent that answers, but much slower than another replica's, is
// asked after it but for a probe now and then (transport/replica_speed.h); a miss (needle not
// there yet, cookie refused) or no agent left sends the request over HTTP. With fallback disabled
// the agent's error is final. A corrupt replica (EBADMSG: its bytes fail their CRC) says nothing
// about the agent: it is not marked down, the next replica's agent is tried, then HTTP on the
// replicas not found corrupt. When no replica is good the error names each one with its reason.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "transport/replica_speed.h"
#include "transport/server_health.h"
#include "transport/volume_reader.h"

namespace seaweed::transport {

struct FallbackOptions {
  bool fallback = true;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
};

class FallbackVolumeReader : public VolumeReader {
 public:
  // agent_for(volume_server_url) returns the agent reader serving that volume server, or null.
  using AgentLookup = std::function<std::shared_ptr<VolumeReader>(const std::string& volume_server_url)>;

  FallbackVolumeReader(VolumeReader& http, AgentLookup agent_for, FallbackOptions options);

  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override;
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override;

  // Volume servers whose agent is backing off after a failure (for the agents gauge).
  [[nodiscard]] std::vector<std::string> agents_down();
  // The agents' recent speed, per volume server (tests).
  [[nodiscard]] const ReplicaSpeed& speed() const { return speed_; }

 private:
  template <class T, class AgentCall, class HttpCall>
  Result<T> run(const NeedleLocator& loc, AgentCall&& agent_call, HttpCall&& http_call, uint64_t (*bytes)(const T&));
  template <class T>
  Result<T> finish(Result<T> r, const std::string& agent_reasons, uint64_t (*bytes)(const T&));

  VolumeReader& http_;
  AgentLookup agent_for_;
  FallbackOptions options_;

  Counter& rdma_bytes_;
  Counter& http_bytes_;
  Counter& fallback_error_;
  Counter& fallback_miss_;
  Counter& fallback_timeout_;
  Counter& fallback_down_;
  Counter& fallback_corrupt_;
  Counter& slow_skips_;
  // Request latency by transport and outcome (seaweed_mount_volume_read_duration_seconds).
  enum Outcome { kOk, kMiss, kTimeout, kCorrupt, kError, kOutcomes };
  std::array<Histogram*, kOutcomes> rdma_seconds_{};
  std::array<Histogram*, kOutcomes> http_seconds_{};
  ServerHealth agents_;  // per volume server: its agent's health
  ReplicaSpeed speed_;   // per volume server: how fast its agent answered lately (2+ replicas only)
};

}  // namespace seaweed::transport
