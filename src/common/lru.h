// A least-recently-used map bounded by bytes: each value is charged the size its owner gives,
// and inserting past the capacity evicts from the cold end. Not thread-safe: the owner locks.
// Keys are stored once (the index points into the list nodes, which never move).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace seaweed {

template <class Key, class Value, class Hash = std::hash<Key>>
class ByteLru {
 public:
  // on_evict sees every value pushed out by the bound (not erase() or clear()).
  using OnEvict = std::function<void(const Key&, Value&)>;

  explicit ByteLru(size_t capacity_bytes, OnEvict on_evict = {})
      : capacity_(capacity_bytes), on_evict_(std::move(on_evict)) {}
  ByteLru(const ByteLru&) = delete;
  ByteLru& operator=(const ByteLru&) = delete;

  // The value of key, made the most recently used; nullptr when absent.
  Value* get(const Key& key) {
    auto it = index_.find(&key);
    if (it == index_.end()) return nullptr;
    list_.splice(list_.begin(), list_, it->second);
    return &it->second->value;
  }
  // The value of key without touching its place.
  Value* peek(const Key& key) {
    auto it = index_.find(&key);
    return it == index_.end() ? nullptr : &it->second->value;
  }

  // Inserts or replaces key (most recently used), then evicts until the bound holds. A value
  // larger than the whole capacity is not kept (false; an old value of key is dropped).
  bool put(Key key, Value value, size_t bytes) {
    erase(key);
    if (bytes > capacity_) return false;
    list_.push_front(Node{std::move(key), std::move(value), bytes});
    index_.emplace(&list_.front().key, list_.begin());
    bytes_ += bytes;
    while (bytes_ > capacity_) evict_coldest();
    return true;
  }

  // Changes the charge of key's value (after the owner changed it in place), evicting if needed.
  void recharge(const Key& key, size_t bytes) {
    auto it = index_.find(&key);
    if (it == index_.end()) return;
    bytes_ = bytes_ - it->second->bytes + bytes;
    it->second->bytes = bytes;
    while (bytes_ > capacity_) evict_coldest();
  }

  bool erase(const Key& key) {
    auto it = index_.find(&key);
    if (it == index_.end()) return false;
    auto node = it->second;
    index_.erase(it);
    bytes_ -= node->bytes;
    list_.erase(node);
    return true;
  }

  // Calls f(key, value&) for every item, most recent first; items for which it returns true are
  // erased (not counted as evictions). Returns how many went.
  template <class F>
  size_t erase_if(F&& f) {
    size_t erased = 0;
    for (auto it = list_.begin(); it != list_.end();) {
      if (!f(std::as_const(it->key), it->value)) {
        ++it;
        continue;
      }
      index_.erase(&it->key);
      bytes_ -= it->bytes;
      it = list_.erase(it);
      ++erased;
    }
    return erased;
  }

  void clear() {
    index_.clear();
    list_.clear();
    bytes_ = 0;
  }

  [[nodiscard]] size_t bytes() const { return bytes_; }
  [[nodiscard]] size_t size() const { return index_.size(); }
  [[nodiscard]] size_t capacity() const { return capacity_; }
  [[nodiscard]] uint64_t evictions() const { return evictions_; }

 private:
  struct Node {
    Key key;
    Value value;
    size_t bytes;
  };
  using List = std::list<Node>;
  struct KeyHash {
    size_t operator()(const Key* k) const { return Hash{}(*k); }
  };
  struct KeyEq {
    bool operator()(const Key* a, const Key* b) const { return *a == *b; }
  };

  void evict_coldest() {
    auto node = std::prev(list_.end());
    index_.erase(&node->key);
    bytes_ -= node->bytes;
    ++evictions_;
    if (on_evict_) on_evict_(node->key, node->value);
    list_.erase(node);
  }

  size_t capacity_;
  OnEvict on_evict_;
  List list_;  // front = most recently used
  std::unordered_map<const Key*, typename List::iterator, KeyHash, KeyEq> index_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace seaweed
