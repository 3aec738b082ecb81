// One opened generation of a volume: the .dat/.idx inodes as they were when opened, the needle
// map replayed from the .idx, and a mapping of the .dat. A vacuum replaces the files; the store
// then opens a new OpenVolume and swaps it in while requests in flight keep the old one alive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>

#include "agent/dat_mapping.h"
#include "agent/unique_fd.h"
#include "agent/volume_files.h"
#include "common/result.h"
#include "volume/idx.h"
#include "volume/superblock.h"

namespace seaweed::agent {

struct VolumeOpenOptions {
  int default_bytes_offset = 5;            // when there is no .vif and the .idx gives no clue
  size_t map_headroom = size_t{64} << 20;  // mapped past EOF so appends rarely force a remap
  MappingRegistrar registrar;
};

// A needle ready to be sent: its stored data inside a live mapping.
struct NeedleRead {
  std::shared_ptr<const DatMapping> mapping;  // keeps `data` valid (and registered)
  std::span<const uint8_t> data;              // stored bytes (gzip if compressed)
  uint8_t flags = 0;                          // needle flags (volume::kFlag*)
  uint32_t crc = 0;                           // raw CRC32C of data when verified, else the stored value
  bool crc_verified = false;
  bool deleted = false;  // served with readDeleted semantics
  uint64_t append_at_ns = 0;
};

struct VolumeStats {
  uint32_t volume_id = 0;
  std::string collection;
  uint16_t compaction_revision = 0;
  int version = 0;
  int bytes_offset = 0;
  size_t needles = 0;
  size_t live = 0;
  uint64_t dat_size = 0;
  uint64_t idx_size = 0;
};

class OpenVolume {
 public:
  static Result<std::shared_ptr<OpenVolume>> open(const VolumeFiles& files, const VolumeOpenOptions& options);

  OpenVolume(const OpenVolume&) = delete;
  OpenVolume& operator=(const OpenVolume&) = delete;

  [[nodiscard]] const VolumeFiles& files() const { return files_; }
  [[nodiscard]] const volume::SuperBlock& superblock() const { return superblock_; }
  [[nodiscard]] int bytes_offset() const { return bytes_offset_; }

  // Applies .idx rows appended since the last call. Returns the number of new rows.
  Result<size_t> tail_index();

  [[nodiscard]] std::optional<volume::NeedleLocation> find(uint64_t key) const;

  // Looks the key up and checks the record at its offset (docs/seaweedfs/needle-integrity.md):
  // the record must lie inside the file as it is now and its key and size must match the index
  // (EBADMSG otherwise: truncated or corrupt), the cookie must match (EACCES), and with
  // verify_crc the data's CRC-32C (EBADMSG; checked once per record version and remembered).
  // ENOENT when absent, a bare tombstone, expired, or deleted without allow_deleted. EAGAIN when
  // the file shrank while the record was read (the mapping is replaced; nothing is served).
  Result<NeedleRead> read(uint64_t key, uint32_t cookie, bool verify_crc, bool allow_deleted);

  // True when the paths no longer name the inodes this generation has open (vacuum, or the
  // volume was deleted/recreated).
  [[nodiscard]] bool files_replaced() const;
  // The .dat path is gone: the volume was deleted or moved away.
  [[nodiscard]] bool dat_removed() const;
  // Sanity check for a freshly opened generation: every indexed record lies inside the .dat.
  [[nodiscard]] bool index_fits_data() const;

  [[nodiscard]] FileIdentity dat_identity() const { return dat_id_; }
  [[nodiscard]] FileIdentity idx_identity() const { return idx_id_; }
  [[nodiscard]] VolumeStats stats() const;

  struct Key {
   private:
    Key() = default;
    friend class OpenVolume;
  };
  OpenVolume(Key, VolumeFiles files, VolumeOpenOptions options)
      : files_(std::move(files)), options_(std::move(options)) {}

 private:
  // Mapped bytes [offset, offset+length) of the .dat, after checking them against the file's
  // current size (EBADMSG past the end: the file was cut), remapping when the file has grown
  // past the mapping or the mapping was poisoned by a SIGBUS.
  Result<std::pair<std::shared_ptr<const DatMapping>, std::span<const uint8_t>>> dat_bytes(uint64_t offset,
                                                                                           uint64_t length);
  Result<size_t> tail_index_locked();

  const VolumeFiles files_;
  const VolumeOpenOptions options_;
  volume::SuperBlock superblock_;
  int bytes_offset_ = 5;
  UniqueFd dat_fd_;
  UniqueFd idx_fd_;
  FileIdentity dat_id_;
  FileIdentity idx_id_;

  mutable std::shared_mutex mu_;  // guards everything below
  volume::NeedleMap map_;
  uint64_t idx_consumed_ = 0;
  std::shared_ptr<const DatMapping> mapping_;
  std::atomic<uint64_t> dat_size_{0};  // file size at the last fstat

  // Records whose CRC was verified, by offset. The entry also names the record (key, size,
  // stored CRC), so a different record written at the same offset after a truncation is checked
  // again instead of inheriting the verdict.
  struct VerifiedCrc {
    uint64_t key = 0;
    uint32_t size = 0;
    uint32_t stored_crc = 0;
    uint32_t raw_crc = 0;
  };
  std::mutex crc_mu_;
  std::unordered_map<uint64_t, VerifiedCrc> verified_crc_;
};

// Which .idx row width a volume uses: the .vif's bytesOffset when present, else whichever width
// makes the first .idx row point at a matching needle header, else `fallback`.
int detect_bytes_offset(int idx_fd, uint64_t idx_size, int dat_fd, uint64_t dat_size, int fallback);

}  // namespace seaweed::agent
