// In-memory stand-ins for the filer and the volume servers, for FileSystem and MetadataCache
// tests: FakeMetadataSource holds entries by path and emits metadata events to the subscriber;
// FakeVolumes serves needle bytes (a function of the fid and the offset) and refuses deleted
// needles unless the locator allows them, like a volume server without readDeleted.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/file_id.h"
#include "filer/filer_client.h"
#include "filer/metadata_source.h"
#include "fuse/metadata_cache.h"
#include "transport/volume_reader.h"

namespace seaweed::fuse::testing {

// Needle bytes: a function of (key, position), so any range can be checked.
inline char needle_byte(uint64_t key, uint64_t pos) {
  return static_cast<char>((key * 131 + pos * 7 + (pos >> 9)) & 0xff);
}

inline std::string needle_bytes(uint64_t key, uint64_t offset, size_t len) {
  std::string out(len, '\0');
  for (size_t i = 0; i < len; ++i) out[i] = needle_byte(key, offset + i);
  return out;
}

inline std::string fid_of(uint64_t key) { return FileId{7, key, 0x1234}.to_string(); }

// A regular file of one chunk (needle `key`, `size` bytes) with the given mtime.
inline filer_pb::Entry file_entry(const std::string& name, uint64_t key, uint64_t size, int64_t mtime = 1700000000) {
  filer_pb::Entry e;
  e.set_name(name);
  auto* a = e.mutable_attributes();
  a->set_file_mode(0644);
  a->set_file_size(size);
  a->set_mtime(mtime);
  auto* c = e.add_chunks();
  c->set_file_id(fid_of(key));
  c->set_offset(0);
  c->set_size(size);
  c->set_modified_ts_ns(mtime * 1000000000LL + static_cast<int64_t>(key));
  return e;
}

inline filer_pb::Entry dir_entry(const std::string& name) {
  filer_pb::Entry e;
  e.set_name(name);
  e.set_is_directory(true);
  e.mutable_attributes()->set_file_mode((1u << 31) | 0755);
  return e;
}

class FakeVolumes : public transport::VolumeReader {
 public:
  Result<size_t> read_range(const transport::NeedleLocator& loc, uint64_t offset, std::span<char> dst) override {
    if (auto st = check(loc); !st) return st.error();
    for (size_t i = 0; i < dst.size(); ++i) dst[i] = needle_byte(loc.fid.key, offset + i);
    return dst.size();
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator& loc) override {
    return make_error(EIO, "not used by these tests");
  }
  void mark_deleted(uint64_t key) {
    std::lock_guard lock(mu_);
    deleted_.insert(key);
  }
  std::atomic<int> reads{0};
  std::atomic<int> deleted_reads{0};        // served because allow_deleted was set
  std::atomic<int> allow_deleted_reads{0};  // any read with allow_deleted set
  // Reads of one needle with allow_deleted set (readahead of a released handle may still run,
  // so tests about other handles count per needle).
  int allow_deleted_reads_of(uint64_t key) {
    std::lock_guard lock(mu_);
    auto it = allow_deleted_by_key_.find(key);
    return it == allow_deleted_by_key_.end() ? 0 : it->second;
  }

 private:
  Status check(const transport::NeedleLocator& loc) {
    ++reads;
    std::lock_guard lock(mu_);
    if (loc.allow_deleted) {
      ++allow_deleted_reads;
      ++allow_deleted_by_key_[loc.fid.key];
    }
    if (!deleted_.count(loc.fid.key)) return {};
    if (!loc.allow_deleted) return make_error(ENOENT, "needle " + loc.fid_text + " is deleted");
    ++deleted_reads;
    return {};
  }
  std::mutex mu_;
  std::set<uint64_t> deleted_;
  std::map<uint64_t, int> allow_deleted_by_key_;
};

class FakeMetadataSource : public filer::MetadataSource {
 public:
  FakeMetadataSource() { put_silently("/", dir_entry("")); }

  // Changes the store without an event (as if the event were still on its way).
  void put_silently(const std::string& path, filer_pb::Entry e) {
    std::lock_guard lock(mu_);
    e.set_name(split_path(path).second);
    store_[path] = std::move(e);
  }
  void remove_silently(const std::string& path) {
    std::lock_guard lock(mu_);
    store_.erase(path);
  }

