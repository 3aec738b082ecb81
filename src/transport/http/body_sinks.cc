#include "transport/http/body_sinks.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

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
    overflowed_ = !copy_out(bytes);
    return !overflowed_;
  }
  if (head.status == kOk) {  // the server ignored Range: skip to offset, stop once dst is full
    const uint64_t skip = std::min<uint64_t>(offset_ - skipped_, bytes.size());
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
  if (overflowed_) return unusable("206 body longer than the " + std::to_string(dst_.size()) + " bytes asked for");
  if (!outcome.transport_ok) return unusable(outcome.transport_error);
  if (status == kPartialContent || status == kOk) return written_;  // short only at the needle's end
  if (status == kRangeNotSatisfiable) return size_t{0};             // offset at or past the needle's end
  return unusable(http_status_reason(status, error_body_));
}

bool WholeSink::consume(const ResponseHead& head, std::string_view bytes) {
  if (head.status != kOk) return error_body_.consume(bytes);
  if (!reserved_ && head.content_length)
    data_.reserve(static_cast<size_t>(std::min(*head.content_length, kMaxReserveBytes)));
  reserved_ = true;
  data_.append(bytes);
  return true;
}

Result<StoredNeedle> WholeSink::finish(const GetOutcome& outcome) {
  if (!outcome.transport_ok) return unusable(outcome.transport_error);
  if (outcome.head.status != kOk) return unusable(http_status_reason(outcome.head.status, error_body_));
  return StoredNeedle{std::move(data_), outcome.head.gzip_encoded};
}

}  // namespace seaweed::transport::http
