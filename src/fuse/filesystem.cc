#include "fuse/filesystem.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cstring>

#include "filer/filer_client.h"
#include "fuse/attributes.h"
#include "reader/file_reader.h"

namespace seaweed::fuse {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr char kXattrPrefix[] = "xattr-";  // how SeaweedFS keeps xattrs in Entry.extended

}  // namespace

FileSystem::FileSystem(MountOptions options, filer::MetadataSource& source, transport::VolumeReader& transport)
    : options_(std::move(options)),
      source_(source),
      inodes_(options_.filer_path),
      cache_(source,
             options_.cache_meta_bytes ? options_.cache_meta_bytes
                                       : static_cast<size_t>(std::max<int64_t>(0, options_.cache_meta_mb)) << 20,
             std::chrono::seconds(options_.cache_meta_ttl_sec)),
      locations_([&source](const std::vector<uint32_t>& vids) { return source.lookup_volumes(vids); },
                 std::chrono::seconds(600)),
      chunk_cache_(static_cast<size_t>(std::max<int64_t>(0, options_.cache_capacity_mb)) << 20),
      fetcher_(transport, locations_, chunk_cache_),
      prefetch_(static_cast<size_t>(std::max<int64_t>(1, options_.prefetch_threads)),
                static_cast<size_t>(std::max<int64_t>(0, options_.prefetch_mb)) << 20) {}

FileSystem::~FileSystem() { stop_subscription(); }

Result<std::string> FileSystem::path_of(fuse_ino_t ino) const {
  auto p = inodes_.path(ino);
  if (!p) return make_error(ESTALE, "unknown inode " + std::to_string(ino));
  return *p;
}

Status FileSystem::check_root() {
  auto e = cache_.entry(options_.filer_path, true);
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
  auto found = cache_.lookup(*dir, name);
  if (!found.ok()) return found.error();
  if (!found->has_value()) {
    fuse_entry_param negative{};  // ino 0: the kernel caches the miss for entry_timeout
    negative.entry_timeout = attr_timeout();
    return negative;
  }
  // Counted before the reply goes out: a FORGET for it can only come after the kernel got it.
  const uint64_t ino = inodes_.acquire(filer::join_path(*dir, name));
  return entry_param(ino, **found);
}

void FileSystem::forget(fuse_ino_t ino, uint64_t count) {
  if (auto released = inodes_.forget(ino, count)) cache_.forget(*released);
}

Result<struct stat> FileSystem::getattr(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = cache_.entry(*path, false);
  if (!e.ok()) return e.error();
  return entry_to_stat(*e, ino);
}

Result<std::string> FileSystem::readlink(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = cache_.entry(*path, false);
  if (!e.ok()) return e.error();
  if (e->attributes().symlink_target().empty()) return make_error(EINVAL, *path + " is not a symlink");
  return e->attributes().symlink_target();
}

Result<uint64_t> FileSystem::open(fuse_ino_t ino, int flags, bool& keep_cache) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return make_error(EROFS, "read-only mount");
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = cache_.entry(*path, false);
  if (!e.ok()) return e.error();
  if (e->is_directory()) return make_error(EISDIR, *path + " is a directory");

  auto file = std::make_shared<OpenFile>();
  file->ino = ino;
  file->version = content_version(*e);
  {
    MutexLock lock(file->mu);
    file->path = *path;
  }
  keep_cache = false;
  if (!e->content().empty()) {
    file->is_inline = true;
    file->content = e->content().substr(0, entry_size(*e));
  } else {
    // Same content as a previous open of this inode: the kernel's pages are still right.
    auto layout = cache_.layout(*path, file->version);
    keep_cache = layout != nullptr;
    if (!layout) {
      auto built = reader::build_layout(*e, fetcher_);
      if (!built.ok()) return built.error().context(*path);
      layout = std::move(built.value());
      cache_.remember_layout(*path, file->version, layout);
    }
    file->stream = std::make_unique<reader::StreamReader>(
        layout, fetcher_, &prefetch_, static_cast<size_t>(std::max<int64_t>(0, options_.prefetch_blocks)));
    file->layout = std::move(layout);
  }
  const uint64_t fh = next_handle_++;
  MutexLock lock(handles_mu_);
  files_[fh] = std::move(file);
  files_by_path_.emplace(*path, fh);
  return fh;
}

