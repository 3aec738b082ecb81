#include "fuse/metadata_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/metrics.h"
#include "filer/filer_client.h"

namespace seaweed::fuse {
namespace {

Counter& evictions() {
  static Counter& c = Metrics::global().counter("seaweed_mount_metadata_evictions_total",
                                                "cached entries, listings and layouts pushed out by -cacheMetaMB");
  return c;
}

// Per cached item beyond its value: list node, index node and bucket, the key's string header.
constexpr size_t kItemOverhead = 160;

// An estimate of an entry's heap: its objects (Entry, FuseAttributes, one FileChunk and FileId
// per chunk) plus twice its wire size for the strings and repeated fields. Message::SpaceUsedLong
// is exact but walks the message by reflection (~1 us, 50x ByteSizeLong) and allocates for map
// fields. For a one-chunk entry this errs high (~850 bytes charged), which keeps the bound.
size_t entry_bytes(const std::string& path, const filer_pb::Entry& e) {
  constexpr size_t kEntryObjects = 400, kChunkObjects = 160;
  return kItemOverhead + path.size() + kEntryObjects + static_cast<size_t>(e.chunks_size()) * kChunkObjects +
         2 * e.ByteSizeLong();
}

size_t listing_bytes(const std::string& dir, const std::vector<std::string>& names) {
  size_t bytes = kItemOverhead + dir.size() + names.capacity() * sizeof(std::string);
  for (const auto& n : names)
    if (n.size() >= sizeof(std::string) / 2) bytes += n.size() + 1;  // beyond the short-string buffer
  return bytes;
}

size_t layout_bytes(const std::string& path, const std::string& version, const chunks::FileLayout& l) {
  size_t bytes = kItemOverhead + path.size() + version.size() + sizeof(chunks::FileLayout) + 32;
  for (const auto& c : l.chunks()) bytes += sizeof(chunks::Chunk) + c.file_id.size() + c.cipher_key.size();
  bytes += l.intervals().size() * (sizeof(chunks::VisibleInterval) + sizeof(uint64_t));
  return bytes;
}

}  // namespace

std::string content_version(const filer_pb::Entry& e) {
  const auto& a = e.attributes();
  std::string v = std::to_string(a.mtime()) + "." + std::to_string(a.mtime_ns()) + "/" + std::to_string(a.file_size()) +
                  "/" + std::to_string(e.chunks_size()) + "/" + std::to_string(e.content().size());
  if (e.chunks_size() > 0) {
    v += "/" + e.chunks(0).file_id() + "/" + e.chunks(e.chunks_size() - 1).file_id() + "/" +
         std::to_string(e.chunks(e.chunks_size() - 1).modified_ts_ns());
  }
  return v;
}

std::pair<std::string, std::string> split_path(const std::string& path) {
  if (path.empty() || path == "/") return {"/", ""};
  const auto slash = path.rfind('/');
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

MetadataCache::MetadataCache(filer::MetadataSource& source, size_t capacity_bytes, std::chrono::seconds ttl)
    : source_(source), ttl_(ttl), lru_(capacity_bytes, [this](const Key& key, Value&) {
        mu_.assert_held();  // evictions happen inside lru_ calls, which all hold mu_
        evictions().add();
        switch (key.kind) {
          case Kind::kEntry:
            --entries_;
            break;
          case Kind::kListing:
            --listings_;
            break;
          case Kind::kLayout:
            --layouts_;
            break;
        }
      }) {}

std::chrono::steady_clock::duration MetadataCache::ttl() const {
  if (subscribed_.load()) return kSubscribedTtl;
  return ttl_;
}

std::optional<filer_pb::Entry> MetadataCache::fresh_entry_locked(const std::string& path) {
  auto* v = lru_.get(Key{Kind::kEntry, path});
  if (!v) return std::nullopt;
  const auto& cached = std::get<CachedEntry>(*v);
  if (cached.expired || Clock::now() - cached.fetched >= ttl()) return std::nullopt;
  return cached.entry;
}

bool MetadataCache::known_absent_locked(const std::string& dir, const std::string& name) {
  const Key key{Kind::kListing, dir};
  auto* v = lru_.get(key);
  if (!v) return false;
  const auto& listing = std::get<Listing>(*v);
  if (Clock::now() - listing.listed >= ttl()) {
    lru_.erase(key);
    --listings_;
    return false;
  }
  return !std::binary_search(listing.names.begin(), listing.names.end(), name);
}

void MetadataCache::put_entry_locked(const std::string& path, filer_pb::Entry entry, Clock::time_point fetched) {
  const size_t bytes = entry_bytes(path, entry);
  Key key{Kind::kEntry, path};
  if (lru_.peek(key)) --entries_;
  if (lru_.put(std::move(key), CachedEntry{std::move(entry), fetched}, bytes)) ++entries_;
}

void MetadataCache::remember_fetched(const std::string& path, const filer_pb::Entry& entry, uint64_t epoch) {
  MutexLock lock(mu_);
  if (epoch_.load() != epoch) return;  // an event came in meanwhile: the answer may predate it
  put_entry_locked(path, entry, Clock::now());
}

std::optional<filer_pb::Entry> MetadataCache::stale_entry(const std::string& path, const Error& why) {
  // Only when the source cannot be reached: a filer restart should not break reads of known files.
  if (why.code != EHOSTUNREACH && why.code != ETIMEDOUT) return std::nullopt;
  MutexLock lock(mu_);
  auto* v = lru_.peek(Key{Kind::kEntry, path});
  if (!v) return std::nullopt;
  spdlog::debug("filer unreachable ({}); using the cached entry of {}", why.message, path);
  return std::get<CachedEntry>(*v).entry;
}

Result<std::optional<filer_pb::Entry>> MetadataCache::lookup(const std::string& dir, const std::string& name) {
  const std::string child = filer::join_path(dir, name);
  // Answer from the caches when they are fresh: `ls -l` of a big directory must not cost one
  // RPC per entry once readdirplus has brought the entries in.
  using Answer = std::optional<std::optional<filer_pb::Entry>>;
  auto from_caches = [&]() -> Answer {
    MutexLock lock(mu_);
    if (auto hit = fresh_entry_locked(child)) return Answer(std::move(hit));
    if (known_absent_locked(dir, name)) return Answer(std::optional<filer_pb::Entry>());
    return std::nullopt;
  };
  if (auto answer = from_caches()) return std::move(*answer);
  if (warm_directory_after_miss(dir)) {
    if (auto answer = from_caches()) return std::move(*answer);
  }
  const uint64_t epoch = epoch_.load();
  auto found = source_.lookup(dir, name);
  if (!found.ok()) {
    if (auto stale = stale_entry(child, found.error())) return std::optional<filer_pb::Entry>(std::move(*stale));
    return found.error();
  }
  if (found->has_value()) remember_fetched(child, **found, epoch);
  return std::move(found.value());
}

Result<filer_pb::Entry> MetadataCache::entry(const std::string& path, bool fresh) {
  if (!fresh) {
    MutexLock lock(mu_);
    if (auto hit = fresh_entry_locked(path)) return std::move(*hit);
  }
  const auto [dir, name] = split_path(path);
  const uint64_t epoch = epoch_.load();
  auto found = source_.lookup(dir, name);
  if (!found.ok()) {
    if (auto stale = stale_entry(path, found.error())) return std::move(*stale);
    return found.error();
  }
  if (!found->has_value()) return make_error(ENOENT, path + " no longer exists");
  filer_pb::Entry e = std::move(**found);
  if (path == "/") e.set_is_directory(true);
  remember_fetched(path, e, epoch);
  return e;
}

Status MetadataCache::list(const std::string& dir, const std::function<void(filer_pb::Entry&&)>& on_entry) {
  const auto listed = Clock::now();
  const uint64_t epoch = epoch_.load();
  std::vector<filer_pb::Entry> fetched;
  auto status = source_.list(dir, [&](filer_pb::Entry&& e) {
    if (e.name().empty() || e.name().find('/') != std::string::npos) {
      spdlog::warn("{}: skipping an entry with a malformed name \"{}\"", dir, e.name());
      return true;
    }
    fetched.push_back(e);
    on_entry(std::move(e));
    return true;
  });
  if (!status.ok()) return status;
  Listing listing;
  listing.listed = listed;
  listing.names.reserve(fetched.size());
  for (const auto& e : fetched) listing.names.push_back(e.name());
  std::sort(listing.names.begin(), listing.names.end());
  listing.names.erase(std::unique(listing.names.begin(), listing.names.end()), listing.names.end());
  const size_t bytes = listing_bytes(dir, listing.names);

  MutexLock lock(mu_);
  // A metadata event applied while the pages came in may be older than them or newer: the
  // listing is still this call's answer, but it is not cached (it could resurrect a deleted name).
  if (epoch_.load() != epoch) return {};
  Key key{Kind::kListing, dir};
  if (lru_.peek(key)) --listings_;
  if (lru_.put(std::move(key), std::move(listing), bytes)) ++listings_;
  // Entries after the listing: in a directory larger than the cache, the listing (the names,
  // far smaller) stays and the oldest entries go.
  for (auto& e : fetched) {
    std::string path = filer::join_path(dir, e.name());
    put_entry_locked(path, std::move(e), listed);
  }
  return {};
}

bool MetadataCache::warm_directory_after_miss(const std::string& dir) {
  constexpr size_t kMaxTrackedDirectories = 4096;
  {
    MutexLock lock(mu_);
    const auto now = Clock::now();
    if (lookup_misses_.size() >= kMaxTrackedDirectories && !lookup_misses_.count(dir)) lookup_misses_.clear();
    auto& m = lookup_misses_[dir];
    if (m.listing) return false;  // another thread is listing it; this lookup asks the source itself
    // At most one warm-up listing per directory per TTL, whether it was cached or not (a
    // directory under constant change would otherwise be listed every few lookups).
    if (m.last_listing != Clock::time_point{} && now - m.last_listing < ttl()) return false;
    if (m.count == 0 || now - m.first >= ttl()) {
      m.count = 0;
      m.first = now;
    }
    if (++m.count < kMissesBeforeListing) return false;
    m.listing = true;
  }
  auto status = list(dir, [](filer_pb::Entry&&) {});
  if (!status.ok()) spdlog::debug("listing {} after lookup misses: {}", dir, status.error().message);
  MutexLock lock(mu_);
  auto& m = lookup_misses_[dir];
  m = LookupMisses{};
  m.last_listing = Clock::now();
  return status.ok();
}

std::shared_ptr<const chunks::FileLayout> MetadataCache::layout(const std::string& path, const std::string& version) {
  MutexLock lock(mu_);
  auto* v = lru_.get(Key{Kind::kLayout, path});
  if (!v) return nullptr;
  auto& cached = std::get<CachedLayout>(*v);
  return cached.version == version ? cached.layout : nullptr;
}

void MetadataCache::remember_layout(const std::string& path, std::string version,
                                    std::shared_ptr<const chunks::FileLayout> layout) {
  const size_t bytes = layout_bytes(path, version, *layout);
  MutexLock lock(mu_);
  Key key{Kind::kLayout, path};
  if (lru_.peek(key)) --layouts_;
  if (lru_.put(std::move(key), CachedLayout{std::move(version), std::move(layout)}, bytes)) ++layouts_;
}

void MetadataCache::forget(const std::string& path) {
  MutexLock lock(mu_);
  if (lru_.erase(Key{Kind::kEntry, path})) --entries_;
  if (lru_.erase(Key{Kind::kLayout, path})) --layouts_;
}

void MetadataCache::entry_gone(const std::string& dir, const std::string& name) {
  const std::string path = filer::join_path(dir, name);
  MutexLock lock(mu_);
  if (lru_.erase(Key{Kind::kEntry, path})) --entries_;
  if (lru_.erase(Key{Kind::kLayout, path})) --layouts_;
  if (lru_.erase(Key{Kind::kListing, path})) --listings_;  // a removed directory
  const Key parent{Kind::kListing, dir};
  if (auto* v = lru_.peek(parent)) {
    auto& names = std::get<Listing>(*v).names;
    auto it = std::lower_bound(names.begin(), names.end(), name);
    if (it != names.end() && *it == name) {
      names.erase(it);
      lru_.recharge(parent, listing_bytes(dir, names));
    }
  }
}

bool MetadataCache::entry_changed(const std::string& dir, const filer_pb::Entry& e) {
  const std::string path = filer::join_path(dir, e.name());
  MutexLock lock(mu_);
  bool data_changed = true;
  const Key layout_key{Kind::kLayout, path};
  if (auto* v = lru_.peek(layout_key)) {
    data_changed = std::get<CachedLayout>(*v).version != content_version(e);
    if (data_changed && lru_.erase(layout_key)) --layouts_;
  }
  // Only entries already cached are refreshed: events about paths nobody asked for would fill
  // the cache with every change under the mount.
  if (lru_.peek(Key{Kind::kEntry, path})) put_entry_locked(path, e, Clock::now());
  const Key parent{Kind::kListing, dir};
  if (auto* v = lru_.peek(parent)) {
    auto& names = std::get<Listing>(*v).names;
    auto it = std::lower_bound(names.begin(), names.end(), e.name());
    if (it == names.end() || *it != e.name()) {
      names.insert(it, e.name());
      lru_.recharge(parent, listing_bytes(dir, names));
    }
  }
  return data_changed;
}

void MetadataCache::clear() {
  ++epoch_;
  MutexLock lock(mu_);
  lru_.erase_if([](const Key& key, Value& value) {
    if (key.kind != Kind::kEntry) return true;
    std::get<CachedEntry>(value).expired = true;
    return false;
  });
  listings_ = layouts_ = 0;
}

MetadataCache::Stats MetadataCache::stats() const {
  MutexLock lock(mu_);
  return Stats{lru_.bytes(), lru_.capacity(), entries_, listings_, layouts_, lru_.evictions()};
}

}  // namespace seaweed::fuse
