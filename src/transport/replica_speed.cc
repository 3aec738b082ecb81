#include "transport/replica_speed.h"

#include <algorithm>
#include <mutex>

namespace seaweed::transport {

ReplicaSpeed::Estimate* ReplicaSpeed::find(const std::string& server) const {
  std::shared_lock lock(mu_);
  auto it = by_server_.find(server);
  return it == by_server_.end() ? nullptr : it->second.get();
}

ReplicaSpeed::Estimate& ReplicaSpeed::get(const std::string& server) {
  if (Estimate* e = find(server)) return *e;
  std::unique_lock lock(mu_);
  auto& slot = by_server_[server];
  if (!slot) slot = std::make_unique<Estimate>();
  return *slot;
}

void ReplicaSpeed::record(const std::string& server, std::chrono::nanoseconds took, uint64_t bytes) {
  const uint64_t ns = static_cast<uint64_t>(std::max<int64_t>(0, took.count()));
  const uint64_t sample = ns * (uint64_t{1} << 20) / std::max(bytes, kMinCostBytes);
  Estimate& e = get(server);
  const uint64_t old = e.ns_per_mib.load(std::memory_order_relaxed);
  uint64_t next = sample;
  if (e.samples.load(std::memory_order_relaxed) > 0)
    next = sample > old ? old + (sample - old) / 8 : old - (old - sample) * 3 / 4;
  e.ns_per_mib.store(next, std::memory_order_relaxed);
  if (e.samples.load(std::memory_order_relaxed) < kMinSamples) e.samples.fetch_add(1, std::memory_order_relaxed);
}

uint64_t ReplicaSpeed::cost(const std::string& server) const {
  const Estimate* e = find(server);
  return e == nullptr ? 0 : e->ns_per_mib.load(std::memory_order_relaxed);
}

bool ReplicaSpeed::demote_slow(std::vector<std::string>& order) {
  if (order.size() < 2) return false;
  std::vector<Estimate*> est(order.size());
  bool any_above_floor = false;
  {
    std::shared_lock lock(mu_);  // one lookup pass; the estimates outlive the lock (never erased)
    for (size_t i = 0; i < order.size(); ++i) {
      auto it = by_server_.find(order[i]);
      Estimate* e = it == by_server_.end() ? nullptr : it->second.get();
      if (e != nullptr && e->samples.load(std::memory_order_relaxed) < kMinSamples) e = nullptr;
      est[i] = e;
      any_above_floor =
          any_above_floor || (e != nullptr && e->ns_per_mib.load(std::memory_order_relaxed) > kSlowFloorNsPerMiB);
    }
  }
  if (!any_above_floor) return false;  // the healthy case: nothing can be slow
  std::vector<bool> slow(order.size(), false);
  bool any = false;
  for (size_t i = 0; i < order.size(); ++i) {
    if (est[i] == nullptr) continue;
    const uint64_t mine = est[i]->ns_per_mib.load(std::memory_order_relaxed);
    if (mine <= kSlowFloorNsPerMiB) continue;
    uint64_t best = UINT64_MAX;
    for (size_t j = 0; j < order.size(); ++j)
      if (j != i && est[j] != nullptr) best = std::min(best, est[j]->ns_per_mib.load(std::memory_order_relaxed));
    if (best == UINT64_MAX || mine / kSlowFactor <= best) continue;
    slow[i] = true;
  }
  // A slow server ahead of a fast one would be passed over: every kProbeEvery-th such turn it
  // keeps its place (the probe), so its estimate follows the link. Turns where it is behind the
  // fast ones anyway do not count.
  for (size_t i = 0; i < order.size(); ++i) {
    if (!slow[i]) continue;
    bool fast_behind = false;
    for (size_t j = i + 1; j < order.size() && !fast_behind; ++j) fast_behind = !slow[j];
    if (!fast_behind) continue;
    if (est[i]->turns.fetch_add(1, std::memory_order_relaxed) % kProbeEvery == kProbeEvery - 1) {
      slow[i] = false;
      continue;
    }
    any = true;
  }
  if (!any) return false;
  std::vector<std::string> fast_first;
  fast_first.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    if (!slow[i]) fast_first.push_back(std::move(order[i]));
  for (size_t i = 0; i < order.size(); ++i)
    if (slow[i]) fast_first.push_back(std::move(order[i]));
  order = std::move(fast_first);
  return true;
}

}  // namespace seaweed::transport
