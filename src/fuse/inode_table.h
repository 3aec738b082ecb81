// Inode numbers <-> filer paths, for the inodes the kernel holds. A path gets a number on the
// first lookup the kernel receives and keeps it while the kernel holds a reference; when the
// kernel forgets the last one (FORGET brings the count to 0) the number is released, so the
// table holds only what the kernel holds (as libfuse's example/passthrough_hp.cc does). A later
// lookup of the same path gets a new number. Numbers come from a 64-bit counter and are never
// reused within a mount, so a stale number can never name another file. The filer's own
// `inode` attribute is not used: it is a hash that two paths can share (hard links, and renames
// keep it), while FUSE node ids must be unique among the inodes the kernel holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/thread_annotations.h"

namespace seaweed::fuse {

class InodeTable {
 public:
  static constexpr uint64_t kRoot = 1;

  explicit InodeTable(std::string root_path);

  // The inode of path, created on first sight; counts one kernel lookup reference.
  uint64_t acquire(const std::string& path) EXCLUDES(mu_);
  // The inode of path if it has one; never creates.
  [[nodiscard]] std::optional<uint64_t> find(const std::string& path) const EXCLUDES(mu_);
  // Every inode the kernel holds (for invalidating everything after a gap).
  [[nodiscard]] std::vector<uint64_t> referenced() const EXCLUDES(mu_);
  // Drops count kernel references. When none are left the inode is released and its path
  // returned (the root is never released).
  std::optional<std::string> forget(uint64_t ino, uint64_t count) EXCLUDES(mu_);
  [[nodiscard]] std::optional<std::string> path(uint64_t ino) const EXCLUDES(mu_);
  // Inodes held, the root included.
  [[nodiscard]] size_t size() const EXCLUDES(mu_);
  // The kernel references counted for ino (0 when unknown).
  [[nodiscard]] uint64_t lookups(uint64_t ino) const EXCLUDES(mu_);

 private:
  struct Node {
    std::string path;
    uint64_t lookups = 0;
  };

  mutable Mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> by_path_ GUARDED_BY(mu_);
  uint64_t next_ GUARDED_BY(mu_) = kRoot + 1;
};

}  // namespace seaweed::fuse
