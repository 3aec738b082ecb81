#include "volume/needle.h"

#include <cstdio>
#include <string>

#include "volume/byte_order.h"
#include "volume/crc32c.h"

namespace seaweed::volume {
namespace {

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

Error corrupt(const NeedleHeader& h, const std::string& what) {
  char key[17];
  std::snprintf(key, sizeof key, "%llx", static_cast<unsigned long long>(h.key));
  return make_error(EINVAL, "needle " + std::string(key) + ": " + what);
}

}  // namespace

NeedleHeader parse_needle_header(std::span<const uint8_t, kNeedleHeaderSize> b) {
  return NeedleHeader{load_be32(&b[0]), load_be64(&b[4]), load_be32(&b[12])};
}

void encode_needle_header(const NeedleHeader& h, std::span<uint8_t, kNeedleHeaderSize> out) {
  store_be32(&out[0], h.cookie);
  store_be64(&out[4], h.key);
  store_be32(&out[12], h.size);
}

uint64_t needle_used_size(uint32_t size, int version) {
  return kNeedleHeaderSize + uint64_t{size} + kNeedleChecksumSize + (version == 3 ? kNeedleTimestampSize : 0);
}

uint64_t needle_padding(uint32_t size, int version) { return 8 - needle_used_size(size, version) % 8; }

uint64_t needle_actual_size(uint32_t size, int version) {
  return needle_used_size(size, version) + needle_padding(size, version);
}

Result<Needle> parse_needle(std::span<const uint8_t> record, int version) {
  if (version < 1 || version > 3) return make_error(EINVAL, "unsupported needle version " + std::to_string(version));
  if (record.size() < kNeedleHeaderSize)
    return make_error(EINVAL, "needle header truncated: " + std::to_string(record.size()) + " of 16 bytes");
  Needle n;
  n.header = parse_needle_header(record.first<kNeedleHeaderSize>());
  const uint64_t used = needle_used_size(n.header.size, version);
  if (record.size() < used)
    return corrupt(n.header, "record truncated: size " + std::to_string(n.header.size) + " needs " +
                                 std::to_string(used) + " bytes, " + std::to_string(record.size()) + " present");
  const auto body = record.subspan(kNeedleHeaderSize, n.header.size);
  const size_t tail = kNeedleHeaderSize + n.header.size;
  n.stored_crc = load_be32(&record[tail]);
  if (version == 3) n.append_at_ns = load_be64(&record[tail + kNeedleChecksumSize]);

  if (version == 1) {
    n.data_size = n.header.size;
    n.data = body;
    return n;
  }
  if (n.header.size == 0) return n;  // tombstone or empty upload: no body at all

  if (body.size() < 4) return corrupt(n.header, "body of " + std::to_string(body.size()) + " bytes has no DataSize");
  n.data_size = load_be32(&body[0]);
  size_t pos = 4;
  if (n.data_size > body.size() - pos)
    return corrupt(n.header,
                   "DataSize " + std::to_string(n.data_size) + " exceeds body size " + std::to_string(body.size()));
  n.data = body.subspan(pos, n.data_size);
  pos += n.data_size;
  // Size covers DataSize+data+flags; an upload with empty data may stop right after DataSize.
  if (pos == body.size()) return n;
  n.flags = body[pos++];

  auto take = [&](size_t len, const char* what) -> Result<std::span<const uint8_t>> {
    if (len > body.size() - pos)
      return corrupt(n.header, std::string(what) + " (" + std::to_string(len) + " bytes) overruns the body");
    auto s = body.subspan(pos, len);
    pos += len;
    return s;
  };
  auto as_text = [](std::span<const uint8_t> s) {
    return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  };
  if (n.flags & kFlagHasName) {
    auto len = take(1, "name length");
    if (!len) return len.error();
    auto s = take((*len)[0], "name");
    if (!s) return s.error();
    n.name = as_text(*s);
  }
  if (n.flags & kFlagHasMime) {
    auto len = take(1, "mime length");
    if (!len) return len.error();
    auto s = take((*len)[0], "mime");
    if (!s) return s.error();
    n.mime = as_text(*s);
  }
  if (n.flags & kFlagHasLastModified) {
    auto s = take(kLastModifiedBytes, "last-modified");
    if (!s) return s.error();
    for (uint8_t b : *s) n.last_modified = (n.last_modified << 8) | b;
  }
  if (n.flags & kFlagHasTtl) {
    auto s = take(kTtlBytes, "ttl");
    if (!s) return s.error();
    n.ttl_count = (*s)[0];
    n.ttl_unit = (*s)[1];
  }
  if (n.flags & kFlagHasPairs) {
    auto len = take(2, "pairs length");
    if (!len) return len.error();
    auto s = take(load_be16(len->data()), "pairs");
    if (!s) return s.error();
    n.pairs = as_text(*s);
  }
  return n;
}

Result<uint32_t> verify_needle_crc(const Needle& n) {
  const uint32_t computed = crc32c(n.data);
  if (crc_matches(n.stored_crc, computed)) return computed;
  return make_error(EBADMSG, "needle " + std::to_string(n.header.key) + ": CRC32C mismatch (stored " +
                                 hex32(n.stored_crc) + ", computed " + hex32(computed) + ")");
}

}  // namespace seaweed::volume
