// The file system behind the FUSE ops: metadata from the filer (entries cached briefly by
// inode), open files holding immutable layout snapshots, directory handles holding listings.
// Methods return Result; lowlevel_ops.cc turns them into FUSE replies in one place.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunks/file_layout.h"
#include "common/result.h"
#include "filer/filer_client.h"
#include "filer/volume_locations.h"
#include "fuse/inode_table.h"
#include "fuse/mount_options.h"
#include "reader/chunk_cache.h"
#include "reader/chunk_fetcher.h"
#include "reader/prefetcher.h"
#include "transport/volume_reader.h"

namespace seaweed::fuse {

struct OpenFile {
  std::string path;
  std::shared_ptr<const chunks::FileLayout> layout;  // null for inline content
  std::unique_ptr<reader::StreamReader> stream;      // reads through layout, with readahead
  std::string content;                               // inline file bytes (entry.content)
  bool is_inline = false;
};

struct DirEntryInfo {
  std::string name;
  uint64_t ino = 0;
  struct stat attr {};
};

struct OpenDir {
  std::vector<DirEntryInfo> entries;  // "." and ".." first, then the filer's order
};

class FileSystem {
 public:
  FileSystem(MountOptions options, filer::FilerClient& filer, transport::VolumeReader& transport);

  [[nodiscard]] const MountOptions& options() const { return options_; }
  [[nodiscard]] double attr_timeout() const { return static_cast<double>(options_.cache_meta_ttl_sec); }

  Result<fuse_entry_param> lookup(fuse_ino_t parent, const std::string& name);
  void forget(fuse_ino_t ino, uint64_t count) { inodes_.forget(ino, count); }
  Result<struct stat> getattr(fuse_ino_t ino);
  Result<std::string> readlink(fuse_ino_t ino);

  // Returns the handle id; keep_cache tells whether the kernel may keep cached pages.
  Result<uint64_t> open(fuse_ino_t ino, int flags, bool& keep_cache);
  // The bytes of [offset, offset+scratch.size()) as pieces to reply from without copying (see
  // reader::ReadPieces); scratch holds whatever had to be read synchronously.
  Status read_pieces(uint64_t fh, uint64_t offset, std::span<char> scratch, reader::ReadPieces& out);
  void release(uint64_t fh);
  // For the snapshot ioctl (fuse/snapshot_ioctl.cc): an open handle (null when unknown) and the
  // replicas of a volume as reads use them.
  std::shared_ptr<const OpenFile> open_file(uint64_t fh);
  Result<std::vector<std::string>> volume_urls(uint32_t volume_id) { return locations_.find(volume_id); }

  Result<uint64_t> opendir(fuse_ino_t ino);
  std::shared_ptr<OpenDir> dir(uint64_t fh);
  void releasedir(uint64_t fh);
  // readdirplus hands out references: count them only for entries the kernel received.
  void count_lookup(uint64_t ino);

  Result<std::string> getxattr(fuse_ino_t ino, const std::string& name);
  Result<std::string> listxattr(fuse_ino_t ino);  // NUL-separated names
  Result<struct statvfs> statfs();

  // Checks the mount root exists and is a directory (called before mounting).
  Status check_root();

  // Coherence (metadata events from the filer's SubscribeMetadata stream).
  // The session to send invalidations to; nullptr before the session is destroyed (waits for a
  // notification in progress).
  void set_session(fuse_session* se) {
    std::unique_lock lock(session_mu_);
    session_ = se;
  }
  // While the stream runs, cached entries stay valid until an event says otherwise (up to
  // kSubscribedEntryTtl); without it they expire after -cacheMetaTtlSec.
  void set_subscribed(bool on) { subscribed_.store(on); }
  void apply_event(const filer_pb::SubscribeMetadataResponse& event);
  // Forgets all cached metadata and asks the kernel to drop its caches of every inode.
  void drop_all_caches();

