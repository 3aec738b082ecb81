// SeaweedFS file ids: "<vid>,<key-hex><cookie-hex8>" (docs/seaweedfs/file-ids.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed {

struct FileId {
  uint32_t volume_id = 0;
  uint64_t key = 0;
  uint32_t cookie = 0;

  bool operator==(const FileId&) const = default;

  // Canonical string: decimal vid, key bytes with leading zero *bytes* removed (lowercase hex,
  // always an even number of digits), then exactly 8 hex digits of cookie.
  [[nodiscard]] std::string to_string() const;

  // Parses the canonical form. Accepts uppercase and odd-length keys like upstream; rejects a
  // missing comma, a non-decimal vid or one above 2^32-1 (upstream truncates it: 4294967298
  // would name volume 2), a key+cookie part outside 9..24 characters, and key 0.
  static Result<FileId> parse(std::string_view text);
};

}  // namespace seaweed
