// CRC-32C (Castagnoli), the checksum SeaweedFS stores after each needle's data (fact sheet §5.4).
// Own small implementation so the volume library does not depend on codec/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace seaweed::volume {

// Same convention as Go's crc32.Update(crc, castagnoliTable, data): pass the previous result to
// continue a running checksum; 0 to start. Uses SSE4.2 when the CPU has it.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

// Portable table-driven version (exposed so tests can cross-check the hardware path).
uint32_t crc32c_portable(std::span<const uint8_t> data, uint32_t crc = 0);

// Files written by weed < 3.09 store a transformed value instead of the raw CRC.
constexpr uint32_t legacy_crc_value(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// True when `stored` is either the raw CRC of the data or its legacy transform.
constexpr bool crc_matches(uint32_t stored, uint32_t computed) {
  return stored == computed || stored == legacy_crc_value(computed);
}

}  // namespace seaweed::volume
