#include "transport/http/http_volume_reader.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <limits>
#include <utility>
#include <vector>

#include "transport/http/body_sinks.h"
#include "transport/http/curl_handle.h"
#include "transport/http/http_get.h"
#include "transport/http/jwt.h"

namespace seaweed::transport {
namespace {

constexpr int64_t kJwtLifetimeSeconds = 60;

std::string fid_of(const NeedleLocator& loc) { return loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text; }

// "host:port" from the master/filer, or a full base URL ("https://host:port") as given.
std::string needle_url(const std::string& server, const std::string& fid) {
  const bool has_scheme = server.find("://") != std::string::npos;
  return (has_scheme ? "" : "http://") + server + "/" + fid + "?readDeleted=true";
}

std::string join(const std::vector<std::string>& urls) {
  std::string joined;
  for (const auto& url : urls) joined += (joined.empty() ? "" : ",") + url;
  return joined.empty() ? "(no urls)" : joined;
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Asks each replica in turn until a fresh sink's finish() accepts the answer; returns that answer, or
// EIO with the last replica's reason.
template <class MakeSink>
auto first_usable_answer(const NeedleLocator& loc, const std::string& fid, const std::vector<std::string>& headers,
                         const HttpOptions& options, std::atomic<uint64_t>& requests, MakeSink make_sink)
    -> decltype(make_sink().finish(http::GetOutcome{})) {
  std::string last_reason = "no volume server urls";
  for (const auto& server : loc.urls) {
    const http::GetRequest request{needle_url(server, fid), headers, options.connect_timeout_ms,
                                   options.request_timeout_ms};
    auto sink = make_sink();
    const auto outcome = http::http_get(
        request, [&sink](const http::ResponseHead& head, std::string_view bytes) { return sink.consume(head, bytes); });
    requests.fetch_add(1, std::memory_order_relaxed);
    auto answer = sink.finish(outcome);
    if (answer.ok()) return answer;
    last_reason = server + ": " + answer.error().message;
    spdlog::debug("read {} from {} failed: {}", fid, server, answer.error().message);
  }
  return make_error(EIO, last_reason);
}

}  // namespace

HttpVolumeReader::HttpVolumeReader(HttpOptions options) : options_(std::move(options)) {
  http::ensure_curl_initialized();
}

Result<std::vector<std::string>> HttpVolumeReader::common_headers(const std::string& fid) const {
  std::vector<std::string> headers;
  if (!options_.jwt_read_key.empty()) {
    auto token = http::mint_read_jwt(options_.jwt_read_key, fid, unix_seconds_now() + kJwtLifetimeSeconds);
    if (!token.ok()) return token.error();
    headers.push_back("Authorization: Bearer " + token.value());
  }
  return headers;
}

Result<size_t> HttpVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  const std::string fid = fid_of(loc);
  const auto context =
      "read " + fid + " [" + std::to_string(offset) + ",+" + std::to_string(dst.size()) + ") from " + join(loc.urls);
  if (dst.empty()) return size_t{0};
  if (offset > std::numeric_limits<uint64_t>::max() - dst.size()) {
    return make_error(EINVAL, "range end overflows 64 bits").context(context);
  }
  auto headers = common_headers(fid);
  if (!headers.ok()) return headers.error().context(context);
  headers->push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + dst.size() - 1));

  auto written =
      first_usable_answer(loc, fid, headers.value(), options_, requests_, [&] { return http::RangeSink(offset, dst); });
  if (!written.ok()) return written.error().context(context);
  bytes_read_.fetch_add(written.value(), std::memory_order_relaxed);
  return written.value();
}

Result<StoredNeedle> HttpVolumeReader::read_whole(const NeedleLocator& loc) {
  const std::string fid = fid_of(loc);
  const auto context = "read " + fid + " whole from " + join(loc.urls);
  auto headers = common_headers(fid);
  if (!headers.ok()) return headers.error().context(context);
  headers->push_back("Accept-Encoding: gzip");

  auto needle = first_usable_answer(loc, fid, headers.value(), options_, requests_, [] { return http::WholeSink(); });
  if (!needle.ok()) return needle.error().context(context);
  bytes_read_.fetch_add(needle->data.size(), std::memory_order_relaxed);
  return std::move(needle).value();
}

}  // namespace seaweed::transport
