#include "common/file_id.h"

#include <charconv>

namespace seaweed {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool parse_hex(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

}  // namespace

std::string FileId::to_string() const {
  std::string out = std::to_string(volume_id);
  out.push_back(',');
  bool started = false;
  for (int shift = 56; shift >= 0; shift -= 8) {
    const auto byte = static_cast<unsigned>((key >> shift) & 0xff);
    if (!started && byte == 0) continue;
    started = true;
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHex[(cookie >> shift) & 0xf]);
  return out;
}

Result<FileId> FileId::parse(std::string_view text) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos || comma == 0)
    return make_error(EINVAL, "file id '" + std::string(text) + "' has no volume id");
  const std::string_view vid = text.substr(0, comma);
  const std::string_view rest = text.substr(comma + 1);
  uint64_t vid_value = 0;
  auto [ptr, ec] = std::from_chars(vid.data(), vid.data() + vid.size(), vid_value);
  if (ec != std::errc() || ptr != vid.data() + vid.size())
    return make_error(EINVAL, "file id '" + std::string(text) + "' has a bad volume id");
  // Volume ids are 32-bit; a larger number must not wrap around to another volume.
  if (vid_value > UINT32_MAX)
    return make_error(EINVAL, "file id '" + std::string(text) + "' has a volume id above 2^32-1");
  if (rest.size() <= 8 || rest.size() > 24)
    return make_error(EINVAL, "file id '" + std::string(text) + "' has a bad key/cookie length");
  uint64_t key = 0;
  uint64_t cookie = 0;
  if (!parse_hex(rest.substr(0, rest.size() - 8), key) || !parse_hex(rest.substr(rest.size() - 8), cookie))
    return make_error(EINVAL, "file id '" + std::string(text) + "' is not hex");
  // Needle keys start at 1, and key 0 has no canonical form (to_string() would drop all its digits).
  if (key == 0) return make_error(EINVAL, "file id '" + std::string(text) + "' has needle key 0");
  return FileId{static_cast<uint32_t>(vid_value), key, static_cast<uint32_t>(cookie)};
}

}  // namespace seaweed
