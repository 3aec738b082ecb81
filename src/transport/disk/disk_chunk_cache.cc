#include "transport/disk/disk_chunk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "codec/codec.h"
#include "common/metrics.h"

namespace seaweed::transport {
namespace {

namespace fs = std::filesystem;

// Entry file: header, then the needle's stored bytes.
constexpr char kMagic[8] = {'S', 'W', 'D', 'C', '0', '0', '0', '1'};
constexpr uint32_t kGzipped = 1;
struct Header {
  char magic[8];
  uint32_t flags;
  uint32_t crc;   // CRC-32C of the data
  uint64_t size;  // data bytes
};
static_assert(sizeof(Header) == 24);

// File ids are "VID,KEYCOOKIE[_N]": anything else is not cached (never a path to escape with).
bool valid_fid(const std::string& fid) {
  const auto comma = fid.find(',');
  if (comma == 0 || comma == std::string::npos || fid.size() > 64) return false;
  return std::all_of(fid.begin(), fid.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ',' || c == '_';
  });
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

bool read_exact(int fd, void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

bool write_all(int fd, const void* buf, size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::optional<Header> read_header(int fd) {
  Header h{};
  if (!read_exact(fd, &h, sizeof h, 0) || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != sizeof(Header) + h.size) return std::nullopt;
  return h;
}

Counter& counter(const char* name, const char* help) { return Metrics::global().counter(name, help); }

}  // namespace

Result<std::unique_ptr<DiskChunkCache>> DiskChunkCache::open(Options options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return make_error(ec.value(), "cache dir " + options.dir + ": " + ec.message());
  if (::access(options.dir.c_str(), R_OK | W_OK | X_OK) != 0)
    return make_error(errno, "cache dir " + options.dir + ": " + std::strerror(errno));
  std::unique_ptr<DiskChunkCache> cache(new DiskChunkCache(std::move(options)));

  struct Found {
    fs::file_time_type mtime;
    std::string fid;
    uint64_t size;
    bool gzipped;
  };
  std::vector<Found> found;
  for (auto it = fs::recursive_directory_iterator(cache->options_.dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path& p = it->path();
    const std::string fid = p.parent_path().filename().string() + "," + p.filename().string();
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    const auto h = fd.ok() && valid_fid(fid) ? read_header(fd.get()) : std::nullopt;
    if (!h) {
      fs::remove(p, ec);  // half-written (a crash between write and rename) or not ours
      continue;
    }
    found.push_back(Found{it->last_write_time(ec), fid, h->size, (h->flags & kGzipped) != 0});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard lock(cache->mu_);
  for (auto& f : found) {
    cache->lru_.push_front(f.fid);
    cache->entries_[f.fid] = Entry{f.size, f.gzipped, cache->lru_.begin()};
    cache->bytes_ += f.size;
  }
  while (cache->bytes_ > cache->options_.capacity_bytes && !cache->lru_.empty())
    cache->remove_locked(cache->lru_.back(), true);
  return cache;
}

std::string DiskChunkCache::path_of(const std::string& fid) const {
  const auto comma = fid.find(',');
  return options_.dir + "/" + fid.substr(0, comma) + "/" + fid.substr(comma + 1);
}

void DiskChunkCache::remove_locked(std::string fid, bool evicted) {  // a copy: fid may live in lru_
  auto it = entries_.find(fid);
  if (it == entries_.end()) return;
  bytes_ -= it->second.size;
  lru_.erase(it->second.lru);
  entries_.erase(it);
  verified_.erase(fid);
  ::unlink(path_of(fid).c_str());
  if (evicted) ++evictions_;
}

void DiskChunkCache::touch_locked(Entry& e, const std::string& fid) {
  lru_.erase(e.lru);
  lru_.push_front(fid);
  e.lru = lru_.begin();
}

std::optional<StoredNeedle> DiskChunkCache::load(const std::string& fid) {
  Fd fd(::open(path_of(fid).c_str(), O_RDONLY | O_CLOEXEC));
  std::optional<Header> h = fd.ok() ? read_header(fd.get()) : std::nullopt;
  StoredNeedle needle;
  bool good = false;
  if (h) {
    needle.data.resize(h->size);
    needle.gzipped = (h->flags & kGzipped) != 0;
    good = read_exact(fd.get(), needle.data.data(), h->size, sizeof(Header)) && codec::crc32c(needle.data) == h->crc;
  }
  std::lock_guard lock(mu_);
  if (!good) {
    if (entries_.count(fid)) {
      ++corrupt_;
      counter("seaweed_mount_disk_cache_corrupt_total", "disk cache entries that failed their CRC (removed)").add();
      remove_locked(fid, /*evicted=*/false);
    }
    return std::nullopt;
  }
  verified_.insert(fid);
  return needle;
}

std::optional<StoredNeedle> DiskChunkCache::get(const std::string& fid) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(fid);
    if (it == entries_.end()) {
      ++misses_;
      return std::nullopt;
    }
    touch_locked(it->second, fid);
  }
  auto needle = load(fid);
  if (needle) {
    ++hits_;
    counter("seaweed_mount_disk_cache_hits_total", "reads answered by the -cacheDir tier").add();
  } else {
    ++misses_;
  }
  return needle;
}

std::optional<size_t> DiskChunkCache::read_range(const std::string& fid, uint64_t offset, std::span<char> dst) {
  uint64_t size = 0;
  bool verified = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(fid);
    if (it == entries_.end()) {
      ++misses_;
      return std::nullopt;
    }
    if (it->second.gzipped) return std::nullopt;  // the transport slices gzip needles itself
    touch_locked(it->second, fid);
    size = it->second.size;
    verified = verified_.count(fid) > 0;
  }
  const size_t n = offset >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(dst.size(), size - offset));
  if (!verified) {
    // First use in this process: check the whole entry once, then slice what was read.
    auto needle = load(fid);
    if (!needle) {
      ++misses_;
      return std::nullopt;
    }
    if (n > 0) std::memcpy(dst.data(), needle->data.data() + offset, n);
  } else if (n > 0) {
    Fd fd(::open(path_of(fid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok() || !read_exact(fd.get(), dst.data(), n, sizeof(Header) + offset)) {
      ++misses_;  // evicted meanwhile
      return std::nullopt;
    }
  }
  ++hits_;
  counter("seaweed_mount_disk_cache_hits_total", "reads answered by the -cacheDir tier").add();
  return n;
}

void DiskChunkCache::put(const std::string& fid, const StoredNeedle& needle) {
  if (!valid_fid(fid) || needle.data.size() > options_.capacity_bytes / 8) return;
  const std::string path = path_of(fid);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  static std::atomic<uint64_t> serial{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++serial);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.flags = needle.gzipped ? kGzipped : 0;
  h.crc = codec::crc32c(needle.data);
  h.size = needle.data.size();
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.ok() || !write_all(fd.get(), &h, sizeof h) ||
        !write_all(fd.get(), needle.data.data(), needle.data.size())) {
      ::unlink(tmp.c_str());
      return;  // disk full or unwritable: the cache is an optimisation, reads go on
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return;
  }
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(fid); it != entries_.end()) {
    bytes_ -= it->second.size;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(fid);
  entries_[fid] = Entry{h.size, needle.gzipped, lru_.begin()};
  verified_.insert(fid);  // written from verified bytes by this process
  bytes_ += h.size;
  ++stores_;
  while (bytes_ > options_.capacity_bytes && lru_.size() > 1) remove_locked(lru_.back(), true);
}

bool DiskChunkCache::contains(const std::string& fid) const {
  std::lock_guard lock(mu_);
  return entries_.count(fid) > 0;
}

DiskChunkCache::Stats DiskChunkCache::stats() const {
  Stats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.stores = stores_.load();
  s.evictions = evictions_.load();
  s.corrupt = corrupt_.load();
  std::lock_guard lock(mu_);
  s.bytes = bytes_;
  s.entries = entries_.size();
  return s;
}

bool DiskCachingVolumeReader::begin_fetch(const std::string& fid) {
  std::unique_lock lock(fetch_mu_);
  if (fetching_.insert(fid).second) return true;
  fetch_done_.wait(lock, [&] { return fetching_.count(fid) == 0; });
  return false;
}

void DiskCachingVolumeReader::end_fetch(const std::string& fid) {
  {
    std::lock_guard lock(fetch_mu_);
    fetching_.erase(fid);
  }
  fetch_done_.notify_all();
}

Result<StoredNeedle> DiskCachingVolumeReader::read_whole(const NeedleLocator& loc) {
  const std::string fid = loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text;
  if (auto hit = cache_.get(fid)) return std::move(*hit);
  while (!begin_fetch(fid)) {
    if (auto hit = cache_.get(fid)) return std::move(*hit);  // else the other fetch failed: try ourselves
  }
  ++fetches_;
  auto fetched = inner_.read_whole(loc);
  if (fetched.ok()) cache_.put(fid, *fetched);
  end_fetch(fid);
  return fetched;
}

Result<size_t> DiskCachingVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  const std::string fid = loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text;
  if (auto n = cache_.read_range(fid, offset, dst)) return *n;
  // Kept gzipped (sliced by the transport), or too large to fetch whole for a range.
  if (cache_.contains(fid) || loc.max_stored_size > max_chunk_) return inner_.read_range(loc, offset, dst);
  if (!begin_fetch(fid)) {
    if (auto n = cache_.read_range(fid, offset, dst)) return *n;
    return inner_.read_range(loc, offset, dst);  // the other fetch failed or was not kept
  }
  // Fetch the chunk whole once: this read and every later one of it are then local.
  ++fetches_;
  auto whole = inner_.read_whole(loc);
  if (whole.ok()) cache_.put(fid, *whole);
  end_fetch(fid);
  if (!whole.ok()) return inner_.read_range(loc, offset, dst);
  std::string clear_storage;
  const std::string* clear = &whole->data;
  if (whole->gzipped) {
    auto inflated = codec::gunzip(whole->data);
    if (!inflated.ok()) return inner_.read_range(loc, offset, dst);
    clear_storage = std::move(inflated.value());
    clear = &clear_storage;
  }
  const size_t n =
      offset >= clear->size() ? 0 : static_cast<size_t>(std::min<uint64_t>(dst.size(), clear->size() - offset));
  if (n > 0) std::memcpy(dst.data(), clear->data() + offset, n);
  return n;
}

}  // namespace seaweed::transport
