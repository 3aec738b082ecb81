// Decoding of stored chunk bytes: gzip and AES-256-GCM (fact sheet §2.5, §2.6).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::codec {

// True when data starts with the gzip magic 1f 8b.
bool is_gzip(std::string_view data);

// Inflates a gzip stream (all members). EIO with context on corrupt input.
Result<std::string> gunzip(std::string_view data);

// Opens nonce(12) || ciphertext || tag(16) with a 32-byte key. EIO on a bad tag or size.
Result<std::string> aes256gcm_open(std::string_view key, std::string_view sealed);

// Test helpers (also used by tools that write fixtures): the inverse operations.
Result<std::string> gzip(std::string_view data);
Result<std::string> aes256gcm_seal(std::string_view key, std::string_view clear);

// CRC-32C (Castagnoli) as SeaweedFS stores it for needle data.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace seaweed::codec
