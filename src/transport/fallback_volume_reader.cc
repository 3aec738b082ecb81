#include "transport/fallback_volume_reader.h"

#include <spdlog/spdlog.h>

namespace seaweed::transport {
namespace {

Counter& read_bytes(const char* transport) {
  return Metrics::global().counter("seaweed_mount_read_bytes_total", "Bytes read from volume servers, by transport",
                                   std::string("transport=\"") + transport + "\"");
}
Counter& fallbacks(const char* reason) {
  return Metrics::global().counter("seaweed_mount_rdma_fallbacks_total",
                                   "Reads that went over HTTP because the agent path failed, by reason",
                                   std::string("reason=\"") + reason + "\"");
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
      fallback_down_(fallbacks("agent_down")) {}

std::shared_ptr<VolumeReader> FallbackVolumeReader::pick_agent(const NeedleLocator& loc, std::string& server,
                                                               bool& any_agent, bool& recovering) {
  const auto now = std::chrono::steady_clock::now();
  bool any_down = false;
  any_agent = false;
  recovering = false;
  for (const auto& url : loc.urls) {
    auto agent = agent_for_(url);
    if (!agent) continue;
    any_agent = true;
    {
      std::lock_guard lock(mu_);
      auto it = health_.find(url);
      if (it != health_.end() && it->second.down_until > now) {
        any_down = true;
        continue;
      }
      recovering = it != health_.end();
    }
    server = url;
    return agent;
  }
  if (any_down) fallback_down_.add();
  return nullptr;
}

void FallbackVolumeReader::mark_down(const std::string& server, const Error& why) {
  std::lock_guard lock(mu_);
  auto& h = health_[server];
  // One outage raises the backoff once: the other requests that were in flight when the agent
  // went away fail too, and must not double it again.
  if (h.down_until > std::chrono::steady_clock::now()) return;
  h.backoff = h.backoff.count() == 0 ? options_.initial_backoff : std::min(options_.max_backoff, h.backoff * 2);
  h.down_until = std::chrono::steady_clock::now() + h.backoff;
  spdlog::debug("agent for {} marked down for {} ms: {}", server, h.backoff.count(), why.message);
}

void FallbackVolumeReader::mark_up(const std::string& server) {
  std::lock_guard lock(mu_);
  auto it = health_.find(server);
  if (it != health_.end() && it->second.backoff.count() != 0) {
    spdlog::info("agent for {} serves again", server);
    health_.erase(it);
  }
}

template <class T, class AgentCall, class HttpCall>
Result<T> FallbackVolumeReader::run(const NeedleLocator& loc, AgentCall&& agent_call, HttpCall&& http_call,
                                    uint64_t (*bytes)(const T&)) {
  std::string server;
  bool any_agent = false, recovering = false;
  if (auto agent = pick_agent(loc, server, any_agent, recovering)) {
    Result<T> r = agent_call(*agent);
    if (r.ok()) {
      if (recovering) mark_up(server);  // healthy agents cost no second lookup
      rdma_bytes_.add(bytes(*r));
      return r;
    }
    const Error& e = r.error();
    // A miss (needle not on this agent, e.g. appended a moment ago, or cookie refused) says nothing
    // about the agent's health; errors and timeouts do.
    if (e.code == ENOENT || e.code == EACCES || e.code == EAGAIN) {
      fallback_miss_.add();
    } else {
      (e.code == ETIMEDOUT ? fallback_timeout_ : fallback_error_).add();
      mark_down(server, e);
    }
    if (!options_.fallback) return e.context("agent read of " + loc.fid_text + " (fallback disabled)");
  } else if (any_agent && !options_.fallback) {
    return make_error(EIO, "agent for " + loc.fid_text + " is down and fallback is disabled");
  }
  Result<T> r = http_call();
  if (r.ok()) http_bytes_.add(bytes(*r));
  return r;
}

Result<size_t> FallbackVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  return run<size_t>(
      loc, [&](VolumeReader& agent) { return agent.read_range(loc, offset, dst); },
      [&] { return http_.read_range(loc, offset, dst); }, +[](const size_t& n) { return static_cast<uint64_t>(n); });
}

Result<StoredNeedle> FallbackVolumeReader::read_whole(const NeedleLocator& loc) {
  return run<StoredNeedle>(
      loc, [&](VolumeReader& agent) { return agent.read_whole(loc); }, [&] { return http_.read_whole(loc); },
      +[](const StoredNeedle& n) { return static_cast<uint64_t>(n.data.size()); });
}

}  // namespace seaweed::transport
