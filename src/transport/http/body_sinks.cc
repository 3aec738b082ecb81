#include "transport/http/body_sinks.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "volume/crc32c.h"

namespace seaweed::transport::http {
namespace {

constexpr size_t kSnippetBytes = 200;
constexpr uint64_t kMaxErrorBodyBytes = 64 * 1024;
// A hostile Content-Length must not make us allocate up front; larger bodies still grow as they arrive.
constexpr uint64_t kMaxReserveBytes = 256ull << 20;

constexpr long kOk = 200;
constexpr long kPartialContent = 206;
constexpr long kRangeNotSatisfiable = 416;

Error unusable(std::string reason) { return make_error(EIO, std::move(reason)); }

std::string hex32(uint32_t v) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", v);
  return text;
}

Error too_long(uint64_t max_bytes) {
  return make_error(EBADMSG, "body longer than the " + std::to_string(max_bytes) + " bytes the chunk can hold");
}

// Copies the part of bytes (body offset `at`) that falls in [offset, offset + dst.size()) into dst;
// returns the end of what dst holds now, relative to offset.
size_t copy_window(std::string_view bytes, uint64_t at, uint64_t offset, std::span<char> dst, size_t written) {
  const uint64_t lo = std::max(at, offset);
  const uint64_t hi = std::min<uint64_t>(at + bytes.size(), offset + dst.size());
  if (lo >= hi) return written;
  std::memcpy(dst.data() + (lo - offset), bytes.data() + (lo - at), static_cast<size_t>(hi - lo));
  return std::max(written, static_cast<size_t>(hi - offset));
}

uint32_t crc_update(uint32_t crc, std::string_view bytes) { return codec::crc32c(bytes, crc); }

}  // namespace

bool ErrorBodySnippet::consume(std::string_view bytes) {
  for (char c : bytes.substr(0, std::min(bytes.size(), kSnippetBytes - std::min(text_.size(), kSnippetBytes)))) {
    const bool printable = static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    text_ += printable ? c : ' ';
  }
  discarded_bytes_ += bytes.size();
  return discarded_bytes_ <= kMaxErrorBodyBytes;
}

std::string http_status_reason(long status, const ErrorBodySnippet& body) {
  std::string reason = "HTTP " + std::to_string(status);
  const auto& text = body.text();
  const auto first = text.find_first_not_of(' ');
  if (first != std::string::npos) reason += ": " + text.substr(first, text.find_last_not_of(' ') - first + 1);
  return reason;
}

Error http_status_error(long status, const ErrorBodySnippet& body) {
  const int code = status == 404 ? ENOENT : (status == 401 || status == 403) ? EPERM : EIO;
  return make_error(code, http_status_reason(status, body));
}

Error transport_failure(const GetOutcome& outcome) {
  return make_error(outcome.transport_errno != 0 ? outcome.transport_errno : EIO, outcome.transport_error);
}

Status verify_body_crc(const std::optional<uint32_t>& etag_crc, uint32_t body_crc) {
  if (!etag_crc) return make_error(EBADMSG, "no ETag (the needle's CRC-32C) to verify the body against");
  if (!volume::crc_matches(*etag_crc, body_crc))
    return make_error(EBADMSG, "CRC-32C mismatch: body " + hex32(body_crc) + ", ETag " + hex32(*etag_crc));
  return {};
}

bool RangeSink::copy_out(std::string_view bytes) {
  if (bytes.size() > dst_.size() - written_) return false;
  std::memcpy(dst_.data() + written_, bytes.data(), bytes.size());
  written_ += bytes.size();
  return true;
}

bool RangeSink::consume(const ResponseHead& head, std::string_view bytes) {
  if (head.status == kPartialContent) {
    if (!head.range_start || *head.range_start != offset_) {
      range_mismatch_ = true;
      return false;
    }
    if (expected_crc_ && head.etag_crc != expected_crc_) {
      etag_changed_ = true;
      return false;
    }
    overflowed_ = !copy_out(bytes);
    return !overflowed_;
  }
  if (head.status == kOk) {  // the server ignored Range
    if (verify_) {           // read it all: only the whole body can be checked
      crc_ = crc_update(crc_, bytes);
      written_ = copy_window(bytes, skipped_, offset_, dst_, written_);
      skipped_ += bytes.size();
      return true;
    }
    // skip to offset, stop once dst is full
    const uint64_t skip = std::min<uint64_t>(offset_ - std::min(offset_, skipped_), bytes.size());
    skipped_ += skip;
    bytes.remove_prefix(static_cast<size_t>(skip));
    const size_t take = std::min(bytes.size(), dst_.size() - written_);
    copy_out(bytes.substr(0, take));
    dst_filled_ = take < bytes.size();
    return !dst_filled_;
  }
  return error_body_.consume(bytes);
}

