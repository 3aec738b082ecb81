#include "agent/open_volume.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <iterator>
#include <string>
#include <vector>

#include "volume/needle.h"
#include "volume/volume_info.h"

namespace seaweed::agent {
namespace {

Status pread_exact(int fd, uint8_t* buf, size_t len, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errno, "read " + what + ": " + std::strerror(errno));
    }
    if (n == 0) return make_error(EIO, "read " + what + ": unexpected end of file");
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(errno, "stat " + path + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

constexpr uint64_t kMapGranule = uint64_t{1} << 21;  // 2 MiB

// TTL of a needle in seconds ([count, unit]: 1 minute, 2 hour, 3 day, 4 week, 5 month, 6 year).
// Month/year lengths are approximations; a needle near its expiry may be answered either way,
// and the HTTP path stays authoritative.
uint64_t ttl_seconds(uint8_t count, uint8_t unit) {
  static constexpr uint64_t kUnit[] = {0, 60, 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400};
  return unit < std::size(kUnit) ? count * kUnit[unit] : 0;
}

// The volume server reports a needle whose TTL has run out as not found.
bool expired(const volume::Needle& n) {
  if (!(n.flags & volume::kFlagHasTtl)) return false;
  const uint64_t ttl = ttl_seconds(n.ttl_count, n.ttl_unit);
  if (ttl == 0) return false;
  const uint64_t born = n.append_at_ns ? n.append_at_ns / 1000000000ull : n.last_modified;
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  return born != 0 && now >= born + ttl;
}

}  // namespace

int detect_bytes_offset(int idx_fd, uint64_t idx_size, int dat_fd, uint64_t dat_size, int fallback) {
  for (int width : {5, 4}) {
    const size_t row_size = volume::idx_row_size(width);
    if (idx_size < row_size || idx_size % row_size != 0) continue;
    std::vector<uint8_t> row(row_size);
    if (!pread_exact(idx_fd, row.data(), row.size(), 0, "idx")) continue;
    auto r = volume::parse_idx_row(row, width);
    if (!r || !r->is_put() || r->byte_offset() + volume::kNeedleHeaderSize > dat_size) continue;
    uint8_t header[volume::kNeedleHeaderSize];
    if (!pread_exact(dat_fd, header, sizeof header, r->byte_offset(), "dat")) continue;
    const auto h = volume::parse_needle_header(std::span<const uint8_t, volume::kNeedleHeaderSize>(header));
    if (h.key == r->key && h.size == static_cast<uint32_t>(r->size)) return width;
  }
  return fallback;
}

Result<std::shared_ptr<OpenVolume>> OpenVolume::open(const VolumeFiles& files, const VolumeOpenOptions& options) {
  auto v = std::make_shared<OpenVolume>(Key{}, files, options);
  const std::string dat_path = files.dat_path();
  const std::string idx_path = files.idx_path();
  v->dat_fd_.reset(::open(dat_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!v->dat_fd_.valid()) return make_error(errno, "open " + dat_path + ": " + std::strerror(errno));
  v->idx_fd_.reset(::open(idx_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!v->idx_fd_.valid()) return make_error(errno, "open " + idx_path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(v->dat_fd_.get(), &st) != 0) return make_error(errno, "stat " + dat_path);
  v->dat_id_ = {st.st_dev, st.st_ino};
  v->dat_size_.store(static_cast<uint64_t>(st.st_size));
  const uint64_t dat_size = v->dat_size_.load();
  if (::fstat(v->idx_fd_.get(), &st) != 0) return make_error(errno, "stat " + idx_path);
  v->idx_id_ = {st.st_dev, st.st_ino};
  const auto idx_size = static_cast<uint64_t>(st.st_size);

  uint8_t sb_bytes[volume::kSuperBlockSize];
  if (auto s = pread_exact(v->dat_fd_.get(), sb_bytes, sizeof sb_bytes, 0, dat_path + " superblock"); !s)
    return s.error();
  auto sb = volume::parse_superblock(sb_bytes);
  if (!sb) return sb.error().context(dat_path);
  if (sb->needles_start() > dat_size) return make_error(EINVAL, dat_path + ": superblock extra runs past EOF");
  v->superblock_ = *sb;

  auto info = volume::read_volume_info(files.vif_path());
  if (info && info->remote) return make_error(EOPNOTSUPP, dat_path + ": volume data is remote-tiered");
  if (info && info->bytes_offset) {
    v->bytes_offset_ = *info->bytes_offset;
  } else if (!info && info.error().code != ENOENT) {
    return info.error();
  } else {
    v->bytes_offset_ =
        detect_bytes_offset(v->idx_fd_.get(), idx_size, v->dat_fd_.get(), dat_size, options.default_bytes_offset);
  }

  {
    std::unique_lock lock(v->mu_);
    if (auto r = v->tail_index_locked(); !r) return r.error();
    const uint64_t map_len = (dat_size + options.map_headroom + kMapGranule - 1) / kMapGranule * kMapGranule;
    auto m = DatMapping::map(v->dat_fd_.get(), map_len, options.registrar);
    if (!m) return m.error().context(dat_path);
    v->mapping_ = std::move(*m);
  }
  return v;
}

Result<size_t> OpenVolume::tail_index() {
  std::unique_lock lock(mu_);
  return tail_index_locked();
}

Result<size_t> OpenVolume::tail_index_locked() {
  auto size = file_size(idx_fd_.get(), files_.idx_path());
  if (!size) return size.error();
  if (*size <= idx_consumed_) return size_t{0};
  const size_t row_size = volume::idx_row_size(bytes_offset_);
  size_t rows = 0;
  // Read in bounded blocks: a volume's .idx can be hundreds of MB.
  constexpr size_t kBlockRows = 1 << 16;
  std::vector<uint8_t> block;
  while (*size - idx_consumed_ >= row_size) {
    const uint64_t avail_rows = (*size - idx_consumed_) / row_size;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(avail_rows, kBlockRows)) * row_size;
    block.resize(n);
    if (auto s = pread_exact(idx_fd_.get(), block.data(), n, idx_consumed_, files_.idx_path()); !s) return s.error();
    auto replay = volume::replay_idx(block, bytes_offset_, map_);
    if (!replay) return replay.error().context(files_.idx_path());
    idx_consumed_ += replay->consumed_bytes;
    rows += replay->rows;
  }
  return rows;
}

std::optional<volume::NeedleLocation> OpenVolume::find(uint64_t key) const {
  std::shared_lock lock(mu_);
  return map_.find(key);
}

Result<std::pair<std::shared_ptr<const DatMapping>, std::span<const uint8_t>>> OpenVolume::dat_bytes(uint64_t offset,
                                                                                                     uint64_t length) {
  const uint64_t end = offset + length;
  // The size as it is now, for every read (~0.2 us): a file cut under us must be noticed before
  // its pages are touched, or the access raises SIGBUS (dat_mapping.h).
  auto size = file_size(dat_fd_.get(), files_.dat_path());
  if (!size) return size.error();
  dat_size_.store(*size, std::memory_order_relaxed);
  // The .idx row is written after the record, so a record the index knows lies inside the file,
  // unless the file was truncated since.
  if (end > *size)
    return make_error(EBADMSG, files_.dat_path() + ": record [" + std::to_string(offset) + ", " + std::to_string(end) +
                                   ") lies past the end of the file (" + std::to_string(*size) +
                                   " bytes): the .dat was truncated");
  {
    std::shared_lock lock(mu_);
    if (end <= mapping_->length() && !mapping_->poisoned())
      return std::make_pair(mapping_, std::span<const uint8_t>(mapping_->data() + offset, length));
  }
  std::unique_lock lock(mu_);
  if (end > mapping_->length() || mapping_->poisoned()) {
    if (mapping_->poisoned())
      spdlog::warn("{}: the file shrank under a read (SIGBUS answered with zeros); mapping it afresh",
                   files_.dat_path());
    const uint64_t map_len = (*size + options_.map_headroom + kMapGranule - 1) / kMapGranule * kMapGranule;
    auto m = DatMapping::map(dat_fd_.get(), map_len, options_.registrar);
    if (!m) return m.error().context(files_.dat_path());
    mapping_ = std::move(*m);  // readers holding the old mapping keep it alive
  }
  return std::make_pair(mapping_, std::span<const uint8_t>(mapping_->data() + offset, length));
}

Result<NeedleRead> OpenVolume::read(uint64_t key, uint32_t cookie, bool verify_crc, bool allow_deleted) {
  const auto loc = find(key);
  if (!loc) return make_error(ENOENT, "needle " + hex(key) + " not found");
  if (!loc->readable()) return make_error(ENOENT, "needle " + hex(key) + " is deleted");
  const int version = superblock_.version;
  const uint32_t size = loc->record_size();
  const uint64_t offset = loc->offset_units * volume::kNeedlePaddingUnit;
  const std::string where = files_.dat_path() + " @" + std::to_string(offset);
  auto bytes = dat_bytes(offset, volume::needle_used_size(size, version));
  if (!bytes) return bytes.error();
  const DatMapping& mapping = *bytes->first;
  // Any failure to make sense of the record is corruption (EBADMSG), unless the file shrank while
  // we read it: then the bytes were zeros from the SIGBUS guard, and the next read sees the cut.
  const auto checked = [&](Error e) {
    if (mapping.poisoned()) return make_error(EAGAIN, where + ": the .dat shrank while the needle was read");
    return e;
  };
  auto needle = volume::parse_needle(bytes->second, version);
  if (!needle) return checked(make_error(EBADMSG, where + ": " + needle.error().message));
  if (needle->header.key != key || needle->header.size != size)
    return checked(make_error(EBADMSG, where + ": index says key " + hex(key) + " size " + std::to_string(size) +
                                           ", record has key " + hex(needle->header.key) + " size " +
                                           std::to_string(needle->header.size)));
  if (needle->header.cookie != cookie) return checked(make_error(EACCES, "needle " + hex(key) + ": cookie mismatch"));
  if (loc->deleted() && !allow_deleted) return make_error(ENOENT, "needle " + hex(key) + " is deleted");
  if (expired(*needle)) return make_error(ENOENT, "needle " + hex(key) + " has expired (TTL)");

  NeedleRead out;
  out.mapping = std::move(bytes->first);
  out.data = needle->data;
  out.flags = needle->flags;
  out.crc = needle->stored_crc;
  out.deleted = loc->deleted();
  out.append_at_ns = needle->append_at_ns;
  if (verify_crc) {
    bool cached = false;
    {
      std::lock_guard lock(crc_mu_);
      if (auto it = verified_crc_.find(loc->offset_units); it != verified_crc_.end() && it->second.key == key &&
                                                           it->second.size == size &&
                                                           it->second.stored_crc == needle->stored_crc) {
        out.crc = it->second.raw_crc;
        cached = true;
      }
    }
    if (!cached) {
      auto computed = volume::verify_needle_crc(*needle);
      if (!computed) return checked(computed.error().context(where));
      if (mapping.poisoned()) return checked(Error{});
      std::lock_guard lock(crc_mu_);
      verified_crc_[loc->offset_units] = VerifiedCrc{key, size, needle->stored_crc, *computed};
      out.crc = *computed;
    }
    out.crc_verified = true;
  }
  if (mapping.poisoned()) return checked(Error{});
  return out;
}

bool OpenVolume::files_replaced() const {
  const auto dat = identity_of_path(files_.dat_path());
  const auto idx = identity_of_path(files_.idx_path());
  return !dat || !idx || *dat != dat_id_ || *idx != idx_id_;
}

bool OpenVolume::dat_removed() const { return !identity_of_path(files_.dat_path()).has_value(); }

bool OpenVolume::index_fits_data() const {
  std::shared_lock lock(mu_);
  return map_.max_offset_units() * volume::kNeedlePaddingUnit < dat_size_.load() || map_.size() == 0;
}

VolumeStats OpenVolume::stats() const {
  std::shared_lock lock(mu_);
  VolumeStats s;
  s.volume_id = files_.volume_id;
  s.collection = files_.collection;
  s.compaction_revision = superblock_.compaction_revision;
  s.version = superblock_.version;
  s.bytes_offset = bytes_offset_;
  s.needles = map_.size();
  s.live = map_.live_count();
  s.dat_size = dat_size_.load();
  s.idx_size = idx_consumed_;
  return s;
}

}  // namespace seaweed::agent
