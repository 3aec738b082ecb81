#include "volume/volume_info.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace seaweed::volume {
namespace {

// protojson writes 64-bit ints as strings and smaller ints as numbers; accept both.
std::optional<long long> as_integer(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_string()) {
    try {
      size_t used = 0;
      const std::string s = v.get<std::string>();
      const long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

}  // namespace

Result<VolumeInfo> parse_volume_info(std::string_view json_text) {
  const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return make_error(EINVAL, "volume info is not a JSON object");
  VolumeInfo info;
  if (auto it = doc.find("bytesOffset"); it != doc.end() && !it->is_null()) {
    const auto n = as_integer(*it);
    if (!n || (*n != 4 && *n != 5)) return make_error(EINVAL, "volume info bytesOffset is not 4 or 5");
    info.bytes_offset = static_cast<int>(*n);
  }
  if (auto it = doc.find("version"); it != doc.end() && !it->is_null()) {
    const auto n = as_integer(*it);
    if (!n || *n < 0 || *n > 255) return make_error(EINVAL, "volume info version is invalid");
    info.version = static_cast<int>(*n);
  }
  if (auto it = doc.find("readOnly"); it != doc.end() && it->is_boolean()) info.read_only = it->get<bool>();
  if (auto it = doc.find("files"); it != doc.end() && it->is_array()) info.remote = !it->empty();
  return info;
}

Result<VolumeInfo> read_volume_info(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(errno, "cannot open " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < (1u << 20)) text.append(buf, static_cast<size_t>(n));
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) return make_error(read_errno, "cannot read " + path + ": " + std::strerror(read_errno));
  auto info = parse_volume_info(text);
  if (!info) return info.error().context(path);
  return info;
}

}  // namespace seaweed::volume
