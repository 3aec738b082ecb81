// The mount's metadata cache in front of a MetadataSource: entries by path, directory listings
// (the names, for negative lookups) and file layouts by path, all in one LRU bounded by bytes
// (-cacheMetaMB). It answers lookups locally where it can, lists a directory after repeated
// misses in it, applies the filer's metadata events, and keeps answers that raced with an event
// out of the cache (the metadata epoch). Knows nothing of inodes or the kernel: FileSystem maps
// paths to inodes and turns the changes into kernel invalidations.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "chunks/file_layout.h"
#include "common/lru.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "filer.pb.h"
#include "filer/metadata_source.h"

namespace seaweed::fuse {

// What identifies a file's content (mtime, size, chunk ids): a changed version means the bytes
// may have changed, so the kernel's pages go and open handles of the old version are superseded.
std::string content_version(const filer_pb::Entry& entry);

// "/a/b" -> {"/a", "b"}; "/" -> {"/", ""}.
std::pair<std::string, std::string> split_path(const std::string& path);

class MetadataCache {
 public:
  // With the metadata stream running, events keep cached entries current; this bounds the damage
  // of an event that never arrives.
  static constexpr auto kSubscribedTtl = std::chrono::seconds(60);
  // Lookups that had to ask the source in one directory within the TTL before it is listed whole.
  static constexpr int kMissesBeforeListing = 3;

  MetadataCache(filer::MetadataSource& source, size_t capacity_bytes, std::chrono::seconds ttl);

  // dir/name: from the caches when they are fresh (a recent listing answers "absent"), else from
  // the source. nullopt when it does not exist. The cached entry (however old) when the source
  // is unreachable.
  Result<std::optional<filer_pb::Entry>> lookup(const std::string& dir, const std::string& name) EXCLUDES(mu_);
  // The entry at path: cached unless `fresh` or expired. ENOENT when it no longer exists.
  Result<filer_pb::Entry> entry(const std::string& path, bool fresh) EXCLUDES(mu_);
  // Lists dir from the source into the caches; on_entry sees each entry (malformed names are
  // skipped). The listing is the caller's answer even when it is not cached (see the epoch).
  Status list(const std::string& dir, const std::function<void(filer_pb::Entry&&)>& on_entry) EXCLUDES(mu_);

  // The cached layout of path if it was built for this content version.
  std::shared_ptr<const chunks::FileLayout> layout(const std::string& path, const std::string& version) EXCLUDES(mu_);
  void remember_layout(const std::string& path, std::string version, std::shared_ptr<const chunks::FileLayout> layout)
      EXCLUDES(mu_);

  // The kernel forgot the inode of path: its entry and layout go (the parent's listing stays).
  void forget(const std::string& path) EXCLUDES(mu_);

  // Metadata events, applied in order from one thread. begin_event() comes first for each
  // event: it moves the epoch, so answers fetched meanwhile are not cached.
  void begin_event() { ++epoch_; }
  void entry_gone(const std::string& dir, const std::string& name) EXCLUDES(mu_);
  // Updates a cached entry and the parent's listing; true when the content version differs from
  // the cached layout's (or none was cached): the kernel must drop the pages.
  bool entry_changed(const std::string& dir, const filer_pb::Entry& entry) EXCLUDES(mu_);
  // Events may have been lost (the metadata stream was resubscribed): listings and layouts go,
  // cached entries expire (the next lookup asks the source) but stay as the last known state
  // that lookups fall back to while the source is unreachable (a filer restarting).
  void clear() EXCLUDES(mu_);

  // While the stream runs, cached entries stay valid until an event says otherwise (up to
  // kSubscribedTtl); without it they expire after the TTL given to the constructor.
  void set_subscribed(bool on) { subscribed_.store(on); }
  [[nodiscard]] std::chrono::steady_clock::duration ttl() const;

  struct Stats {
    size_t bytes = 0;
    size_t capacity = 0;
    size_t entries = 0;
    size_t listings = 0;
    size_t layouts = 0;
    uint64_t evictions = 0;
  };
  [[nodiscard]] Stats stats() const EXCLUDES(mu_);
  [[nodiscard]] uint64_t epoch() const { return epoch_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  enum class Kind : uint8_t { kEntry, kListing, kLayout };
  struct Key {
    Kind kind;
    std::string path;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<std::string>{}(k.path) ^ static_cast<size_t>(k.kind); }
  };
  struct CachedEntry {
    filer_pb::Entry entry;
    Clock::time_point fetched;
    bool expired = false;  // by clear(): only the unreachable-source fallback may use it
  };
  struct Listing {
    std::vector<std::string> names;  // sorted
    Clock::time_point listed;
  };
  struct CachedLayout {
    std::string version;
    std::shared_ptr<const chunks::FileLayout> layout;
  };
  using Value = std::variant<CachedEntry, Listing, CachedLayout>;
  struct LookupMisses {
    int count = 0;
    Clock::time_point first;
    bool listing = false;  // a thread is listing the directory now
    Clock::time_point last_listing{};
  };

  // The fresh cached entry of path.
  std::optional<filer_pb::Entry> fresh_entry_locked(const std::string& path) REQUIRES(mu_);
  // True when dir was listed recently and name was not in it (and no event added it).
  bool known_absent_locked(const std::string& dir, const std::string& name) REQUIRES(mu_);
  // The cached entry however old, when `why` says the source is unreachable.
  std::optional<filer_pb::Entry> stale_entry(const std::string& path, const Error& why) EXCLUDES(mu_);
  void put_entry_locked(const std::string& path, filer_pb::Entry entry, Clock::time_point fetched) REQUIRES(mu_);
  // Caches an entry fetched from the source unless an event was applied since `epoch` (taken
  // before the request): the event may be newer than the answer.
  void remember_fetched(const std::string& path, const filer_pb::Entry& entry, uint64_t epoch) EXCLUDES(mu_);
  // Counts a lookup that had to ask the source; the kMissesBeforeListing-th in a directory within
  // the TTL lists the whole directory, so the next lookups there are answered locally (opening
  // many files of one directory without listing it first cost one RPC each). True when it listed.
  bool warm_directory_after_miss(const std::string& dir) EXCLUDES(mu_);

  filer::MetadataSource& source_;
  const std::chrono::seconds ttl_;
  std::atomic<uint64_t> epoch_{0};  // bumped by every applied event and clear()
  std::atomic<bool> subscribed_{false};

  mutable Mutex mu_;
  ByteLru<Key, Value, KeyHash> lru_ GUARDED_BY(mu_);
  size_t entries_ GUARDED_BY(mu_) = 0;  // items of each kind in lru_
  size_t listings_ GUARDED_BY(mu_) = 0;
  size_t layouts_ GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, LookupMisses> lookup_misses_ GUARDED_BY(mu_);
};

}  // namespace seaweed::fuse
