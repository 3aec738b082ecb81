// VolumeReader over the volume servers' HTTP read path (fact sheet §2.5, §4), via libcurl.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "transport/volume_reader.h"

namespace seaweed::transport {

struct HttpOptions {
  long connect_timeout_ms = 3000;
  long request_timeout_ms = 30000;  // whole request, per replica tried
  std::string jwt_read_key;         // jwt.signing.read.key; empty = send no JWT
};

// Tries loc.urls in order; a 404, 5xx, transport error or timeout moves on to the next replica.
// Thread-safe: each calling thread keeps its own keep-alive curl handle.
class HttpVolumeReader : public VolumeReader {
 public:
  explicit HttpVolumeReader(HttpOptions options = {});

  // GET with "Range: bytes=OFF-END" and no Accept-Encoding, so the server gunzips flagged needles and the
  // range applies to clear bytes. Accepts 206, or 200 (then skips to offset). 416 (offset past the end) = 0 bytes.
  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override;

  // GET with "Accept-Encoding: gzip": a gzip-flagged needle arrives as stored, with gzipped = true.
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override;

  // Body bytes delivered to callers, and HTTP requests issued (each replica tried counts).
  [[nodiscard]] uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

 private:
  // Header lines every request carries (Authorization when a JWT key is set).
  Result<std::vector<std::string>> common_headers(const std::string& fid) const;

  HttpOptions options_;
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace seaweed::transport
