// The file system behind the FUSE ops: inodes for what the kernel holds (InodeTable), metadata
// through the MetadataCache, open files holding immutable layout snapshots, directory handles
// holding listings. Methods return Result; lowlevel_ops.cc turns them into FUSE replies in one
// place.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunks/file_layout.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "filer/metadata_source.h"
#include "filer/volume_locations.h"
#include "fuse/inode_table.h"
#include "fuse/metadata_cache.h"
#include "fuse/mount_options.h"
#include "reader/chunk_cache.h"
#include "reader/chunk_fetcher.h"
#include "reader/prefetcher.h"
#include "transport/volume_reader.h"

namespace seaweed::fuse {

// d_ino of a plain readdir entry the kernel holds no inode for (libfuse's FUSE_UNKNOWN_INO):
// plain readdir hands out no reference, so no number is bound to the path for it.
constexpr uint64_t kUnknownIno = 0xffffffff;

struct OpenFile {
  uint64_t ino = 0;
  std::string version;                               // content_version() of the entry at open
  std::shared_ptr<const chunks::FileLayout> layout;  // null for inline content
  std::unique_ptr<reader::StreamReader> stream;      // reads through layout, with readahead
  std::string content;                               // inline file bytes (entry.content)
  bool is_inline = false;
  // The file was deleted, or its content replaced, after this handle opened it: the needles of
  // the snapshot may be deleted on the volume servers, so its reads ask for deleted needles too.
  std::atomic<bool> superseded{false};

  [[nodiscard]] std::string current_path() const EXCLUDES(mu) {
    MutexLock lock(mu);
    return path;
  }

  mutable Mutex mu;
  std::string path GUARDED_BY(mu);  // follows renames of the file
};

struct DirEntryInfo {
  std::string name;
  struct stat attr {};  // st_ino is set when the entry is handed to the kernel
};

struct OpenDir {
  std::string path;
  uint64_t ino = 0;
  uint64_t parent_ino = 0;
  std::vector<DirEntryInfo> entries;  // the filer's order; "." and ".." come from the fields above
};

// Where invalidations go: the FUSE session, or a test's recorder.
class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  // data: the cached pages too, else attributes only.
  virtual void inval_inode(uint64_t ino, bool data) = 0;
  virtual void inval_entry(uint64_t parent, const std::string& name) = 0;
};

class FileSystem {
 public:
  FileSystem(MountOptions options, filer::MetadataSource& source, transport::VolumeReader& transport);
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  [[nodiscard]] const MountOptions& options() const { return options_; }
  [[nodiscard]] double attr_timeout() const { return static_cast<double>(options_.cache_meta_ttl_sec); }

  Result<fuse_entry_param> lookup(fuse_ino_t parent, const std::string& name);
  // The kernel dropped count references; at 0 the inode, its cached entry and layout go.
  void forget(fuse_ino_t ino, uint64_t count);
  Result<struct stat> getattr(fuse_ino_t ino);
  Result<std::string> readlink(fuse_ino_t ino);

  // Returns the handle id; keep_cache tells whether the kernel may keep cached pages.
  Result<uint64_t> open(fuse_ino_t ino, int flags, bool& keep_cache);
  // The bytes of [offset, offset+scratch.size()) as pieces to reply from without copying (see
  // reader::ReadPieces); scratch holds whatever had to be read synchronously.
  Status read_pieces(uint64_t fh, uint64_t offset, std::span<char> scratch, reader::ReadPieces& out);
  void release(uint64_t fh);
  // For the snapshot ioctl (fuse/snapshot_ioctl.cc): the replicas of a volume as reads use them
  // (open handles: open_file() below).
  Result<std::vector<std::string>> volume_urls(uint32_t volume_id) { return locations_.find(volume_id); }

  Result<uint64_t> opendir(fuse_ino_t ino);
  std::shared_ptr<OpenDir> dir(uint64_t fh);
  void releasedir(uint64_t fh);
  // readdirplus hands out references: the inode of dir/name, counting one reference. Call it
  // only for entries the kernel receives.
  uint64_t reference_child(const OpenDir& dir, const std::string& name);
  // For plain readdir: the inode the kernel holds for dir/name, else kUnknownIno.
  uint64_t known_child(const OpenDir& dir, const std::string& name);

  Result<std::string> getxattr(fuse_ino_t ino, const std::string& name);
  Result<std::string> listxattr(fuse_ino_t ino);  // NUL-separated names
  Result<struct statvfs> statfs();

