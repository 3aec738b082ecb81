#include "reader/chunk_cache.h"

namespace seaweed::reader {

ChunkCache::Bytes ChunkCache::get(const std::string& file_id) {
  MutexLock lock(mu_);
  auto it = index_.find(file_id);
  if (it == index_.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ChunkCache::put(const std::string& file_id, Bytes bytes) {
  if (!bytes || capacity_ == 0 || bytes->size() > capacity_ / 4) return;
  MutexLock lock(mu_);
  if (auto it = index_.find(file_id); it != index_.end()) {
    bytes_ -= it->second->second->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  bytes_ += bytes->size();
  lru_.emplace_front(file_id, std::move(bytes));
  index_[file_id] = lru_.begin();
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().second->size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

size_t ChunkCache::size_bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

}  // namespace seaweed::reader
