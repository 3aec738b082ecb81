// Everything the mount's flags configure, in one plain struct (filled by tools/mount_main.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seaweed::fuse {

struct MountOptions {
  std::string filer = "localhost:8888";
  std::string filer_path = "/";
  std::string mountpoint;
  bool read_only = true;  // the only mode for now: every write op answers EROFS
  bool allow_others = false;
  bool default_permissions = true;        // the kernel checks modes (weed mount's -defaultPermissions)
  bool suid = false;                      // -o suid (root only): honour setuid bits; default nosuid
  bool dev = false;                       // -o dev (root only): honour device files; default nodev
  std::vector<std::string> fuse_options;  // more FUSE/kernel options from -o: noexec, noatime, allow_root, ...
  std::string fsname;                     // the mount's source in /proc/mounts; empty: seaweedfs:FILER:PATH
  uint32_t umask = 022;                   // mode of the mount root = 0777 &~ umask, as weed mount
  int64_t cache_capacity_mb = 128;        // decoded-chunk cache shared by all open files
  int64_t cache_meta_ttl_sec = 1;         // kernel attribute/entry timeout and our entry cache age
  int64_t cache_meta_mb = 32;             // entries, listings and layouts cached by path (LRU), all together
  size_t cache_meta_bytes = 0;            // when non-zero, the bound in bytes instead (tests)
  int64_t read_ahead_kb = 1024;           // bdi readahead: 1 MiB READs for buffered readers
  int64_t prefetch_mb = 64;               // memory for the mount's own readahead, all files together
  int64_t prefetch_blocks = 8;            // 1 MiB blocks kept in flight ahead of one sequential reader
  int64_t prefetch_threads = 4;
  int64_t http_timeout_ms = 30000;
  bool debug_fuse = false;
};

}  // namespace seaweed::fuse
