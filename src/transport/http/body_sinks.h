// Where response bodies go: into the caller's span for range reads, into a string for whole reads.
// Each sink also judges whether one replica's answer is usable, and with verification on checks
// the body against the needle's CRC-32C that the volume server sends as ETag
// (docs/seaweedfs/read-integrity.md). Errors carry the VolumeReader errno table: ENOENT (404),
// EPERM (401/403), EBADMSG (CRC mismatch, missing ETag, oversized body), ETIMEDOUT/ECONNREFUSED/EIO.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "transport/http/http_get.h"
#include "transport/volume_reader.h"

namespace seaweed::transport::http {

// Keeps the start of an error response body (e.g. {"error":"wrong jwt"}) for the error message.
class ErrorBodySnippet {
 public:
  // Returns false once the body has grown past what is worth downloading (abort the transfer).
  bool consume(std::string_view bytes);
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  std::string text_;
  uint64_t discarded_bytes_ = 0;
};

// "HTTP <status>" plus the body snippet when there is one.
std::string http_status_reason(long status, const ErrorBodySnippet& body);
// The same as an Error with the errno of the status (404 ENOENT, 401/403 EPERM, else EIO).
Error http_status_error(long status, const ErrorBodySnippet& body);
// Why the exchange itself failed (timeout, refused connection, aborted transfer).
Error transport_failure(const GetOutcome& outcome);

// The body's CRC-32C against the ETag's (raw or legacy-transformed value): EBADMSG when they
// differ or when there is no ETag to check against.
Status verify_body_crc(const std::optional<uint32_t>& etag_crc, uint32_t body_crc);

// A 206 whose ETag is not the version this server's needle was verified as: ESTALE, so the caller
// verifies the new version before trusting ranges of it.
inline constexpr int kVersionChanged = ESTALE;

// read_range: copies clear bytes [offset, offset + dst.size()) into dst, refusing to overflow it.
// expected_crc: the CRC this server's needle was verified with; a 206 must carry it as ETag.
// verify: a 200 (Range ignored) is read to its end and checked against its ETag.
class RangeSink {
 public:
  RangeSink(uint64_t offset, std::span<char> dst, bool verify = false,
            std::optional<uint32_t> expected_crc = std::nullopt)
      : offset_(offset), dst_(dst), verify_(verify), expected_crc_(expected_crc) {}

  bool consume(const ResponseHead& head, std::string_view bytes);

  // Bytes written into dst, or why this replica's answer is unusable.
  [[nodiscard]] Result<size_t> finish(const GetOutcome& outcome) const;

 private:
  bool copy_out(std::string_view bytes);  // false when bytes do not fit

  uint64_t offset_;
  std::span<char> dst_;
  bool verify_;
  std::optional<uint32_t> expected_crc_;
  size_t written_ = 0;
  uint64_t skipped_ = 0;         // 200 responses: body bytes before offset
  uint32_t crc_ = 0;             // 200 responses with verify: CRC of the whole body
  bool dst_filled_ = false;      // 200 responses without verify: stopped on purpose once dst was full
  bool overflowed_ = false;      // 206 with more bytes than asked for
  bool range_mismatch_ = false;  // 206 whose Content-Range does not start at offset
  bool etag_changed_ = false;    // 206 whose ETag is not expected_crc
  ErrorBodySnippet error_body_;
};

// read_whole: collects a 200 body as stored, remembering Content-Encoding: gzip. With verify the
// body's CRC must match the ETag. Bodies longer than max_bytes (0: no limit) are refused.
class WholeSink {
 public:
  explicit WholeSink(bool verify = false, uint64_t max_bytes = 0) : verify_(verify), max_bytes_(max_bytes) {}

  bool consume(const ResponseHead& head, std::string_view bytes);

  // The needle, or why this replica's answer is unusable. Moves the data out.
  [[nodiscard]] Result<StoredNeedle> finish(const GetOutcome& outcome);
  // The body's CRC-32C (valid after a successful finish with verify).
  [[nodiscard]] uint32_t crc() const { return crc_; }

 private:
  bool verify_;
  uint64_t max_bytes_;
  std::string data_;
  uint32_t crc_ = 0;
  bool reserved_ = false;
  bool too_long_ = false;
  ErrorBodySnippet error_body_;
};

// The first verified read of a needle on a server for read_range: the whole needle is fetched
// (Accept-Encoding: gzip, so the body is the stored bytes the ETag's CRC covers) and checked.
// Once the head is known the sink picks how to keep it:
//   * kept: the body is collected (gzip bodies, which must be inflated before slicing, and
//     needles up to keep_limit bytes whose other ranges are likely read next);
//   * sliced: only [offset, offset + dst.size()) is copied into dst as it streams past (needles
//     that the request covers whole, or too large to keep).
class FirstTouchSink {
 public:
  // take_buffer(n): an empty string with room for n bytes to keep the body in (recycled storage).
  using BufferSource = std::function<std::string(size_t)>;
  FirstTouchSink(uint64_t offset, std::span<char> dst, uint64_t max_bytes, uint64_t keep_limit,
                 BufferSource take_buffer = nullptr)
      : offset_(offset),
        dst_(dst),
        max_bytes_(max_bytes),
        keep_limit_(keep_limit),
        take_buffer_(std::move(take_buffer)) {}

  bool consume(const ResponseHead& head, std::string_view bytes);

  struct Verified {
    uint32_t crc = 0;
    bool kept = false;   // data holds the stored needle
    StoredNeedle data;   // when kept
    size_t written = 0;  // when sliced: bytes copied into dst
  };
  [[nodiscard]] Result<Verified> finish(const GetOutcome& outcome);

 private:
  void decide(const ResponseHead& head);

  uint64_t offset_;
  std::span<char> dst_;
  uint64_t max_bytes_;
  uint64_t keep_limit_;
  BufferSource take_buffer_;
  bool decided_ = false;
  bool keep_ = false;
  bool too_long_ = false;
  uint64_t seen_ = 0;  // body bytes so far
  size_t written_ = 0;
  uint32_t crc_ = 0;
  std::string data_;
  ErrorBodySnippet error_body_;
};

}  // namespace seaweed::transport::http
