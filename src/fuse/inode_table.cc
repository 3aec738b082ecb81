#include "fuse/inode_table.h"

#include "common/metrics.h"

namespace seaweed::fuse {
namespace {

// Inodes held = created - released (the root is not counted).
Counter& created() {
  static Counter& c =
      Metrics::global().counter("seaweed_mount_inodes_created_total", "inode numbers bound to a path for the kernel");
  return c;
}
Counter& released() {
  static Counter& c = Metrics::global().counter("seaweed_mount_inodes_released_total",
                                                "inode numbers released after the kernel forgot them");
  return c;
}

}  // namespace

InodeTable::InodeTable(std::string root_path) {
  MutexLock lock(mu_);
  nodes_[kRoot] = Node{root_path, 1};
  by_path_[std::move(root_path)] = kRoot;
}

uint64_t InodeTable::acquire(const std::string& path) {
  MutexLock lock(mu_);
  auto [it, inserted] = by_path_.try_emplace(path, 0);
  if (inserted) {
    it->second = next_++;
    nodes_[it->second] = Node{path, 0};
    created().add();
  }
  ++nodes_[it->second].lookups;
  return it->second;
}

std::optional<uint64_t> InodeTable::find(const std::string& path) const {
  MutexLock lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

std::vector<uint64_t> InodeTable::referenced() const {
  MutexLock lock(mu_);
  std::vector<uint64_t> out;
  out.reserve(nodes_.size());
  for (const auto& [ino, node] : nodes_) out.push_back(ino);
  return out;
}

std::optional<std::string> InodeTable::forget(uint64_t ino, uint64_t count) {
  MutexLock lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  it->second.lookups = it->second.lookups > count ? it->second.lookups - count : 0;
  if (it->second.lookups > 0 || ino == kRoot) return std::nullopt;
  std::string path = std::move(it->second.path);
  nodes_.erase(it);
  // The path may belong to a newer inode by now only if this one was replaced, which acquire
  // never does; still, erase only our own mapping.
  if (auto p = by_path_.find(path); p != by_path_.end() && p->second == ino) by_path_.erase(p);
  released().add();
  return path;
}

std::optional<std::string> InodeTable::path(uint64_t ino) const {
  MutexLock lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.path;
}

size_t InodeTable::size() const {
  MutexLock lock(mu_);
  return nodes_.size();
}

uint64_t InodeTable::lookups(uint64_t ino) const {
  MutexLock lock(mu_);
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? 0 : it->second.lookups;
}

}  // namespace seaweed::fuse
