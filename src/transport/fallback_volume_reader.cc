#include "transport/fallback_volume_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/metric_names.h"
#include "transport/replica_order.h"

namespace seaweed::transport {
namespace {

Counter& read_bytes(const char* transport) {
  return Metrics::global().counter(metric_names::kReadBytes, "Bytes read from volume servers, by transport",
                                   render_labels({{"transport", transport}}));
}
Counter& fallbacks(const char* reason) {
  return Metrics::global().counter(metric_names::kFallbacks,
                                   "Reads that went over HTTP because the agent path failed, by reason",
                                   render_labels({{"reason", reason}}));
}
Histogram& read_seconds(const char* transport, const char* outcome) {
  return Metrics::global().histogram(
      metric_names::kVolumeReadSeconds,
      "Time of one volume read (a chunk or a range of it) by transport and outcome (ok, miss, timeout, corrupt, error)",
      render_labels({{"transport", transport}, {"outcome", outcome}}));
}
constexpr const char* kOutcomeNames[] = {"ok", "miss", "timeout", "corrupt", "error"};

// The outcome label of a failed read: misses (needle or volume not there, cookie refused, busy)
// say nothing about the transport's health; corrupt copies (EBADMSG) neither; timeouts and other
// errors do.
int outcome_of(const Error& e) {
  if (e.code == ENOENT || e.code == EACCES || e.code == EAGAIN) return 1;
  if (e.code == ETIMEDOUT) return 2;
  return e.code == EBADMSG ? 3 : 4;
}

}  // namespace

FallbackVolumeReader::FallbackVolumeReader(VolumeReader& http, AgentLookup agent_for, FallbackOptions options)
    : http_(http),
      agent_for_(std::move(agent_for)),
      options_(options),
      rdma_bytes_(read_bytes("rdma")),
      http_bytes_(read_bytes("http")),
      fallback_error_(fallbacks("error")),
      fallback_miss_(fallbacks("miss")),
      fallback_timeout_(fallbacks("timeout")),
      fallback_down_(fallbacks("agent_down")),
      fallback_corrupt_(fallbacks("corrupt")),
      slow_skips_(Metrics::global().counter(
          metric_names::kSlowReplicaSkips,
          "Reads whose first replica's agent was passed over because it answered much slower than another's")),
      agents_("agent for", {options.initial_backoff, options.max_backoff}) {
  for (int i = 0; i < kOutcomes; ++i) {
    rdma_seconds_[i] = &read_seconds("rdma", kOutcomeNames[i]);
    http_seconds_[i] = &read_seconds("http", kOutcomeNames[i]);
  }
}

std::vector<std::string> FallbackVolumeReader::agents_down() { return agents_.backing_off(); }

template <class T, class AgentCall, class HttpCall>
Result<T> FallbackVolumeReader::run(const NeedleLocator& loc, AgentCall&& agent_call, HttpCall&& http_call,
                                    uint64_t (*bytes)(const T&)) {
  std::string agent_reasons;         // one per agent tried, for the error when nothing serves
  std::vector<std::string> corrupt;  // volume servers whose copy an agent found corrupt
  bool any_agent = false, tried = false, any_down = false;
  int agent_code = EIO;
  const size_t n = loc.urls.size();
  const size_t first = first_replica(loc.fid.key, n);
  // With replicas: their order, slow agents last (replica_speed.h). One replica: nothing to pick.
  std::vector<std::string> order;
  if (n > 1) {
    order.reserve(n);
    for (size_t i = 0; i < n; ++i) order.push_back(loc.urls[(first + i) % n]);
    if (speed_.demote_slow(order) && order.front() != loc.urls[first]) slow_skips_.add();
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& url = n > 1 ? order[i] : loc.urls[0];
    auto agent = agent_for_(url);
    if (!agent) continue;
    any_agent = true;
    bool recovering = false;
    if (agents_.down(url, recovering)) {
      any_down = true;
      continue;
    }
    tried = true;
    const auto start = std::chrono::steady_clock::now();
    Result<T> r = agent_call(*agent);
    const auto took = std::chrono::steady_clock::now() - start;
    rdma_seconds_[r.ok() ? kOk : outcome_of(r.error())]->observe(took);
    if (r.ok()) {
      if (n > 1) speed_.record(url, took, bytes(*r));
      if (recovering) agents_.mark_up(url);  // healthy agents cost no second lookup
      rdma_bytes_.add(bytes(*r));
      return r;
    }
    const Error& e = r.error();
    agent_code = e.code;
    agent_reasons += (agent_reasons.empty() ? "" : "; ") + ("agent for " + url + ": " + e.message);
    const bool miss = e.code == ENOENT || e.code == EACCES || e.code == EAGAIN;
    if (recovering && (miss || e.code == EBADMSG)) agents_.mark_up(url);  // it answered: alive again
    if (e.code == EBADMSG) {  // a bad copy, not a sick agent: the next replica may be good
      fallback_corrupt_.add();
      corrupt.push_back(url);
      continue;
    }
    // A miss (needle not on this agent, e.g. appended a moment ago, or cookie refused) says nothing
    // about the agent's health: HTTP asks the volume servers. Errors and timeouts do: the agent
    // backs off and the next replica's agent is asked (a partitioned host costs one timeout, not
    // a detour over HTTP that starts at the same host).
    if (miss) {
      fallback_miss_.add();
      break;
    }
    (e.code == ETIMEDOUT ? fallback_timeout_ : fallback_error_).add();
    agents_.mark_down(url, e);
  }
  if (!tried && any_down) fallback_down_.add();
  if (any_agent && !options_.fallback) {
    if (!tried) return make_error(EIO, "agent for " + loc.fid_text + " is down and fallback is disabled");
    return make_error(agent_code, agent_reasons).context("agent read of " + loc.fid_text + " (fallback disabled)");
  }
  auto timed_http = [&](const NeedleLocator& l) {
    const auto start = std::chrono::steady_clock::now();
    Result<T> r = http_call(l);
    http_seconds_[r.ok() ? kOk : outcome_of(r.error())]->observe(std::chrono::steady_clock::now() - start);
    return r;
  };
  if (corrupt.empty()) return finish<T>(timed_http(loc), agent_reasons, bytes);
  // Replicas an agent found corrupt are asked over HTTP last, not skipped: the agent may have read
  // another file than its volume server serves (a mapping older than a vacuum, a wrong -dir), and
  // every byte HTTP returns is verified too, so asking costs a request and never a wrong byte.
  auto is_corrupt = [&](const std::string& url) {
    return std::find(corrupt.begin(), corrupt.end(), url) != corrupt.end();
  };
  NeedleLocator good = loc, suspect = loc;
  std::erase_if(good.urls, is_corrupt);
  std::erase_if(suspect.urls, [&](const std::string& url) { return !is_corrupt(url); });
  std::string reasons = agent_reasons;
  if (!good.urls.empty()) {
    Result<T> r = timed_http(good);
    if (r.ok()) return finish<T>(std::move(r), agent_reasons, bytes);
    reasons += "; " + r.error().message;
  }
  return finish<T>(timed_http(suspect), reasons, bytes);
}

template <class T>
Result<T> FallbackVolumeReader::finish(Result<T> r, const std::string& agent_reasons, uint64_t (*bytes)(const T&)) {
  if (r.ok()) {
    http_bytes_.add(bytes(*r));
    return r;
  }
  if (agent_reasons.empty()) return r;
  return Error{r.error().code, agent_reasons + "; " + r.error().message};
}

Result<size_t> FallbackVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  return run<size_t>(
      loc, [&](VolumeReader& agent) { return agent.read_range(loc, offset, dst); },
      [&](const NeedleLocator& l) { return http_.read_range(l, offset, dst); },
      +[](const size_t& n) { return static_cast<uint64_t>(n); });
}

Result<StoredNeedle> FallbackVolumeReader::read_whole(const NeedleLocator& loc) {
  return run<StoredNeedle>(
      loc, [&](VolumeReader& agent) { return agent.read_whole(loc); },
      [&](const NeedleLocator& l) { return http_.read_whole(l); },
      +[](const StoredNeedle& n) { return static_cast<uint64_t>(n.data.size()); });
}

}  // namespace seaweed::transport
