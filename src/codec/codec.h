// Decoding of stored chunk bytes: gzip (multi-member, as Go's gzip.Reader) and AES-256-GCM
// (nonce(12) || ciphertext || tag(16)), and the CRC-32C SeaweedFS keeps per needle
// (docs/seaweedfs/needle-integrity.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::codec {

// Output cap of gunzip(data): far above any chunk size, low enough to stop a decompression bomb.
inline constexpr size_t kDefaultGunzipLimit = size_t{1} << 30;

// True when data starts with the gzip magic 1f 8b.
bool is_gzip(std::string_view data);

// Inflates a gzip stream (all members). EIO with context on corrupt input.
Result<std::string> gunzip(std::string_view data);
// Same, failing with EIO once the output would exceed max_output bytes.
Result<std::string> gunzip(std::string_view data, size_t max_output);

// Streams the clear bytes [offset, offset+size) of gzip data (all members; size 0: to the end) to
// `sink` in pieces of at most kGunzipWindow bytes, inflating no further than offset+size: memory
// is one window plus zlib's state (~110 KiB in all), however large the clear data. A sink
// returning false stops the stream (not an error). EIO on corrupt or truncated input, or when
// more than max_output clear bytes would have to be produced. The gzip trailer of a member is
// only checked when the stream reaches it (callers check the stored bytes' CRC-32C first).
inline constexpr size_t kGunzipWindow = 64 * 1024;
using GunzipSink = std::function<bool(std::string_view piece)>;
Status gunzip_stream(std::string_view data, uint64_t offset, uint64_t size, const GunzipSink& sink,
                     uint64_t max_output = kDefaultGunzipLimit);
// gunzip_stream into dst: clear bytes [offset, offset+dst.size()). Returns the bytes written
// (short only at the end of the clear data).
Result<size_t> gunzip_range(std::string_view data, uint64_t offset, std::span<char> dst,
                            uint64_t max_output = kDefaultGunzipLimit);

// Opens nonce(12) || ciphertext || tag(16) with a 32-byte key. EIO on a bad tag or size.
// EINVAL when the key is not 32 bytes.
Result<std::string> aes256gcm_open(std::string_view key, std::string_view sealed);

// Test helpers (also used by tools that write fixtures): the inverse operations.
Result<std::string> gzip(std::string_view data);
// Seals with a random nonce; returns nonce(12) || ciphertext || tag(16).
Result<std::string> aes256gcm_seal(std::string_view key, std::string_view clear);

// CRC-32C (Castagnoli) as SeaweedFS stores it for needle data. Chains like Go's crc32.Update:
// crc32c(b, crc32c(a)) == crc32c(a + b).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// The CRC-32C of a + b from crc_a = crc32c(a, init) and crc_b = crc32c(b): the state after a,
// advanced over len_b zero bits' worth of polynomial arithmetic (x^(8 len_b) mod P), xor crc_b.
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace seaweed::codec