std::shared_ptr<OpenFile> FileSystem::open_file(uint64_t fh) {
  MutexLock lock(handles_mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

Status FileSystem::read_pieces(uint64_t fh, uint64_t offset, std::span<char> scratch, reader::ReadPieces& out) {
  auto file = open_file(fh);
  if (!file) return make_error(EBADF, "unknown file handle " + std::to_string(fh));
  if (file->is_inline) {
    if (offset >= file->content.size()) return {};
    const size_t n = std::min<size_t>(scratch.size(), file->content.size() - offset);
    out.add(file->content.data() + offset, n);
    out.pins.push_back(file);
    return {};
  }
  auto st = file->stream->read_pieces(offset, scratch, out);
  if (!st.ok() && st.error().code == ENOENT && !file->superseded.load() && recheck_superseded(*file)) {
    out = reader::ReadPieces{};
    st = file->stream->read_pieces(offset, scratch, out);
  }
  // Whatever failed underneath (no location, timeouts, bad data), the application sees EIO for
  // this read only; the cause stays in the message.
  if (!st.ok()) return Error{EIO, file->current_path() + " at " + std::to_string(offset) + ": " + st.error().message};
  return {};
}

void FileSystem::mark_superseded(OpenFile& file) {
  file.superseded.store(true);
  if (file.stream) file.stream->allow_deleted();
}

bool FileSystem::recheck_superseded(OpenFile& file) {
  const std::string path = file.current_path();
  auto e = cache_.entry(path, /*fresh=*/true);
  bool superseded = false;
  if (!e.ok())
    superseded = e.error().code == ENOENT;
  else
    superseded = content_version(*e) != file.version;
  if (!superseded) return false;
  spdlog::debug("{}: a needle of the open file is gone and so is its version; reading deleted needles", path);
  mark_superseded(file);
  return true;
}

size_t FileSystem::open_file_count() {
  MutexLock lock(handles_mu_);
  return files_.size();
}

void FileSystem::release(uint64_t fh) {
  std::shared_ptr<OpenFile> file;  // destroyed after the lock is released
  MutexLock lock(handles_mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return;
  file = std::move(it->second);
  files_.erase(it);
  const std::string path = file->current_path();
  auto [first, last] = files_by_path_.equal_range(path);
  for (auto p = first; p != last; ++p) {
    if (p->second == fh) {
      files_by_path_.erase(p);
      break;
    }
  }
}

void FileSystem::supersede_handles(const std::string& path, const std::optional<std::string>& keep_version) {
  MutexLock lock(handles_mu_);
  auto [first, last] = files_by_path_.equal_range(path);
  for (auto p = first; p != last; ++p) {
    auto it = files_.find(p->second);
    if (it == files_.end()) continue;
    if (keep_version && it->second->version == *keep_version) continue;
    mark_superseded(*it->second);
  }
}

void FileSystem::move_handles(const std::string& from, const std::string& to) {
  MutexLock lock(handles_mu_);
  auto [first, last] = files_by_path_.equal_range(from);
  std::vector<uint64_t> moved;
  for (auto p = first; p != last; ++p) moved.push_back(p->second);
  files_by_path_.erase(first, last);
  for (uint64_t fh : moved) {
    files_by_path_.emplace(to, fh);
    if (auto it = files_.find(fh); it != files_.end()) {
      MutexLock file_lock(it->second->mu);
      it->second->path = to;
    }
  }
}

Result<uint64_t> FileSystem::opendir(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto self = cache_.entry(*path, false);
  if (!self.ok()) return self.error();
  if (!self->is_directory()) return make_error(ENOTDIR, *path + " is not a directory");

  auto dir = std::make_shared<OpenDir>();
  dir->path = *path;
  dir->ino = ino;
  if (ino == InodeTable::kRoot)
    dir->parent_ino = ino;
  else
    dir->parent_ino = inodes_.find(split_path(*path).first).value_or(kUnknownIno);
  auto status = cache_.list(*path, [&](filer_pb::Entry&& e) {
    dir->entries.push_back(DirEntryInfo{e.name(), entry_to_stat(e, 0)});
  });
  if (!status.ok()) return status.error();
  const uint64_t fh = next_handle_++;
  MutexLock lock(handles_mu_);
  dirs_[fh] = std::move(dir);
  return fh;
}

std::shared_ptr<OpenDir> FileSystem::dir(uint64_t fh) {
  MutexLock lock(handles_mu_);
  auto it = dirs_.find(fh);
  return it == dirs_.end() ? nullptr : it->second;
}

void FileSystem::releasedir(uint64_t fh) {
  std::shared_ptr<OpenDir> dir;  // destroyed after the lock is released
  MutexLock lock(handles_mu_);
  auto it = dirs_.find(fh);
  if (it == dirs_.end()) return;
  dir = std::move(it->second);
  dirs_.erase(it);
}

uint64_t FileSystem::reference_child(const OpenDir& dir, const std::string& name) {
  return inodes_.acquire(filer::join_path(dir.path, name));
}

uint64_t FileSystem::known_child(const OpenDir& dir, const std::string& name) {
  return inodes_.find(filer::join_path(dir.path, name)).value_or(kUnknownIno);
}

void FileSystem::set_session(fuse_session* se) {
  WriterLock lock(session_mu_);
  session_ = se;
}

void FileSystem::set_notifier(KernelNotifier* notifier) {
  WriterLock lock(session_mu_);
  notifier_ = notifier;
}

void FileSystem::start_subscription(int64_t since_ns) {
  std::string prefix = options_.filer_path == "/" ? "/" : options_.filer_path + "/";
  subscription_ = source_.subscribe(
      prefix, since_ns, [this](const filer_pb::SubscribeMetadataResponse& e) { apply_event(e); },
      [this] { drop_all_caches(); });
  cache_.set_subscribed(true);
}

void FileSystem::stop_subscription() {
  if (!subscription_) return;
  subscription_->stop();
  subscription_.reset();
  cache_.set_subscribed(false);
}

std::optional<filer::Subscription::Progress> FileSystem::subscription_progress() const {
  if (!subscription_) return std::nullopt;
  return subscription_->progress();
}

void FileSystem::notify_inode(uint64_t ino, bool data_changed) {
  ReaderLock lock(session_mu_);
  if (notifier_) return notifier_->inval_inode(ino, data_changed);
  if (!session_) return;
  // off < 0: attributes only; off 0, len 0: attributes and every cached page.
  fuse_lowlevel_notify_inval_inode(session_, ino, data_changed ? 0 : -1, 0);
}

void FileSystem::notify_entry(const std::string& dir, const std::string& name) {
  auto parent = inodes_.find(dir);
  if (!parent) return;
  ReaderLock lock(session_mu_);
  if (notifier_) return notifier_->inval_entry(*parent, name);
  if (!session_) return;
  fuse_lowlevel_notify_inval_entry(session_, *parent, name.c_str(), name.size());
}

void FileSystem::apply_event(const filer_pb::SubscribeMetadataResponse& event) {
  const auto& n = event.event_notification();
  const std::string& dir = event.directory();
  if (!n.has_old_entry() && !n.has_new_entry()) return;  // progress marker
  cache_.begin_event();  // before the caches change: answers fetched meanwhile are not cached
  const std::string new_dir = n.new_parent_path().empty() ? dir : n.new_parent_path();
  if (n.has_old_entry()) {
    const bool same_place = n.has_new_entry() && new_dir == dir && n.new_entry().name() == n.old_entry().name();
    if (!same_place) {
      const std::string old_path = filer::join_path(dir, n.old_entry().name());
      if (n.has_new_entry())
        move_handles(old_path, filer::join_path(new_dir, n.new_entry().name()));  // a rename: same content
      else
        supersede_handles(old_path, std::nullopt);  // deleted
      cache_.entry_gone(dir, n.old_entry().name());
      if (auto ino = inodes_.find(old_path)) notify_inode(*ino, true);
      notify_entry(dir, n.old_entry().name());
    }
  }
  if (n.has_new_entry()) {
    const std::string path = filer::join_path(new_dir, n.new_entry().name());
    // Handles of other content at this path (an overwrite, or a rename onto it) are superseded.
    supersede_handles(path, content_version(n.new_entry()));
    const bool data_changed = cache_.entry_changed(new_dir, n.new_entry());
    if (auto ino = inodes_.find(path)) notify_inode(*ino, data_changed);
    notify_entry(new_dir, n.new_entry().name());  // also drops a cached negative lookup of a new name
  }
}

void FileSystem::drop_all_caches() {
  cache_.clear();
  for (uint64_t ino : inodes_.referenced()) notify_inode(ino, true);
}

Result<std::string> FileSystem::getxattr(fuse_ino_t ino, const std::string& name) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = cache_.entry(*path, false);
  if (!e.ok()) return e.error();
  auto it = e->extended().find(kXattrPrefix + name);
  if (it == e->extended().end()) return make_error(ENODATA, "no xattr " + name);
  return it->second;
}

Result<std::string> FileSystem::listxattr(fuse_ino_t ino) {
  auto path = path_of(ino);
  if (!path.ok()) return path.error();
  auto e = cache_.entry(*path, false);
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
  auto stats = source_.statistics();
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
