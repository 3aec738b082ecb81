// The -cacheDir tier: chunks kept on local disk, keyed by file id, so that reading the same data
// again (another epoch, another process, after a remount) costs no network. A file id names
// immutable content (a new write gets a new id), so an entry is never stale; the only check an
// entry needs is that the disk gave back what was written: every entry carries the CRC-32C of
// its bytes and is verified when first used by this process (a mismatch deletes it: a miss).
// Only bytes the transports delivered go in, and they deliver only CRC-verified bytes.
// Bounded by a byte budget, least recently used out first. docs/ARCHITECTURE.md, "Disk tier".
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/result.h"
#include "transport/volume_reader.h"

namespace seaweed::transport {

class DiskChunkCache {
 public:
  struct Options {
    std::string dir;              // the cache's own directory (created)
    uint64_t capacity_bytes = 0;  // bound of the entries' data
  };
  struct Stats {
    uint64_t hits = 0, misses = 0, stores = 0, evictions = 0, corrupt = 0;
    uint64_t bytes = 0, entries = 0;
  };

  // Opens dir, adopting the entries a previous run left (oldest first out), and removing
  // half-written files.
  static Result<std::unique_ptr<DiskChunkCache>> open(Options options);

  // The whole stored needle, verified; nullopt on a miss (or a corrupt entry, then removed).
  std::optional<StoredNeedle> get(const std::string& fid);
  // Clear bytes [offset, offset + dst.size()) of a cached needle that is not gzipped; nullopt on
  // a miss or a gzipped entry. Verifies the entry first if this process has not yet.
  std::optional<size_t> read_range(const std::string& fid, uint64_t offset, std::span<char> dst);
  [[nodiscard]] bool contains(const std::string& fid) const;
  // Stores a needle (ignored when it is larger than an eighth of the budget); evicts to fit.
  void put(const std::string& fid, const StoredNeedle& needle);

  [[nodiscard]] Stats stats() const;
  [[nodiscard]] const std::string& dir() const { return options_.dir; }

 private:
  struct Entry {
    uint64_t size = 0;  // data bytes
    bool gzipped = false;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  explicit DiskChunkCache(Options options) : options_(std::move(options)) {}
  [[nodiscard]] std::string path_of(const std::string& fid) const;
  // Reads and verifies the whole entry file; removes it when it does not check out.
  std::optional<StoredNeedle> load(const std::string& fid);
  void remove_locked(std::string fid, bool evicted);
  void touch_locked(Entry& e, const std::string& fid);

  Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
  std::unordered_set<std::string> verified_;  // entries whose CRC this process checked
  uint64_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0}, stores_{0}, evictions_{0}, corrupt_{0};
};

// A VolumeReader that answers from a DiskChunkCache and fills it: whole reads are stored as
// they come; a ranged read that misses fetches the needle whole once (when its size is known to
// be at most max_chunk, or unknown) so that every later read of that chunk is local.
class DiskCachingVolumeReader : public VolumeReader {
 public:
  DiskCachingVolumeReader(VolumeReader& inner, DiskChunkCache& cache, uint64_t max_chunk = 64u << 20)
      : inner_(inner), cache_(cache), max_chunk_(max_chunk) {}

  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override;
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override;

  // Whole fetches made (for tests: concurrent misses of one chunk share one fetch).
  [[nodiscard]] uint64_t fetches() const { return fetches_.load(); }

 private:
  // One whole fetch per chunk at a time: readahead asks for several blocks of one chunk at once,
  // and each would otherwise fetch the whole chunk. Returns false when another thread was
  // fetching fid (it is done now: look in the cache again).
  bool begin_fetch(const std::string& fid);
  void end_fetch(const std::string& fid);

  VolumeReader& inner_;
  DiskChunkCache& cache_;
  uint64_t max_chunk_;
  std::mutex fetch_mu_;
  std::condition_variable fetch_done_;
  std::unordered_set<std::string> fetching_;
  std::atomic<uint64_t> fetches_{0};
};

}  // namespace seaweed::transport
