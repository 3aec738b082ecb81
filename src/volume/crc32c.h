// Needle checksums (docs/seaweedfs/needle-integrity.md): CRC-32C over the stored data, computed by codec::crc32c,
// plus the transform that files written by weed < 3.09 store instead of the raw value.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "codec/codec.h"

namespace seaweed::volume {

inline uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0) {
  return codec::crc32c(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), crc);
}

constexpr uint32_t legacy_crc_value(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// True when `stored` is either the raw CRC of the data or its legacy transform.
constexpr bool crc_matches(uint32_t stored, uint32_t computed) {
  return stored == computed || stored == legacy_crc_value(computed);
}

}  // namespace seaweed::volume