  // Changes the store and emits the event, like the filer.
  void put(const std::string& path, filer_pb::Entry e) {
    auto [dir, name] = split_path(path);
    e.set_name(name);
    std::optional<filer_pb::Entry> old = get(path);
    put_silently(path, e);
    filer_pb::SubscribeMetadataResponse ev;
    ev.set_directory(dir);
    if (old) *ev.mutable_event_notification()->mutable_old_entry() = *old;
    *ev.mutable_event_notification()->mutable_new_entry() = e;
    emit(ev);
  }
  void remove(const std::string& path) {
    auto old = get(path);
    if (!old) return;
    remove_silently(path);
    filer_pb::SubscribeMetadataResponse ev;
    ev.set_directory(split_path(path).first);
    *ev.mutable_event_notification()->mutable_old_entry() = *old;
    emit(ev);
  }
  void rename(const std::string& from, const std::string& to) {
    auto old = get(from);
    if (!old) return;
    remove_silently(from);
    filer_pb::Entry moved = *old;
    put_silently(to, moved);
    moved.set_name(split_path(to).second);
    filer_pb::SubscribeMetadataResponse ev;
    ev.set_directory(split_path(from).first);
    *ev.mutable_event_notification()->mutable_old_entry() = *old;
    *ev.mutable_event_notification()->mutable_new_entry() = moved;
    ev.mutable_event_notification()->set_new_parent_path(split_path(to).first);
    emit(ev);
  }
  std::optional<filer_pb::Entry> get(const std::string& path) {
    std::lock_guard lock(mu_);
    auto it = store_.find(path);
    if (it == store_.end()) return std::nullopt;
    return it->second;
  }
  void emit(const filer_pb::SubscribeMetadataResponse& ev) {
    OnEvent on_event;
    {
      std::lock_guard lock(mu_);
      on_event = on_event_;
    }
    if (on_event) on_event(ev);
  }

  // Runs after the first entry of the next listing was handed out (to race an event with it).
  void during_next_list(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    list_hook_ = std::move(hook);
  }
  // Runs inside the next lookup, after the answer was read from the store.
  void during_next_lookup(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    lookup_hook_ = std::move(hook);
  }
  void set_unreachable(bool on) { unreachable_ = on; }

  Result<std::optional<filer_pb::Entry>> lookup(const std::string& directory, const std::string& name) override {
    ++lookups;
    ++rpcs_;
    if (unreachable_) return make_error(EHOSTUNREACH, "filer unreachable");
    auto found = get(filer::join_path(directory, name));
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      hook.swap(lookup_hook_);
    }
    if (hook) hook();
    return found;
  }
  Status list(const std::string& directory, const std::function<bool(filer_pb::Entry&&)>& on_entry) override {
    ++lists;
    ++rpcs_;
    if (unreachable_) return make_error(EHOSTUNREACH, "filer unreachable");
    std::vector<filer_pb::Entry> children;
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      const std::string prefix = directory == "/" ? "/" : directory + "/";
      for (auto it = store_.lower_bound(prefix); it != store_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        if (it->first == "/" || it->first.find('/', prefix.size()) != std::string::npos) continue;
        children.push_back(it->second);
      }
      hook.swap(list_hook_);
    }
    bool first = true;
    for (auto& e : children) {
      if (!on_entry(std::move(e))) return {};
      if (first && hook) hook();
      first = false;
    }
    return {};
  }
  Result<std::map<uint32_t, std::vector<std::string>>> lookup_volumes(const std::vector<uint32_t>& ids) override {
    std::map<uint32_t, std::vector<std::string>> out;
    for (uint32_t id : ids) out[id] = {"vs:8080"};
    return out;
  }
  Result<filer_pb::StatisticsResponse> statistics() override {
    filer_pb::StatisticsResponse r;
    r.set_total_size(1 << 30);
    r.set_used_size(1 << 20);
    r.set_file_count(42);
    return r;
  }
  std::unique_ptr<filer::Subscription> subscribe(const std::string&, int64_t, OnEvent on_event, OnGap on_gap) override {
    std::lock_guard lock(mu_);
    on_event_ = std::move(on_event);
    on_gap_ = std::move(on_gap);
    return std::make_unique<Sub>(*this);
  }
  [[nodiscard]] uint64_t rpc_count() const override { return rpcs_.load(); }
  void gap() {
    OnGap on_gap;
    {
      std::lock_guard lock(mu_);
      on_gap = on_gap_;
    }
    if (on_gap) on_gap();
  }

  std::atomic<int> lookups{0};
  std::atomic<int> lists{0};

 private:
  struct Sub : filer::Subscription {
    explicit Sub(FakeMetadataSource& s) : source(s) {}
    ~Sub() override { stop(); }
    void stop() override {
      std::lock_guard lock(source.mu_);
      source.on_event_ = nullptr;
      source.on_gap_ = nullptr;
    }
    FakeMetadataSource& source;
  };

  std::mutex mu_;
  std::map<std::string, filer_pb::Entry> store_;
  OnEvent on_event_;
  OnGap on_gap_;
  std::function<void()> list_hook_;
  std::function<void()> lookup_hook_;
  std::atomic<bool> unreachable_{false};
  std::atomic<uint64_t> rpcs_{0};
};

}  // namespace seaweed::fuse::testing
