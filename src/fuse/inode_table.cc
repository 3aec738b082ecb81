#include "fuse/inode_table.h"

namespace seaweed::fuse {

InodeTable::InodeTable(std::string root_path) {
  nodes_[kRoot] = Node{root_path, 1};
  by_path_[std::move(root_path)] = kRoot;
}

uint64_t InodeTable::get_or_create_locked(const std::string& path) {
  if (auto it = by_path_.find(path); it != by_path_.end()) return it->second;
  const uint64_t ino = next_++;
  nodes_[ino] = Node{path, 0};
  by_path_[path] = ino;
  return ino;
}

uint64_t InodeTable::acquire(const std::string& path) {
  std::lock_guard lock(mu_);
  const uint64_t ino = get_or_create_locked(path);
  ++nodes_[ino].lookups;
  return ino;
}

uint64_t InodeTable::peek(const std::string& path) {
  std::lock_guard lock(mu_);
  return get_or_create_locked(path);
}

std::optional<uint64_t> InodeTable::find(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

std::vector<uint64_t> InodeTable::referenced() const {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& [ino, node] : nodes_)
    if (node.lookups > 0) out.push_back(ino);
  return out;
}

void InodeTable::forget(uint64_t ino, uint64_t count) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.lookups = it->second.lookups > count ? it->second.lookups - count : 0;
  // The number stays bound to its path (stable inodes); only the count drops.
}

std::optional<std::string> InodeTable::path(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.path;
}

}  // namespace seaweed::fuse
