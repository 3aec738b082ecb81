#include "client/layout_blob.h"

#include <cstring>

#include "codec/codec.h"
#include "common/file_id.h"

namespace seaweed::client {
namespace {

// Header: magic u32, version u16, reserved u16, snapshot id u64, size u64, flags u32, rdma
// timeout u32, http timeout u32. Then chunks, volumes, and the CRC-32C of everything before it.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void str16(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    out_.append(s);
  }
  std::string& out() { return out_; }

 private:
  void le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t& v) {
    uint64_t x = 0;
    if (!le(x, 1)) return false;
    v = static_cast<uint8_t>(x);
    return true;
  }
  bool u16(uint16_t& v) {
    uint64_t x = 0;
    if (!le(x, 2)) return false;
    v = static_cast<uint16_t>(x);
    return true;
  }
  bool u32(uint32_t& v) {
    uint64_t x = 0;
    if (!le(x, 4)) return false;
    v = static_cast<uint32_t>(x);
    return true;
  }
  bool u64(uint64_t& v) { return le(v, 8); }
  bool str16(std::string& s, size_t max) {
    uint16_t n = 0;
    if (!u16(n) || n > max || n > remaining()) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  [[nodiscard]] size_t remaining() const { return in_.size() - pos_; }

 private:
  bool le(uint64_t& v, int bytes) {
    if (remaining() < static_cast<size_t>(bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += bytes;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

// Smallest encoded chunk and volume, to bound counts by the bytes that are left.
constexpr size_t kMinChunkBytes = 2 + 8 + 8 + 8 + 1 + 2;
constexpr size_t kMinVolumeBytes = 4 + 2;
constexpr uint8_t kChunkCompressed = 1;

Error bad(const std::string& what) { return make_error(EPROTO, "layout snapshot: " + what); }

}  // namespace

std::string encode_snapshot(const LayoutSnapshot& s) {
  Writer w;
  w.u32(kBlobMagic);
  w.u16(kBlobVersion);
  w.u16(0);
  w.u64(s.snapshot_id);
  w.u64(s.file_size);
  w.u32(s.flags);
  w.u32(s.rdma_timeout_ms);
  w.u32(s.http_timeout_ms);
  w.u32(static_cast<uint32_t>(s.chunks.size()));
  for (const auto& c : s.chunks) {
    w.str16(c.file_id);
    w.u64(static_cast<uint64_t>(c.offset));
    w.u64(c.size);
    w.u64(static_cast<uint64_t>(c.modified_ts_ns));
    w.u8(c.is_compressed ? kChunkCompressed : 0);
    w.str16(c.cipher_key);
  }
  w.u32(static_cast<uint32_t>(s.volumes.size()));
  for (const auto& v : s.volumes) {
    w.u32(v.volume_id);
    w.u16(static_cast<uint16_t>(v.replicas.size()));
    for (const auto& r : v.replicas) {
      w.str16(r.url);
      w.str16(r.agent);
    }
  }
  w.u32(codec::crc32c(w.out()));
  return std::move(w.out());
}

Result<LayoutSnapshot> decode_snapshot(std::string_view blob) {
  if (blob.size() > kMaxBlobBytes) return bad("larger than " + std::to_string(kMaxBlobBytes) + " bytes");
  if (blob.size() < 4) return bad("truncated");
  const std::string_view body = blob.substr(0, blob.size() - 4);
  {
    Reader tail(blob.substr(blob.size() - 4));
    uint32_t crc = 0;
    (void)tail.u32(crc);
    if (crc != codec::crc32c(body)) return bad("checksum mismatch");
  }
  Reader r(body);
  uint32_t magic = 0;
  uint16_t version = 0, reserved = 0;
  if (!r.u32(magic) || magic != kBlobMagic) return bad("not a snapshot (magic)");
  if (!r.u16(version) || version != kBlobVersion)
    return bad("version " + std::to_string(version) + " (this library reads " + std::to_string(kBlobVersion) + ")");
  LayoutSnapshot s;
  uint32_t chunk_count = 0;
  if (!r.u16(reserved) || !r.u64(s.snapshot_id) || !r.u64(s.file_size) || !r.u32(s.flags) ||
      !r.u32(s.rdma_timeout_ms) || !r.u32(s.http_timeout_ms) || !r.u32(chunk_count))
    return bad("truncated header");
  if (reserved != 0) return bad("reserved header bits set");
  if (s.file_size > static_cast<uint64_t>(INT64_MAX)) return bad("file size beyond INT64_MAX");
  if (chunk_count > r.remaining() / kMinChunkBytes) return bad("chunk count beyond the blob");
  s.chunks.reserve(chunk_count);
  for (uint32_t i = 0; i < chunk_count; ++i) {
    chunks::Chunk c;
    uint64_t offset = 0, mtime = 0;
    uint8_t flags = 0;
    if (!r.str16(c.file_id, kMaxFidBytes) || !r.u64(offset) || !r.u64(c.size) || !r.u64(mtime) || !r.u8(flags) ||
        !r.str16(c.cipher_key, kMaxCipherKeyBytes))
      return bad("truncated chunk " + std::to_string(i));
    if ((flags & ~kChunkCompressed) != 0) return bad("unknown flags on chunk " + std::to_string(i));
    if (!FileId::parse(c.file_id).ok()) return bad("chunk " + std::to_string(i) + " has a malformed fid");
    if (offset > static_cast<uint64_t>(INT64_MAX) || c.size > static_cast<uint64_t>(INT64_MAX) - offset)
      return bad("chunk " + std::to_string(i) + " ends beyond INT64_MAX");
    c.offset = static_cast<int64_t>(offset);
    c.modified_ts_ns = static_cast<int64_t>(mtime);
    c.is_compressed = (flags & kChunkCompressed) != 0;
    s.chunks.push_back(std::move(c));
  }
  uint32_t volume_count = 0;
  if (!r.u32(volume_count)) return bad("truncated volume count");
  if (volume_count > r.remaining() / kMinVolumeBytes) return bad("volume count beyond the blob");
  s.volumes.reserve(volume_count);
  for (uint32_t i = 0; i < volume_count; ++i) {
    VolumeReplicas v;
    uint16_t replicas = 0;
    if (!r.u32(v.volume_id) || !r.u16(replicas)) return bad("truncated volume " + std::to_string(i));
    if (replicas > kMaxReplicas || replicas > r.remaining() / 4)
      return bad("replica count of volume " + std::to_string(v.volume_id));
    for (uint16_t j = 0; j < replicas; ++j) {
      Replica rep;
      if (!r.str16(rep.url, kMaxAddressBytes) || !r.str16(rep.agent, kMaxAddressBytes))
        return bad("truncated replica of volume " + std::to_string(v.volume_id));
      if (rep.url.empty()) return bad("empty replica url of volume " + std::to_string(v.volume_id));
      v.replicas.push_back(std::move(rep));
    }
    s.volumes.push_back(std::move(v));
  }
  if (r.remaining() != 0) return bad(std::to_string(r.remaining()) + " trailing bytes");
  return s;
}

}  // namespace seaweed::client
