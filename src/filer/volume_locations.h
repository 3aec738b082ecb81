// Volume id -> volume server URLs, filled by the filer's LookupVolume and kept for a while.
// A failed read invalidates the volume so the next read asks the filer again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace seaweed::filer {

class VolumeLocations {
 public:
  using Lookup = std::function<Result<std::map<uint32_t, std::vector<std::string>>>(const std::vector<uint32_t>&)>;

  VolumeLocations(Lookup lookup, std::chrono::seconds ttl) : lookup_(std::move(lookup)), ttl_(ttl) {}

  // URLs of the volume's servers; ENXIO when the filer knows no location for it.
  Result<std::vector<std::string>> find(uint32_t volume_id);
  void invalidate(uint32_t volume_id);

 private:
  struct Cached {
    std::vector<std::string> urls;
    std::chrono::steady_clock::time_point expires;
  };
  Lookup lookup_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<uint32_t, Cached> cache_;
};

}  // namespace seaweed::filer
