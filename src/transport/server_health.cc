#include "transport/server_health.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace seaweed::transport {

bool ServerHealth::down(const std::string& server, bool& recovering) {
  recovering = false;
  if (records_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(mu_);
  auto it = health_.find(server);
  if (it == health_.end()) return false;
  recovering = true;
  auto& h = it->second;
  const auto now = std::chrono::steady_clock::now();
  if (h.down_until > now) return true;
  // Backoff over: this caller probes it; the others keep skipping it for another backoff period
  // (so one request, not every one, waits to find out whether it is still gone).
  h.probing = true;
  h.down_until = now + h.backoff;
  return false;
}

std::vector<std::string> ServerHealth::backing_off() {
  std::vector<std::string> out;
  if (records_.load(std::memory_order_relaxed) == 0) return out;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (const auto& [server, h] : health_)
    if (h.down_until > now) out.push_back(server);
  return out;
}

void ServerHealth::mark_down(const std::string& server, const Error& why) {
  std::lock_guard lock(mu_);
  auto& h = health_[server];
  records_.store(health_.size(), std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (h.down_until > now && !h.probing) return;
  h.probing = false;
  h.backoff = h.backoff.count() == 0 ? options_.initial : std::min(options_.max, h.backoff * 2);
  h.down_until = now + h.backoff;
  spdlog::debug("{} {} marked down for {} ms: {}", what_, server, h.backoff.count(), why.message);
}

void ServerHealth::mark_up(const std::string& server) {
  if (records_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mu_);
  auto it = health_.find(server);
  if (it == health_.end()) return;
  if (it->second.backoff.count() != 0) spdlog::info("{} {} serves again", what_, server);
  health_.erase(it);
  records_.store(health_.size(), std::memory_order_relaxed);
}

}  // namespace seaweed::transport
