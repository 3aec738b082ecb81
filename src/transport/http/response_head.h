// What the read path needs from an HTTP response head, fed one header line at a time by libcurl.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace seaweed::transport::http {

struct ResponseHead {
  long status = 0;                         // 0 until a status line arrived
  std::optional<uint64_t> content_length;  // Content-Length
  std::optional<uint64_t> range_start;     // first byte of "Content-Range: bytes START-END/SIZE"
  std::optional<uint64_t> range_total;     // SIZE of the same (the whole body's length)
  bool gzip_encoded = false;               // Content-Encoding: gzip
  // A volume server's ETag is the needle's stored CRC-32C as 8 hex digits, quoted
  // (docs/seaweedfs/read-integrity.md); absent when the header is missing or not of that form.
  std::optional<uint32_t> etag_crc;

  // Consumes one raw line ("HTTP/1.1 206 Partial Content\r\n", "Content-Length: 10\r\n", ...).
  // A status line starts a new head (redirects, 100 Continue), dropping what the previous one said.
  void on_header_line(std::string_view line);
};

}  // namespace seaweed::transport::http
