#include "filer/volume_locations.h"

namespace seaweed::filer {

Result<std::vector<std::string>> VolumeLocations::find(uint32_t volume_id) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(volume_id);
    if (it != cache_.end() && it->second.expires > now) return it->second.urls;
  }
  // Concurrent misses may both ask the filer; the answer is the same and the cost one RPC.
  auto found = lookup_({volume_id});
  if (!found.ok()) return found.error().context("locate volume " + std::to_string(volume_id));
  auto it = found->find(volume_id);
  if (it == found->end() || it->second.empty())
    return make_error(ENXIO, "volume " + std::to_string(volume_id) + " has no known location");
  std::lock_guard lock(mu_);
  cache_[volume_id] = Cached{it->second, now + ttl_};
  return it->second;
}

void VolumeLocations::invalidate(uint32_t volume_id) {
  std::lock_guard lock(mu_);
  cache_.erase(volume_id);
}

}  // namespace seaweed::filer