  // Checks the mount root exists and is a directory (called before mounting).
  Status check_root();

  // Coherence (metadata events from the filer's SubscribeMetadata stream).
  // The session to send invalidations to; nullptr before the session is destroyed (waits for a
  // notification in progress).
  void set_session(fuse_session* se) EXCLUDES(session_mu_);
  // Invalidations go to notifier instead of the session (tests); nullptr: back to the session.
  void set_notifier(KernelNotifier* notifier) EXCLUDES(session_mu_);
  // Follows the source's events under the mount from since_ns on (and trusts cached entries
  // longer while it runs); stopped by stop_subscription() or the destructor.
  void start_subscription(int64_t since_ns);
  void stop_subscription();
  // The running subscription's progress, nullopt when none runs. Call from any thread only while
  // the subscription neither starts nor stops (mount_main registers the metric in between).
  [[nodiscard]] std::optional<filer::Subscription::Progress> subscription_progress() const;
  // For tests: whether cached entries are trusted as if events were coming.
  void set_subscribed(bool on) { cache_.set_subscribed(on); }
  void apply_event(const filer_pb::SubscribeMetadataResponse& event);
  // Forgets all cached metadata and asks the kernel to drop its caches of every inode.
  void drop_all_caches();

  [[nodiscard]] uint64_t filer_rpcs() const { return source_.rpc_count(); }
  [[nodiscard]] const InodeTable& inodes() const { return inodes_; }
  [[nodiscard]] MetadataCache::Stats cache_stats() const { return cache_.stats(); }
  // An open handle, null when unknown (also for the snapshot ioctl).
  [[nodiscard]] std::shared_ptr<OpenFile> open_file(uint64_t fh) EXCLUDES(handles_mu_);
  // For the mount's gauges (fuse/filesystem_metrics.h).
  [[nodiscard]] size_t open_file_count() EXCLUDES(handles_mu_);
  [[nodiscard]] const reader::ChunkCache& chunk_cache() const { return chunk_cache_; }

 private:
  Result<std::string> path_of(fuse_ino_t ino) const;
  fuse_entry_param entry_param(uint64_t ino, const filer_pb::Entry& entry) const;
  void notify_inode(uint64_t ino, bool data_changed) EXCLUDES(session_mu_);
  void notify_entry(const std::string& dir, const std::string& name) EXCLUDES(session_mu_);

  // Open handles of path: marked superseded (unless their content version is `keep_version`).
  void supersede_handles(const std::string& path, const std::optional<std::string>& keep_version) EXCLUDES(handles_mu_);
  // A rename: handles of from now name to.
  void move_handles(const std::string& from, const std::string& to) EXCLUDES(handles_mu_);
  static void mark_superseded(OpenFile& file);
  // A read of a handle not yet superseded found a needle missing: the event saying why may not
  // have arrived. Asks the filer; true (and marked) when the file is gone or its content changed.
  bool recheck_superseded(OpenFile& file);

  MountOptions options_;
  filer::MetadataSource& source_;
  InodeTable inodes_;
  MetadataCache cache_;
  filer::VolumeLocations locations_;
  reader::ChunkCache chunk_cache_;
  reader::ChunkFetcher fetcher_;
  reader::PrefetchPool prefetch_;  // after fetcher_: its threads stop before the fetcher goes

  // Lock order: handles_mu_ -> OpenFile::mu. handles_mu_, session_mu_, MetadataCache's and
  // InodeTable's mutexes are never held together otherwise (docs/ARCHITECTURE.md, "Locks").
  Mutex handles_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<OpenFile>> files_ GUARDED_BY(handles_mu_);
  std::unordered_multimap<std::string, uint64_t> files_by_path_ GUARDED_BY(handles_mu_);
  std::unordered_map<uint64_t, std::shared_ptr<OpenDir>> dirs_ GUARDED_BY(handles_mu_);
  std::atomic<uint64_t> next_handle_{1};

  SharedMutex session_mu_;
  fuse_session* session_ GUARDED_BY(session_mu_) = nullptr;
  KernelNotifier* notifier_ GUARDED_BY(session_mu_) = nullptr;

  // Started and stopped by the thread that owns the FileSystem (mount_main), never concurrently.
  std::unique_ptr<filer::Subscription> subscription_;
};

}  // namespace seaweed::fuse
