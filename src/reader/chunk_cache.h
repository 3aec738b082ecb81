// A bounded LRU of decoded chunk bytes shared by all open files: whole chunks that had to be
// fetched whole (compressed, encrypted, manifests) are decoded once and sliced many times.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace seaweed::reader {

class ChunkCache {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  explicit ChunkCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  Bytes get(const std::string& file_id);
  // Entries larger than a quarter of the capacity are not kept (they would evict everything).
  void put(const std::string& file_id, Bytes bytes);

  [[nodiscard]] size_t size_bytes() const;

 private:
  using Lru = std::list<std::pair<std::string, Bytes>>;
  size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;  // front = most recently used
  std::unordered_map<std::string, Lru::iterator> index_;
  size_t bytes_ = 0;
};

}  // namespace seaweed::reader