  [[nodiscard]] uint64_t filer_rpcs() const { return filer_.rpc_count(); }

 private:
  struct CachedEntry {
    filer_pb::Entry entry;
    std::chrono::steady_clock::time_point fetched;
  };
  struct CachedLayout {
    std::string version;
    std::shared_ptr<const chunks::FileLayout> layout;
  };

  struct Listing {
    std::unordered_set<std::string> names;
    std::chrono::steady_clock::time_point listed;
  };
  struct LookupMisses {
    int count = 0;
    std::chrono::steady_clock::time_point first;
    bool listing = false;  // a thread is listing the directory now
    std::chrono::steady_clock::time_point last_listing{};
  };

  // Lists dir from the filer into the caches (every entry, and the names for negative
  // lookups); on_entry sees each entry with its inode.
  Status list_into_cache(const std::string& dir, const std::function<void(filer_pb::Entry&&, uint64_t ino)>& on_entry);
  // Counts a lookup that had to ask the filer; the third in a directory within the entry TTL
  // lists the whole directory, so the next lookups there are answered locally (opening many
  // files of one directory without listing it first cost one RPC each). True when it listed.
  bool warm_directory_after_miss(const std::string& dir);

  [[nodiscard]] std::chrono::steady_clock::duration entry_ttl() const;
  // The fresh cached entry of path, if any.
  std::optional<std::pair<uint64_t, filer_pb::Entry>> cached(const std::string& path);
  // True when the directory was listed recently and name was not in it (and no event added it).
  bool known_absent(const std::string& dir, const std::string& name);
  void entry_gone(const std::string& dir, const std::string& name);
  void entry_changed(const std::string& dir, const filer_pb::Entry& entry);
  void notify_inode(uint64_t ino, bool data_changed);
  void notify_entry(const std::string& dir, const std::string& name);

  // The cached entry (however old) when the filer cannot be reached; nullopt otherwise.
  std::optional<filer_pb::Entry> stale_entry(uint64_t ino, const Error& why);

  Result<std::string> path_of(fuse_ino_t ino) const;
  Result<filer_pb::Entry> entry(fuse_ino_t ino, const std::string& path, bool fresh);
  void remember(uint64_t ino, const filer_pb::Entry& entry);
  // Caches an entry fetched from the filer unless a metadata event was applied since `epoch`
  // (taken before the RPC): the event may be newer than the answer.
  void remember_fetched(uint64_t ino, const filer_pb::Entry& entry, uint64_t epoch);
  fuse_entry_param entry_param(uint64_t ino, const filer_pb::Entry& entry) const;

  MountOptions options_;
  filer::FilerClient& filer_;
  InodeTable inodes_;
  filer::VolumeLocations locations_;
  reader::ChunkCache chunk_cache_;
  reader::ChunkFetcher fetcher_;
  reader::PrefetchPool prefetch_;  // after fetcher_: its threads stop before the fetcher goes

  std::mutex entries_mu_;
  std::atomic<uint64_t> metadata_epoch_{0};  // bumped by every applied event and cache drop
  std::unordered_map<uint64_t, CachedEntry> entries_;
  std::unordered_map<std::string, Listing> listings_;            // guarded by entries_mu_
  std::unordered_map<std::string, LookupMisses> lookup_misses_;  // guarded by entries_mu_
  std::mutex layouts_mu_;
  std::unordered_map<uint64_t, CachedLayout> layouts_;

  std::mutex handles_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<OpenFile>> files_;
  std::unordered_map<uint64_t, std::shared_ptr<OpenDir>> dirs_;
  std::atomic<uint64_t> next_handle_{1};
  std::shared_mutex session_mu_;
  fuse_session* session_ = nullptr;
  std::atomic<bool> subscribed_{false};
};

// "/a/b" -> {"/a", "b"}; "/" -> {"/", ""}.
std::pair<std::string, std::string> split_path(const std::string& path);

}  // namespace seaweed::fuse
