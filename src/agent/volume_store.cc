#include "agent/volume_store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstring>

namespace seaweed::agent {

VolumeStore::VolumeStore(StoreOptions options) : options_(std::move(options)) {}

VolumeStore::~VolumeStore() { stop_refresher(); }

Status VolumeStore::load() {
  for (const auto& dir : options_.dirs) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return make_error(errno, "volume dir " + dir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "volume dir " + dir + " is not a directory");
  }
  std::lock_guard scan(scan_mu_);
  last_scan_ = std::chrono::steady_clock::now();
  scan_new_volumes();
  return {};
}

size_t VolumeStore::scan_new_volumes() {
  std::vector<std::string> errors;
  const auto found = scan_volume_dirs(options_.dirs, &errors);
  for (const auto& e : errors) spdlog::warn("volume scan: {}", e);
  size_t added = 0;
  for (const auto& files : found) {
    {
      std::shared_lock lock(mu_);
      if (volumes_.count(files.volume_id)) continue;
    }
    auto v = OpenVolume::open(files, options_.open);
    if (!v) {
      spdlog::warn("volume {}: not served: {}", files.volume_id, v.error().message);
      continue;
    }
    std::unique_lock lock(mu_);
    if (volumes_.emplace(files.volume_id, *v).second) {
      const auto s = (*v)->stats();
      spdlog::info("volume {} ({}): {} needles, {} live, v{}, {}-byte offsets, revision {}", files.volume_id,
                   files.base, s.needles, s.live, s.version, s.bytes_offset, s.compaction_revision);
      ++added;
    } else {
      spdlog::warn("volume {} found twice; serving {} only", files.volume_id,
                   volumes_.at(files.volume_id)->files().base);
    }
  }
  return added;
}

std::shared_ptr<OpenVolume> VolumeStore::find_volume(uint32_t vid) const {
  std::shared_lock lock(mu_);
  auto it = volumes_.find(vid);
  return it == volumes_.end() ? nullptr : it->second;
}

bool VolumeStore::is_stale(uint32_t vid) const {
  std::shared_lock lock(mu_);
  return stale_.count(vid) > 0;
}

void VolumeStore::mark_stale(uint32_t vid) {
  {
    std::unique_lock lock(mu_);
    if (!stale_.insert(vid).second) return;
  }
  spdlog::info("volume {}: files replaced (vacuum?), reloading", vid);
  std::lock_guard lock(refresher_mu_);
  refresher_wake_ = true;
  refresher_cv_.notify_one();
}

void VolumeStore::maybe_rescan_for(uint32_t vid) {
  std::unique_lock scan(scan_mu_, std::try_to_lock);
  if (!scan.owns_lock()) return;  // someone else is scanning right now
  const auto now = std::chrono::steady_clock::now();
  if (now - last_scan_ < options_.rescan_min_interval) return;
  last_scan_ = now;
  scan_new_volumes();
}

Result<NeedleRead> VolumeStore::lookup(uint32_t vid, uint64_t key, uint32_t cookie, bool allow_deleted) {
  auto vol = find_volume(vid);
  if (!vol) {
    maybe_rescan_for(vid);
    vol = find_volume(vid);
    if (!vol) return make_error(ENXIO, "volume " + std::to_string(vid) + " is not on this server");
  }
  auto r = vol->read(key, cookie, options_.verify_crc, allow_deleted);
  if (r || r.error().code != ENOENT) return r;

  // A miss may be a needle written after our last look at the .idx.
  if (is_stale(vid)) return make_error(EAGAIN, "volume " + std::to_string(vid) + " is being reloaded");
  auto added = vol->tail_index();
  if (!added) return added.error();
  if (*added > 0) {
    r = vol->read(key, cookie, options_.verify_crc, allow_deleted);
    if (r || r.error().code != ENOENT) return r;
  }
  if (vol->files_replaced()) {
    mark_stale(vid);
    return make_error(EAGAIN, "volume " + std::to_string(vid) + " files were replaced; reloading");
  }
  return r;
}

void VolumeStore::rebuild(uint32_t vid, const std::shared_ptr<OpenVolume>& old) {
  const VolumeFiles files = old->files();
  if (old->dat_removed()) {
    std::unique_lock lock(mu_);
    if (auto it = volumes_.find(vid); it != volumes_.end() && it->second == old) volumes_.erase(it);
    stale_.erase(vid);
    spdlog::info("volume {}: removed", vid);
    return;
  }
  // A vacuum commit renames .dat then .idx under a marker file: wait until it is done.
  if (identity_of_path(files.compaction_marker_path())) return;
  auto fresh = OpenVolume::open(files, options_.open);
  if (!fresh) {
    spdlog::warn("volume {}: reload failed, will retry: {}", vid, fresh.error().message);
    return;
  }
  // The pair must still be the one we opened, and belong together.
  const auto dat = identity_of_path(files.dat_path());
  const auto idx = identity_of_path(files.idx_path());
  if (!dat || !idx || *dat != (*fresh)->dat_identity() || *idx != (*fresh)->idx_identity() ||
      !(*fresh)->index_fits_data()) {
    spdlog::info("volume {}: files still changing, will retry", vid);
    return;
  }
  const auto s = (*fresh)->stats();
  {
    std::unique_lock lock(mu_);
    auto it = volumes_.find(vid);
    if (it == volumes_.end() || it->second != old) return;  // changed meanwhile
    it->second = *fresh;
    stale_.erase(vid);
  }
  spdlog::info("volume {}: reloaded, revision {} -> {}, {} needles", vid, old->superblock().compaction_revision,
               s.compaction_revision, s.needles);
}

void VolumeStore::refresh() {
  std::vector<std::pair<uint32_t, std::shared_ptr<OpenVolume>>> snapshot;
  {
    std::shared_lock lock(mu_);
    snapshot.assign(volumes_.begin(), volumes_.end());
  }
  for (const auto& [vid, vol] : snapshot) {
    if (is_stale(vid) || vol->files_replaced()) {
      {
        std::unique_lock lock(mu_);
        stale_.insert(vid);
      }
      rebuild(vid, vol);
      continue;
    }
    if (auto r = vol->tail_index(); !r) spdlog::warn("volume {}: {}", vid, r.error().message);
  }
  std::lock_guard scan(scan_mu_);
  last_scan_ = std::chrono::steady_clock::now();
  scan_new_volumes();
}

void VolumeStore::start_refresher(std::chrono::milliseconds interval) {
  stop_refresher();
  {
    std::lock_guard lock(refresher_mu_);
    refresher_stop_ = false;
  }
  refresher_ = std::thread([this, interval] {
    std::unique_lock lock(refresher_mu_);
    while (!refresher_stop_) {
      refresher_cv_.wait_for(lock, interval, [this] { return refresher_stop_ || refresher_wake_; });
      if (refresher_stop_) break;
      refresher_wake_ = false;
      lock.unlock();
      refresh();
      lock.lock();
    }
  });
}

void VolumeStore::stop_refresher() {
  {
    std::lock_guard lock(refresher_mu_);
    refresher_stop_ = true;
    refresher_cv_.notify_all();
  }
  if (refresher_.joinable()) refresher_.join();
}

std::vector<VolumeStats> VolumeStore::stats() const {
  std::vector<VolumeStats> out;
  std::shared_lock lock(mu_);
  for (const auto& [vid, vol] : volumes_) out.push_back(vol->stats());
  return out;
}

size_t VolumeStore::volume_count() const {
  std::shared_lock lock(mu_);
  return volumes_.size();
}

}  // namespace seaweed::agent
