// What the HTTP reader remembers to make ranged reads verifiable (docs/ARCHITECTURE.md, "Verified
// bytes"): a volume server does not check the CRC of ranged reads, so the first read of a needle
// on a server fetches it whole and checks it against the ETag; then
//   * VerifiedVersions records (server, fid) -> that CRC, and later 206 answers are trusted only
//     while they carry the same ETag (another ETag is another version: verify again);
//   * NeedleCache keeps the verified clear bytes of recently fetched needles (bounded by bytes) and
//     lets concurrent readers of one needle wait for a single fetch instead of each fetching it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace seaweed::transport::http {

// A bounded map (server, fid) -> verified CRC. Two generations: when the current one is full it
// becomes the old one (the previous old one is dropped); a hit in the old one moves the record
// back, so records in use survive. At most 2 * per_generation records.
class VerifiedVersions {
 public:
  explicit VerifiedVersions(size_t per_generation = 1 << 15) : per_generation_(per_generation) {}

  std::optional<uint32_t> get(const std::string& server, const std::string& fid);
  void put(const std::string& server, const std::string& fid, uint32_t crc);
  void erase(const std::string& server, const std::string& fid);
  [[nodiscard]] size_t size() const;

 private:
  static std::string key(const std::string& server, const std::string& fid) { return server + '/' + fid; }

  size_t per_generation_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint32_t> current_, old_;
};

// Verified clear bytes of whole needles, LRU by bytes, with one fetch per needle at a time.
class NeedleCache {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  explicit NeedleCache(size_t capacity_bytes)
      : capacity_(capacity_bytes), spares_(std::make_shared<Spares>(capacity_bytes / 2)) {}
  NeedleCache(const NeedleCache&) = delete;
  NeedleCache& operator=(const NeedleCache&) = delete;

  // Needles larger than this are not kept (they would evict everything).
  [[nodiscard]] size_t max_entry_bytes() const { return capacity_ / 4; }

  Bytes find(const std::string& fid);

  // A buffer for a needle of `size` bytes: the storage of an evicted needle when one is large
  // enough (fresh pages cost a page fault each: ~0.25 s per GiB on a VM), else a new one. Empty.
  std::string take_buffer(size_t size);
  // Wraps a filled buffer as shareable bytes whose storage comes back to take_buffer() when the
  // last holder lets go.
  Bytes share(std::string&& bytes);

  // The right to fetch a needle: while a Lease is alive, other acquire() calls for the same fid
  // wait for it. Destroying it without publish() lets the waiters go and fetch themselves.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    [[nodiscard]] bool held() const { return cache_ != nullptr; }
    // Hands the verified bytes to the waiters and keeps them if they fit (null: nothing to share).
    void publish(Bytes bytes);

   private:
    friend class NeedleCache;
    Lease(NeedleCache* cache, std::string fid) : cache_(cache), fid_(std::move(fid)) {}
    NeedleCache* cache_ = nullptr;
    std::string fid_;
  };

  struct Acquired {
    Bytes bytes;  // verified bytes were here, or arrived while waiting
    Lease lease;  // else: held when the caller should fetch and publish
  };
  // bytes if cached; else the lease if nobody is fetching; else waits for the fetcher and returns
  // its bytes, or neither (its fetch kept nothing: look for a verified version and fetch alone).
  Acquired acquire(const std::string& fid);

  [[nodiscard]] size_t size_bytes() const;

 private:
  void finish(const std::string& fid, Bytes bytes);

  struct Flight {
    bool done = false;
    Bytes bytes;
  };
  // Storage of needles no longer held, up to half the cache's capacity in bytes.
  struct Spares {
    explicit Spares(size_t limit) : limit(limit) {}
    void give_back(std::string* s);
    std::mutex mu;
    std::vector<std::string> free;
    size_t bytes = 0;
    size_t limit;
  };
  using Lru = std::list<std::pair<std::string, Bytes>>;
  size_t capacity_;
  std::shared_ptr<Spares> spares_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  Lru lru_;  // front = most recently used
  std::unordered_map<std::string, Lru::iterator> index_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> in_flight_;  // fid -> the fetch under way
  size_t bytes_ = 0;
};

}  // namespace seaweed::transport::http
