// Inode numbers <-> filer paths. Numbers are stable for the mount's life: a path keeps its
// number after the kernel forgets it, so a later lookup of the same path gets the same inode.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace seaweed::fuse {

class InodeTable {
 public:
  static constexpr uint64_t kRoot = 1;

  explicit InodeTable(std::string root_path);

  // The inode of path, created on first sight; counts one kernel lookup reference.
  uint64_t acquire(const std::string& path);
  // The inode of path without taking a reference (e.g. "." and ".." in readdir).
  uint64_t peek(const std::string& path);
  // The inode of path if it has one; never creates.
  [[nodiscard]] std::optional<uint64_t> find(const std::string& path) const;
  // Every inode with kernel references (for invalidating everything after a gap).
  [[nodiscard]] std::vector<uint64_t> referenced() const;
  void forget(uint64_t ino, uint64_t count);
  [[nodiscard]] std::optional<std::string> path(uint64_t ino) const;

 private:
  struct Node {
    std::string path;
    uint64_t lookups = 0;
  };
  uint64_t get_or_create_locked(const std::string& path);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_;
  std::unordered_map<std::string, uint64_t> by_path_;
  uint64_t next_ = kRoot + 1;
};

}  // namespace seaweed::fuse
