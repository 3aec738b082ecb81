// All volumes of the local volume server, found in its -dir folders, kept in step with the
// files while the server appends, deletes and vacuums (design "Agent volume store").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/open_volume.h"
#include "common/result.h"

namespace seaweed::agent {

struct StoreOptions {
  std::vector<std::string> dirs;
  bool verify_crc = true;
  VolumeOpenOptions open;
  // A lookup of an unknown volume rescans the dirs at most this often.
  std::chrono::milliseconds rescan_min_interval{1000};
};

// Error codes of lookup():
//   ENOENT  needle absent, expired, or deleted (without allow_deleted)
//   EACCES  cookie mismatch (callers answer it like ENOENT)
//   ENXIO   volume not on this server
//   EAGAIN  volume files being replaced (vacuum) or cut under a read: retry
//   EBADMSG record past the end of the .dat, inconsistent with the index, or CRC mismatch
class VolumeStore {
 public:
  explicit VolumeStore(StoreOptions options);
  ~VolumeStore();
  VolumeStore(const VolumeStore&) = delete;
  VolumeStore& operator=(const VolumeStore&) = delete;

  // First scan. Fails (ENOENT/ENOTDIR) when a -dir does not exist; volumes that fail to open
  // are logged and skipped.
  Status load();

  // allow_deleted: serve a needle the volume server marked deleted, if its record is still there
  // (HTTP readDeleted=true); without it a deleted needle is ENOENT.
  Result<NeedleRead> lookup(uint32_t volume_id, uint64_t key, uint32_t cookie, bool allow_deleted = false);

  // One maintenance pass: tail every .idx, rebuild volumes whose files were replaced, drop
  // removed volumes, pick up new ones.
  void refresh();

  // Runs refresh() every `interval` (and soon after a lookup noticed replaced files) on a
  // background thread until stop_refresher() or destruction.
  void start_refresher(std::chrono::milliseconds interval);
  void stop_refresher();

  [[nodiscard]] std::vector<VolumeStats> stats() const;
  [[nodiscard]] size_t volume_count() const;

 private:
  std::shared_ptr<OpenVolume> find_volume(uint32_t vid) const;
  bool is_stale(uint32_t vid) const;
  void mark_stale(uint32_t vid);
  // Opens volumes found in the dirs that are not loaded yet. Returns how many were added.
  size_t scan_new_volumes();
  void maybe_rescan_for(uint32_t vid);
  void rebuild(uint32_t vid, const std::shared_ptr<OpenVolume>& old);

  const StoreOptions options_;

  mutable std::shared_mutex mu_;  // guards volumes_ and stale_
  std::map<uint32_t, std::shared_ptr<OpenVolume>> volumes_;
  std::set<uint32_t> stale_;  // files replaced; a consistent new generation is not open yet

  std::mutex scan_mu_;  // one scan at a time; guards last_scan_
  std::chrono::steady_clock::time_point last_scan_{};

  std::mutex refresher_mu_;
  std::condition_variable refresher_cv_;
  bool refresher_stop_ = false;
  bool refresher_wake_ = false;
  std::thread refresher_;
};

}  // namespace seaweed::agent
