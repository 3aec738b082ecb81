#include "fuse/filesystem.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cstring>

#include "fuse/attributes.h"
#include "reader/file_reader.h"

namespace seaweed::fuse {
namespace {

constexpr size_t kMaxNameLength = 255;
// With the metadata stream running, events keep cached entries current; this bounds the damage
// of an event that never arrives.
constexpr auto kSubscribedEntryTtl = std::chrono::seconds(60);
constexpr char kXattrPrefix[] = "xattr-";  // how SeaweedFS keeps xattrs in Entry.extended

// What identifies a file's content: a changed version drops the kernel's cached pages.
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

}  // namespace

std::pair<std::string, std::string> split_path(const std::string& path) {
  if (path.empty() || path == "/") return {"/", ""};
  const auto slash = path.rfind('/');
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

FileSystem::FileSystem(MountOptions options, filer::FilerClient& filer, transport::VolumeReader& transport)
    : options_(std::move(options)),
      filer_(filer),
      inodes_(options_.filer_path),
      locations_([&filer](const std::vector<uint32_t>& vids) { return filer.lookup_volumes(vids); },
                 std::chrono::seconds(600)),
      chunk_cache_(static_cast<size_t>(std::max<int64_t>(0, options_.cache_capacity_mb)) << 20),
      fetcher_(transport, locations_, chunk_cache_),
      prefetch_(static_cast<size_t>(std::max<int64_t>(1, options_.prefetch_threads)),
                static_cast<size_t>(std::max<int64_t>(0, options_.prefetch_mb)) << 20) {}

Result<std::string> FileSystem::path_of(fuse_ino_t ino) const {
  auto p = inodes_.path(ino);
  if (!p) return make_error(ESTALE, "unknown inode " + std::to_string(ino));
  return *p;
}

void FileSystem::remember(uint64_t ino, const filer_pb::Entry& e) {
  std::lock_guard lock(entries_mu_);
  entries_[ino] = CachedEntry{e, std::chrono::steady_clock::now()};
}

void FileSystem::remember_fetched(uint64_t ino, const filer_pb::Entry& e, uint64_t epoch) {
  std::lock_guard lock(entries_mu_);
  if (metadata_epoch_.load() != epoch) return;  // an event came in meanwhile: the answer may predate it
  entries_[ino] = CachedEntry{e, std::chrono::steady_clock::now()};
}

Result<filer_pb::Entry> FileSystem::entry(fuse_ino_t ino, const std::string& path, bool fresh) {
  if (!fresh) {
    std::lock_guard lock(entries_mu_);
    auto it = entries_.find(ino);
    if (it != entries_.end() && std::chrono::steady_clock::now() - it->second.fetched < entry_ttl())
      return it->second.entry;
  }
  const auto [dir, name] = split_path(path);
  const uint64_t epoch = metadata_epoch_.load();
  auto found = filer_.lookup(dir, name);
  if (!found.ok()) {
    if (auto stale = stale_entry(ino, found.error())) return *stale;
    return found.error();
  }
  if (!found->has_value()) return make_error(ENOENT, path + " no longer exists");
  filer_pb::Entry e = std::move(**found);
  if (path == "/") e.set_is_directory(true);
  remember_fetched(ino, e, epoch);
  return e;
}

std::optional<filer_pb::Entry> FileSystem::stale_entry(uint64_t ino, const Error& why) {
  // Only when the filer is unreachable: a filer restart should not break reads of known files.
  if (why.code != EHOSTUNREACH && why.code != ETIMEDOUT) return std::nullopt;
  std::lock_guard lock(entries_mu_);
  auto it = entries_.find(ino);
  if (it == entries_.end()) return std::nullopt;
  spdlog::debug("filer unreachable ({}); using the cached entry of inode {}", why.message, ino);
  return it->second.entry;
}

Status FileSystem::check_root() {
  auto e = entry(InodeTable::kRoot, options_.filer_path, true);
  if (!e.ok()) return e.error().context("filer path " + options_.filer_path);
  if (!e->is_directory()) return make_error(ENOTDIR, "filer path " + options_.filer_path + " is not a directory");
  return {};
}

fuse_entry_param FileSystem::entry_param(uint64_t ino, const filer_pb::Entry& e) const {
  fuse_entry_param p{};
  p.ino = ino;
  p.generation = 1;
  p.attr = entry_to_stat(e, ino);
  p.attr_timeout = attr_timeout();
  p.entry_timeout = attr_timeout();
  return p;
}

Result<fuse_entry_param> FileSystem::lookup(fuse_ino_t parent, const std::string& name) {
  if (name.size() > kMaxNameLength) return make_error(ENAMETOOLONG, "name longer than 255 bytes");
  auto dir = path_of(parent);
  if (!dir.ok()) return dir.error();
  const std::string child = filer::join_path(*dir, name);
  fuse_entry_param negative{};  // ino 0: the kernel caches the miss for entry_timeout
  negative.entry_timeout = attr_timeout();
  // Answer from the caches when they are fresh: `ls -l` of a big directory must not cost one
  // RPC per entry once readdirplus has brought the entries in.
  auto from_caches = [&]() -> std::optional<fuse_entry_param> {
    if (auto hit = cached(child)) {
      inodes_.acquire(child);
      return entry_param(hit->first, hit->second);
    }
    if (known_absent(*dir, name)) return negative;
    return std::nullopt;
  };
  if (auto answer = from_caches()) return *answer;
  if (warm_directory_after_miss(*dir)) {
    if (auto answer = from_caches()) return *answer;
  }
  const uint64_t epoch = metadata_epoch_.load();
  auto found = filer_.lookup(*dir, name);
  if (!found.ok()) {
    auto ino = inodes_.find(child);
    if (auto stale = ino ? stale_entry(*ino, found.error()) : std::nullopt) {
      inodes_.acquire(child);
      return entry_param(*ino, *stale);
    }
    return found.error();
  }
  if (!found->has_value()) return negative;
  const uint64_t ino = inodes_.acquire(filer::join_path(*dir, name));
  remember_fetched(ino, **found, epoch);
  return entry_param(ino, **found);
}

Result<struct stat> FileSystem::getattr(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = entry(ino, *path, false);
  if (!e.ok()) return e.error();
  return entry_to_stat(*e, ino);
}

Result<std::string> FileSystem::readlink(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = entry(ino, *path, false);
  if (!e.ok()) return e.error();
  if (e->attributes().symlink_target().empty()) return make_error(EINVAL, *path + " is not a symlink");
  return e->attributes().symlink_target();
}

Result<uint64_t> FileSystem::open(fuse_ino_t ino, int flags, bool& keep_cache) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return make_error(EROFS, "read-only mount");
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = entry(ino, *path, false);
  if (!e.ok()) return e.error();
  if (e->is_directory()) return make_error(EISDIR, *path + " is a directory");

  auto file = std::make_shared<OpenFile>();
  file->path = *path;
  const std::string version = content_version(*e);
  keep_cache = false;
  if (!e->content().empty()) {
    file->is_inline = true;
    file->content = e->content().substr(0, entry_size(*e));
  } else {
    std::shared_ptr<const chunks::FileLayout> layout;
    {
      std::lock_guard lock(layouts_mu_);
      auto it = layouts_.find(ino);
      if (it != layouts_.end() && it->second.version == version) {
        layout = it->second.layout;
        keep_cache = true;  // same content as a previous open: the kernel's pages are still right
      }
    }
    if (!layout) {
      auto built = reader::build_layout(*e, fetcher_);
      if (!built.ok()) return built.error().context(*path);
      layout = std::move(built.value());
      std::lock_guard lock(layouts_mu_);
      layouts_[ino] = CachedLayout{version, layout};
    }
    file->stream = std::make_unique<reader::StreamReader>(
        layout, fetcher_, &prefetch_, static_cast<size_t>(std::max<int64_t>(0, options_.prefetch_blocks)));
    file->layout = std::move(layout);
  }
  const uint64_t fh = next_handle_++;
  std::lock_guard lock(handles_mu_);
  files_[fh] = std::move(file);
  return fh;
}

Status FileSystem::read_pieces(uint64_t fh, uint64_t offset, std::span<char> scratch, reader::ReadPieces& out) {
  std::shared_ptr<OpenFile> file;
  {
    std::lock_guard lock(handles_mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return make_error(EBADF, "unknown file handle " + std::to_string(fh));
    file = it->second;
  }
  if (file->is_inline) {
    if (offset >= file->content.size()) return {};
    const size_t n = std::min<size_t>(scratch.size(), file->content.size() - offset);
    out.add(file->content.data() + offset, n);
    out.pins.push_back(file);
    return {};
  }
  auto st = file->stream->read_pieces(offset, scratch, out);
  // Whatever failed underneath (no location, timeouts, bad data), the application sees EIO for
  // this read only; the cause stays in the message.
  if (!st.ok()) return Error{EIO, file->path + " at " + std::to_string(offset) + ": " + st.error().message};
  return {};
}

std::shared_ptr<const OpenFile> FileSystem::open_file(uint64_t fh) {
  std::lock_guard lock(handles_mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

void FileSystem::release(uint64_t fh) {
  std::lock_guard lock(handles_mu_);
  files_.erase(fh);
}

Result<uint64_t> FileSystem::opendir(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto self = entry(ino, *path, false);
  if (!self.ok()) return self.error();
  if (!self->is_directory()) return make_error(ENOTDIR, *path + " is not a directory");

  auto dir = std::make_shared<OpenDir>();
  DirEntryInfo dot{".", ino, entry_to_stat(*self, ino)};
  dir->entries.push_back(dot);
  const uint64_t parent_ino = ino == InodeTable::kRoot ? ino : inodes_.peek(split_path(*path).first);
  DirEntryInfo dotdot{"..", parent_ino, {}};
  dotdot.attr.st_ino = parent_ino;
  dotdot.attr.st_mode = S_IFDIR | 0755;
  dir->entries.push_back(dotdot);

  auto status = list_into_cache(*path, [&](filer_pb::Entry&& e, uint64_t child) {
    dir->entries.push_back(DirEntryInfo{e.name(), child, entry_to_stat(e, child)});
  });
  if (!status.ok()) return status.error();
  const uint64_t fh = next_handle_++;
  std::lock_guard lock(handles_mu_);
  dirs_[fh] = std::move(dir);
  return fh;
}

Status FileSystem::list_into_cache(const std::string& dir,
                                   const std::function<void(filer_pb::Entry&&, uint64_t ino)>& on_entry) {
  Listing listing;
  listing.listed = std::chrono::steady_clock::now();
  const uint64_t epoch = metadata_epoch_.load();
  std::vector<std::pair<uint64_t, CachedEntry>> fetched;
  auto status = filer_.list(dir, [&](filer_pb::Entry&& e) {
    if (e.name().empty() || e.name().find('/') != std::string::npos) {
      spdlog::warn("{}: skipping an entry with a malformed name \"{}\"", dir, e.name());
      return true;
    }
    const uint64_t child = inodes_.peek(filer::join_path(dir, e.name()));
    fetched.emplace_back(child, CachedEntry{e, listing.listed});
    listing.names.insert(e.name());
    on_entry(std::move(e), child);
    return true;
  });
  if (!status.ok()) return status;
  std::lock_guard lock(entries_mu_);
  // A metadata event applied while the pages came in may be older than them or newer: the
  // listing is still this call's answer, but it is not cached (it could resurrect a deleted name).
  if (metadata_epoch_.load() != epoch) return {};
  for (auto& [ino, cached] : fetched) entries_[ino] = std::move(cached);
  listings_[dir] = std::move(listing);
  return {};
}

bool FileSystem::warm_directory_after_miss(const std::string& dir) {
  constexpr int kMissesBeforeListing = 3;
  constexpr size_t kMaxTrackedDirectories = 4096;
  {
    std::lock_guard lock(entries_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (lookup_misses_.size() >= kMaxTrackedDirectories && !lookup_misses_.count(dir)) lookup_misses_.clear();
    auto& m = lookup_misses_[dir];
    if (m.listing) return false;  // another thread is listing it; this lookup asks the filer itself
    // At most one warm-up listing per directory per entry TTL, whether it was cached or not (a
    // directory under constant change would otherwise be listed every few lookups).
    if (m.last_listing != std::chrono::steady_clock::time_point{} && now - m.last_listing < entry_ttl()) return false;
    if (m.count == 0 || now - m.first >= entry_ttl()) {
      m.count = 0;
      m.first = now;
    }
    if (++m.count < kMissesBeforeListing) return false;
    m.listing = true;
  }
  auto status = list_into_cache(dir, [](filer_pb::Entry&&, uint64_t) {});
  if (!status.ok()) spdlog::debug("listing {} after lookup misses: {}", dir, status.error().message);
  std::lock_guard lock(entries_mu_);
  auto& m = lookup_misses_[dir];
  m = LookupMisses{};
  m.last_listing = std::chrono::steady_clock::now();
  return status.ok();
}

std::shared_ptr<OpenDir> FileSystem::dir(uint64_t fh) {
  std::lock_guard lock(handles_mu_);
  auto it = dirs_.find(fh);
  return it == dirs_.end() ? nullptr : it->second;
}

void FileSystem::releasedir(uint64_t fh) {
  std::lock_guard lock(handles_mu_);
  dirs_.erase(fh);
}

void FileSystem::count_lookup(uint64_t ino) {
  auto p = inodes_.path(ino);
  if (p) inodes_.acquire(*p);
}

std::chrono::steady_clock::duration FileSystem::entry_ttl() const {
  if (subscribed_.load()) return kSubscribedEntryTtl;
  return std::chrono::seconds(options_.cache_meta_ttl_sec);
}

std::optional<std::pair<uint64_t, filer_pb::Entry>> FileSystem::cached(const std::string& path) {
  auto ino = inodes_.find(path);
  if (!ino) return std::nullopt;
  std::lock_guard lock(entries_mu_);
  auto it = entries_.find(*ino);
  if (it == entries_.end() || std::chrono::steady_clock::now() - it->second.fetched >= entry_ttl()) return std::nullopt;
  return std::make_pair(*ino, it->second.entry);
}

bool FileSystem::known_absent(const std::string& dir, const std::string& name) {
  std::lock_guard lock(entries_mu_);
  auto it = listings_.find(dir);
  if (it == listings_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.listed >= entry_ttl()) {
    listings_.erase(it);
    return false;
  }
  return it->second.names.count(name) == 0;
}

void FileSystem::notify_inode(uint64_t ino, bool data_changed) {
  std::shared_lock lock(session_mu_);
  if (!session_) return;
  // off < 0: attributes only; off 0, len 0: attributes and every cached page.
  fuse_lowlevel_notify_inval_inode(session_, ino, data_changed ? 0 : -1, 0);
}

void FileSystem::notify_entry(const std::string& dir, const std::string& name) {
  auto parent = inodes_.find(dir);
  std::shared_lock lock(session_mu_);
  if (!session_ || !parent) return;
  fuse_lowlevel_notify_inval_entry(session_, *parent, name.c_str(), name.size());
}

void FileSystem::entry_gone(const std::string& dir, const std::string& name) {
  const std::string path = filer::join_path(dir, name);
  auto ino = inodes_.find(path);
  {
    std::lock_guard lock(entries_mu_);
    if (ino) entries_.erase(*ino);
    if (auto it = listings_.find(dir); it != listings_.end()) it->second.names.erase(name);
    listings_.erase(path);
  }
  if (ino) {
    std::lock_guard lock(layouts_mu_);
    layouts_.erase(*ino);
  }
  if (ino) notify_inode(*ino, true);
  notify_entry(dir, name);
}

void FileSystem::entry_changed(const std::string& dir, const filer_pb::Entry& e) {
  const std::string path = filer::join_path(dir, e.name());
  auto ino = inodes_.find(path);
  bool data_changed = true;
  if (ino) {
    {
      std::lock_guard lock(layouts_mu_);
      auto it = layouts_.find(*ino);
      data_changed = it == layouts_.end() || it->second.version != content_version(e);
      if (data_changed && it != layouts_.end()) layouts_.erase(it);
    }
    remember(*ino, e);
  }
  {
    std::lock_guard lock(entries_mu_);
    if (auto it = listings_.find(dir); it != listings_.end()) it->second.names.insert(e.name());
  }
  if (ino) notify_inode(*ino, data_changed);
  notify_entry(dir, e.name());  // also drops a cached negative lookup of a new name
}

void FileSystem::apply_event(const filer_pb::SubscribeMetadataResponse& event) {
  const auto& n = event.event_notification();
  const std::string& dir = event.directory();
  if (!n.has_old_entry() && !n.has_new_entry()) return;  // progress marker
  ++metadata_epoch_;  // before the caches change: answers fetched meanwhile are not cached
  if (n.has_old_entry()) {
    const std::string new_dir = n.new_parent_path().empty() ? dir : n.new_parent_path();
    const bool same_place = n.has_new_entry() && new_dir == dir && n.new_entry().name() == n.old_entry().name();
    if (!same_place) entry_gone(dir, n.old_entry().name());
  }
  if (n.has_new_entry()) entry_changed(n.new_parent_path().empty() ? dir : n.new_parent_path(), n.new_entry());
}

void FileSystem::drop_all_caches() {
  ++metadata_epoch_;
  {
    std::lock_guard lock(entries_mu_);
    entries_.clear();
    listings_.clear();
  }
  {
    std::lock_guard lock(layouts_mu_);
    layouts_.clear();
  }
  for (uint64_t ino : inodes_.referenced()) notify_inode(ino, true);
}

Result<std::string> FileSystem::getxattr(fuse_ino_t ino, const std::string& name) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = entry(ino, *path, false);
  if (!e.ok()) return e.error();
  auto it = e->extended().find(kXattrPrefix + name);
  if (it == e->extended().end()) return make_error(ENODATA, "no xattr " + name);
  return it->second;
}

Result<std::string> FileSystem::listxattr(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = entry(ino, *path, false);
  if (!e.ok()) return e.error();
  std::string names;
  const std::string prefix = kXattrPrefix;
  for (const auto& [key, value] : e->extended()) {
    if (key.rfind(prefix, 0) != 0 || key.size() == prefix.size()) continue;
    names += key.substr(prefix.size());
    names.push_back('\0');
  }
  return names;
}

Result<struct statvfs> FileSystem::statfs() {
  struct statvfs st {};
  constexpr uint64_t kBlock = 4096;
  st.f_bsize = kBlock;
  st.f_frsize = kBlock;
  st.f_namemax = kMaxNameLength;
  auto stats = filer_.statistics();
  uint64_t total = 0, used = 0, files = 0;
  if (stats.ok()) {
    total = stats->total_size();
    used = stats->used_size();
    files = stats->file_count();
  }
  if (total == 0) total = uint64_t{1} << 50;  // unknown capacity: report 1 PiB like other network file systems
  st.f_blocks = total / kBlock;
  st.f_bfree = st.f_bavail = (total > used ? total - used : 0) / kBlock;
  st.f_files = files + (uint64_t{1} << 20);
  st.f_ffree = st.f_favail = uint64_t{1} << 20;
  return st;
}

}  // namespace seaweed::fuse