Result<size_t> RangeSink::finish(const GetOutcome& outcome) const {
  const long status = outcome.head.status;
  if (status == kOk && dst_filled_) return written_;
  if (range_mismatch_) {
    const auto& start = outcome.head.range_start;
    return unusable("206 Content-Range starts at " + (start ? std::to_string(*start) : std::string("(missing)")) +
                    ", asked for " + std::to_string(offset_));
  }
  const bool etag_changed = etag_changed_ || (status == kPartialContent && expected_crc_ &&
                                              outcome.head.etag_crc != expected_crc_ && outcome.transport_ok);
  if (etag_changed) {
    const auto& etag = outcome.head.etag_crc;
    return make_error(kVersionChanged, "206 ETag " + (etag ? hex32(*etag) : std::string("(missing)")) +
                                           " is not the verified version " + hex32(*expected_crc_));
  }
  if (overflowed_) return unusable("206 body longer than the " + std::to_string(dst_.size()) + " bytes asked for");
  if (!outcome.transport_ok) return transport_failure(outcome);
  if (status == kPartialContent) return written_;  // short only at the needle's end
  if (status == kOk) {
    if (verify_) {
      if (auto s = verify_body_crc(outcome.head.etag_crc, crc_); !s) return s.error();
    }
    return written_;
  }
  if (status == kRangeNotSatisfiable) return size_t{0};  // offset at or past the needle's end
  return http_status_error(status, error_body_);
}

bool WholeSink::consume(const ResponseHead& head, std::string_view bytes) {
  if (head.status != kOk) return error_body_.consume(bytes);
  if (!reserved_) {
    reserved_ = true;
    if (max_bytes_ != 0 && head.content_length && *head.content_length > max_bytes_) {
      too_long_ = true;
      return false;
    }
    if (head.content_length) data_.reserve(static_cast<size_t>(std::min(*head.content_length, kMaxReserveBytes)));
  }
  if (max_bytes_ != 0 && data_.size() + bytes.size() > max_bytes_) {
    too_long_ = true;
    return false;
  }
  data_.append(bytes);
  if (verify_) crc_ = crc_update(crc_, bytes);
  return true;
}

Result<StoredNeedle> WholeSink::finish(const GetOutcome& outcome) {
  if (too_long_) return too_long(max_bytes_);
  if (!outcome.transport_ok) return transport_failure(outcome);
  if (outcome.head.status != kOk) return http_status_error(outcome.head.status, error_body_);
  if (verify_) {
    if (auto s = verify_body_crc(outcome.head.etag_crc, crc_); !s) return s.error();
  }
  return StoredNeedle{std::move(data_), outcome.head.gzip_encoded};
}

void FirstTouchSink::decide(const ResponseHead& head) {
  decided_ = true;
  const auto& length = head.content_length;
  if (max_bytes_ != 0 && length && *length > max_bytes_) {
    too_long_ = true;
    return;
  }
  const bool covers = !head.gzip_encoded && offset_ == 0 && length && *length <= dst_.size();
  keep_ = head.gzip_encoded || (!covers && length && *length <= keep_limit_);
  if (keep_ && length) {
    const auto size = static_cast<size_t>(std::min(*length, kMaxReserveBytes));
    if (take_buffer_)
      data_ = take_buffer_(size);
    else
      data_.reserve(size);
  }
}

bool FirstTouchSink::consume(const ResponseHead& head, std::string_view bytes) {
  if (head.status != kOk) return error_body_.consume(bytes);
  if (!decided_) decide(head);
  if (too_long_ || (max_bytes_ != 0 && seen_ + bytes.size() > max_bytes_)) {
    too_long_ = true;
    return false;
  }
  crc_ = crc_update(crc_, bytes);
  if (keep_)
    data_.append(bytes);
  else
    written_ = copy_window(bytes, seen_, offset_, dst_, written_);
  seen_ += bytes.size();
  return true;
}

Result<FirstTouchSink::Verified> FirstTouchSink::finish(const GetOutcome& outcome) {
  if (too_long_) return too_long(max_bytes_);
  if (!outcome.transport_ok) return transport_failure(outcome);
  if (outcome.head.status != kOk) return http_status_error(outcome.head.status, error_body_);
  if (auto s = verify_body_crc(outcome.head.etag_crc, crc_); !s) return s.error();
  Verified v;
  v.crc = crc_;
  v.kept = keep_;
  v.data = StoredNeedle{std::move(data_), outcome.head.gzip_encoded};
  v.written = written_;
  return v;
}

}  // namespace seaweed::transport::http
