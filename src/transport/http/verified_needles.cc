#include "transport/http/verified_needles.h"

#include <utility>

namespace seaweed::transport::http {

std::optional<uint32_t> VerifiedVersions::get(const std::string& server, const std::string& fid) {
  const std::string k = key(server, fid);
  std::lock_guard lock(mu_);
  if (auto it = current_.find(k); it != current_.end()) return it->second;
  auto it = old_.find(k);
  if (it == old_.end()) return std::nullopt;
  const uint32_t crc = it->second;
  old_.erase(it);
  if (current_.size() >= per_generation_) old_ = std::exchange(current_, {});
  current_.emplace(k, crc);
  return crc;
}

void VerifiedVersions::put(const std::string& server, const std::string& fid, uint32_t crc) {
  std::string k = key(server, fid);
  std::lock_guard lock(mu_);
  old_.erase(k);
  if (current_.size() >= per_generation_ && current_.count(k) == 0) old_ = std::exchange(current_, {});
  current_[std::move(k)] = crc;
}

void VerifiedVersions::erase(const std::string& server, const std::string& fid) {
  const std::string k = key(server, fid);
  std::lock_guard lock(mu_);
  current_.erase(k);
  old_.erase(k);
}

size_t VerifiedVersions::size() const {
  std::lock_guard lock(mu_);
  return current_.size() + old_.size();
}

NeedleCache::Lease::Lease(Lease&& other) noexcept
    : cache_(std::exchange(other.cache_, nullptr)), fid_(std::move(other.fid_)) {}

NeedleCache::Lease& NeedleCache::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (cache_ != nullptr) cache_->finish(fid_, nullptr);
    cache_ = std::exchange(other.cache_, nullptr);
    fid_ = std::move(other.fid_);
  }
  return *this;
}

NeedleCache::Lease::~Lease() {
  if (cache_ != nullptr) cache_->finish(fid_, nullptr);
}

void NeedleCache::Lease::publish(Bytes bytes) {
  if (cache_ == nullptr) return;
  std::exchange(cache_, nullptr)->finish(fid_, std::move(bytes));
}

NeedleCache::Bytes NeedleCache::find(const std::string& fid) {
  std::lock_guard lock(mu_);
  auto it = index_.find(fid);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

std::string NeedleCache::take_buffer(size_t size) {
  {
    std::lock_guard lock(spares_->mu);
    auto& free = spares_->free;
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (it->capacity() < size) continue;
      std::string buffer = std::move(*it);
      spares_->bytes -= buffer.capacity();
      free.erase(it);
      buffer.clear();
      return buffer;
    }
  }
  std::string buffer;
  buffer.reserve(size);
  return buffer;
}

NeedleCache::Bytes NeedleCache::share(std::string&& bytes) {
  auto* owned = new std::string(std::move(bytes));  // owned by the shared_ptr below
  return Bytes(owned, [spares = spares_](const std::string* s) { spares->give_back(const_cast<std::string*>(s)); });
}

void NeedleCache::Spares::give_back(std::string* s) {
  std::unique_ptr<std::string> owned(s);
  std::lock_guard lock(mu);
  if (bytes + owned->capacity() > limit) return;
  bytes += owned->capacity();
  free.push_back(std::move(*owned));
}

NeedleCache::Acquired NeedleCache::acquire(const std::string& fid) {
  std::unique_lock lock(mu_);
  if (auto it = index_.find(fid); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return {it->second->second, {}};
  }
  auto it = in_flight_.find(fid);
  if (it == in_flight_.end()) {
    in_flight_.emplace(fid, std::make_shared<Flight>());
    return {nullptr, Lease(this, fid)};
  }
  std::shared_ptr<Flight> flight = it->second;
  fetched_.wait(lock, [&] { return flight->done; });
  return {flight->bytes, {}};
}

void NeedleCache::finish(const std::string& fid, Bytes bytes) {
  {
    std::lock_guard lock(mu_);
    if (auto it = in_flight_.find(fid); it != in_flight_.end()) {
      it->second->done = true;
      it->second->bytes = bytes;
      in_flight_.erase(it);
    }
    if (bytes && capacity_ != 0 && bytes->size() <= max_entry_bytes() && index_.count(fid) == 0) {
      bytes_ += bytes->size();
      lru_.emplace_front(fid, std::move(bytes));
      index_[fid] = lru_.begin();
      while (bytes_ > capacity_ && !lru_.empty()) {
        bytes_ -= lru_.back().second->size();
        index_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
  }
  fetched_.notify_all();
}

size_t NeedleCache::size_bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace seaweed::transport::http
