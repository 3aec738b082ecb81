// CRC-32C implementations behind codec::crc32c, exposed so tests can check them against each other.
#pragma once

#include <cstdint>
#include <string_view>

namespace seaweed::codec::detail {

// Table-driven slice-by-8; runs everywhere.
uint32_t crc32c_software(std::string_view data, uint32_t crc);

// True when this CPU has a CRC-32C instruction crc32c_hardware can use (x86-64 SSE4.2).
bool crc32c_hardware_available();

// Uses the CRC-32C instruction; call only when crc32c_hardware_available().
uint32_t crc32c_hardware(std::string_view data, uint32_t crc);

}  // namespace seaweed::codec::detail
