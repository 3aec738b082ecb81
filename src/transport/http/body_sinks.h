// Where response bodies go: into the caller's span for range reads, into a string for whole reads.
// Each sink also judges whether one replica's answer is usable.
#pragma once

#include <cstdint>
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

// read_range: copies clear bytes [offset, offset + dst.size()) into dst, refusing to overflow it.
class RangeSink {
 public:
  RangeSink(uint64_t offset, std::span<char> dst) : offset_(offset), dst_(dst) {}

  bool consume(const ResponseHead& head, std::string_view bytes);

  // Bytes written into dst, or (EIO) why this replica's answer is unusable.
  [[nodiscard]] Result<size_t> finish(const GetOutcome& outcome) const;

 private:
  bool copy_out(std::string_view bytes);  // false when bytes do not fit

  uint64_t offset_;
  std::span<char> dst_;
  size_t written_ = 0;
  uint64_t skipped_ = 0;         // 200 responses: body bytes before offset
  bool dst_filled_ = false;      // 200 responses: stopped on purpose once dst was full
  bool overflowed_ = false;      // 206 with more bytes than asked for
  bool range_mismatch_ = false;  // 206 whose Content-Range does not start at offset
  ErrorBodySnippet error_body_;
};

// read_whole: collects a 200 body as stored, remembering Content-Encoding: gzip.
class WholeSink {
 public:
  bool consume(const ResponseHead& head, std::string_view bytes);

  // The needle, or (EIO) why this replica's answer is unusable. Moves the data out.
  [[nodiscard]] Result<StoredNeedle> finish(const GetOutcome& outcome);

 private:
  std::string data_;
  bool reserved_ = false;
  ErrorBodySnippet error_body_;
};

}  // namespace seaweed::transport::http
