// A bounded LRU of decoded chunk bytes shared by all open files: whole chunks that had to be
// fetched whole (compressed, encrypted, manifests) are decoded once and sliced many times.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/thread_annotations.h"

namespace seaweed::reader {

class ChunkCache {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  explicit ChunkCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  Bytes get(const std::string& file_id) EXCLUDES(mu_);
  // Entries larger than a quarter of the capacity are not kept (they would evict everything).
  void put(const std::string& file_id, Bytes bytes) EXCLUDES(mu_);

  [[nodiscard]] size_t size_bytes() const EXCLUDES(mu_);
  // get() calls that found the chunk, and that did not (for the mount's metrics).
  [[nodiscard]] uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  using Lru = std::list<std::pair<std::string, Bytes>>;
  const size_t capacity_;
  mutable Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);  // front = most recently used
  std::unordered_map<std::string, Lru::iterator> index_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace seaweed::reader
