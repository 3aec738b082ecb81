#include "transport/http/http_volume_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "codec/codec.h"
#include "transport/http/body_sinks.h"
#include "transport/http/curl_handle.h"
#include "transport/http/http_get.h"
#include "transport/http/jwt.h"
#include "transport/replica_order.h"

namespace seaweed::transport {
namespace {

// Bodies of needles whose size nobody told us (manifests) are still bounded.
constexpr uint64_t kUnknownSizeCap = uint64_t{1} << 30;
// A reader that waited for another's fetch of the same needle looks again this often before it
// fetches alone.
constexpr int kWaitRounds = 2;

std::string fid_of(const NeedleLocator& loc) { return loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text; }

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One reason per replica tried; the error names them all, so one log line tells the whole story.
class ReplicaFailures {
 public:
  void add(const std::string& server, const Error& e) {
    reasons_ += (reasons_.empty() ? "" : "; ") + server + ": " + e.message;
    code_ = count_++ == 0 || code_ == e.code ? e.code : EIO;
  }
  [[nodiscard]] Error error() const {
    if (count_ == 0) return make_error(EIO, "no volume server urls");
    return make_error(code_, (count_ == 1 ? "" : "no good replica: ") + reasons_);
  }

 private:
  std::string reasons_;
  int count_ = 0;
  int code_ = EIO;
};

size_t slice(const std::string& bytes, uint64_t offset, std::span<char> dst) {
  if (offset >= bytes.size()) return 0;
  const size_t n = std::min<size_t>(dst.size(), bytes.size() - offset);
  std::memcpy(dst.data(), bytes.data() + offset, n);
  return n;
}

std::vector<std::string> with(std::vector<std::string> headers, std::string line) {
  headers.push_back(std::move(line));
  return headers;
}

// One GET of url with the body going to sink; counts the request.
template <class Sink>
http::GetOutcome get(const std::string& url, std::vector<std::string> headers, const ReplicaTimeouts& t,
                     std::atomic<uint64_t>& requests, Sink& sink) {
  http::GetRequest request{url, std::move(headers), t.connect_ms, t.request_ms};
  request.stall_timeout_ms = t.stall_ms;
  auto outcome = http::http_get(
      request, [&sink](const http::ResponseHead& head, std::string_view bytes) { return sink.consume(head, bytes); });
  requests.fetch_add(1, std::memory_order_relaxed);
  return outcome;
}

}  // namespace

HttpVolumeReader::HttpVolumeReader(HttpOptions options)
    : options_(std::move(options)),
      servers_("volume server", {options_.initial_backoff, options_.max_backoff}),
      versions_(options_.verified_versions),
      needles_(options_.needle_cache_bytes),
      verify_fetches_total_(Metrics::global().counter(
          "seaweed_mount_http_verify_fetches_total",
          "Whole-needle HTTP GETs made to verify the first ranged read of a needle on a volume server")),
      corrupt_total_(Metrics::global().counter("seaweed_mount_corrupt_replicas_total",
                                               "Replica answers refused because their bytes failed the CRC check",
                                               "transport=\"http\"")) {
  http::ensure_curl_initialized();
}

std::string HttpVolumeReader::needle_url(const std::string& server, const std::string& fid, bool allow_deleted) const {
  // "host:port" from the master/filer, or a full base URL ("https://host:port") as given.
  const bool has_scheme = server.find("://") != std::string::npos;
  if (options_.filer_proxy)  // -volumeServerAccess=filerProxy: server is a filer
    return (has_scheme ? "" : "http://") + server + "/?proxyChunkId=" + fid +
           (allow_deleted ? "&readDeleted=true" : "");
  return (has_scheme ? "" : "http://") + server + "/" + fid + (allow_deleted ? "?readDeleted=true" : "");
}

Result<std::vector<std::string>> HttpVolumeReader::common_headers(const std::string& fid) const {
  std::vector<std::string> headers;
  if (!options_.jwt_read_key.empty()) {
    auto token = http::mint_read_jwt(options_.jwt_read_key, fid, unix_seconds_now() + options_.jwt_read_expires_sec);
    if (!token.ok()) return token.error();
    headers.push_back("Authorization: Bearer " + token.value());
  } else if (options_.read_tokens) {
    auto token = options_.read_tokens(fid);
    if (!token.ok()) return token.error().context("read token for " + fid);
    headers.push_back("Authorization: Bearer " + token.value());
  }
  return headers;
}

std::vector<size_t> HttpVolumeReader::replica_order(const NeedleLocator& loc) {
  const size_t n = loc.urls.size();
  const size_t start = first_replica(loc.fid.key, n);
  std::vector<size_t> order;
  order.reserve(n);
  if (!servers_.any_record()) {  // the common case: nobody failed lately
    for (size_t i = 0; i < n; ++i) order.push_back((start + i) % n);
    return order;
  }
  std::vector<size_t> backing_off;
  for (size_t i = 0; i < n; ++i) {
    const size_t at = (start + i) % n;
    (servers_.down(loc.urls[at]) ? backing_off : order).push_back(at);
  }
  order.insert(order.end(), backing_off.begin(), backing_off.end());
  return order;
}

ReplicaTimeouts HttpVolumeReader::timeouts(bool last_replica) const {
  if (last_replica) return {options_.connect_timeout_ms, options_.request_timeout_ms, 0};
  return {std::min(options_.connect_timeout_ms, options_.failover_timeout_ms), options_.request_timeout_ms,
          options_.failover_timeout_ms};
}

void HttpVolumeReader::note_attempt(const std::string& server, const Error* error) {
  // A server that does not answer (partition, dead host) or refuses (process gone) backs off; one
  // that answered (also a 404, 5xx or corrupt copy) is reachable. mark_up takes no lock unless
  // some server failed lately.
  if (error != nullptr && (error->code == ETIMEDOUT || error->code == ECONNREFUSED)) {
    servers_.mark_down(server, *error);
  } else {
    servers_.mark_up(server);
  }
}

void HttpVolumeReader::note_failure(const Error& e) {
  if (e.code != EBADMSG) return;
  corrupt_.fetch_add(1, std::memory_order_relaxed);
  corrupt_total_.add();
}

Result<size_t> HttpVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  const std::string fid = fid_of(loc);
  const auto context = "read " + fid + " [" + std::to_string(offset) + ",+" + std::to_string(dst.size()) + ")";
  if (dst.empty()) return size_t{0};
  if (offset > std::numeric_limits<uint64_t>::max() - dst.size()) {
    return make_error(EINVAL, "range end overflows 64 bits").context(context);
  }
  if (!options_.verify) {
    auto r = unverified_range(loc, fid, offset, dst);
    if (!r.ok()) return r.error().context(context);
    return r;
  }
  if (auto bytes = needles_.find(fid)) {
    const size_t n = slice(*bytes, offset, dst);
    bytes_read_.fetch_add(n, std::memory_order_relaxed);
    return n;
  }
  auto headers = common_headers(fid);
  if (!headers.ok()) return headers.error().context(context);
  ReplicaFailures failures;
  const auto order = replica_order(loc);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& server = loc.urls[order[i]];
    const ReplicaTimeouts t = timeouts(i + 1 == order.size());
    auto r = range_from(server, loc, fid, *headers, offset, dst, t);
    note_attempt(server, r.ok() ? nullptr : &r.error());
    if (r.ok()) {
      bytes_read_.fetch_add(*r, std::memory_order_relaxed);
      return r;
    }
    spdlog::debug("read {} from {} failed: {}", fid, server, r.error().message);
    note_failure(r.error());
    failures.add(server, r.error());
  }
  return failures.error().context(context);
}

Result<size_t> HttpVolumeReader::range_from(const std::string& server, const NeedleLocator& loc, const std::string& fid,
                                            const std::vector<std::string>& headers, uint64_t offset,
                                            std::span<char> dst, const ReplicaTimeouts& t) {
  for (int round = 0;; ++round) {
    if (auto crc = versions_.get(server, fid)) {
      // A version of this needle on this server was verified whole: a 206 with its ETag is it.
      http::RangeSink sink(offset, dst, /*verify=*/true, crc);
      const auto outcome =
          get(needle_url(server, fid, loc.allow_deleted),
              with(headers, "Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + dst.size() - 1)),
              t, requests_, sink);
      auto r = sink.finish(outcome);
      if (r.ok() || r.error().code != http::kVersionChanged) return r;
      spdlog::debug("read {} from {}: {}; verifying the new version", fid, server, r.error().message);
      versions_.erase(server, fid);
    }
    auto acquired = needles_.acquire(fid);
    if (acquired.bytes) return slice(*acquired.bytes, offset, dst);
    if (acquired.lease.held() || round >= kWaitRounds)
      return first_touch(server, loc, fid, headers, offset, dst, std::move(acquired.lease), t);
    // Another reader's fetch of this needle kept nothing to share (it read the needle whole, or
    // failed): it may have left a verified version to range against; look again.
  }
}

Result<size_t> HttpVolumeReader::first_touch(const std::string& server, const NeedleLocator& loc,
                                             const std::string& fid, const std::vector<std::string>& headers,
                                             uint64_t offset, std::span<char> dst, http::NeedleCache::Lease lease,
                                             const ReplicaTimeouts& t) {
  verify_fetches_.fetch_add(1, std::memory_order_relaxed);
  verify_fetches_total_.add();
  const uint64_t max_bytes = loc.max_stored_size != 0 ? loc.max_stored_size : kUnknownSizeCap;
  http::FirstTouchSink sink(offset, dst, max_bytes, needles_.max_entry_bytes(),
                            [this](size_t n) { return needles_.take_buffer(n); });
  const auto outcome =
      get(needle_url(server, fid, loc.allow_deleted), with(headers, "Accept-Encoding: gzip"), t, requests_, sink);
  auto verified = sink.finish(outcome);
  if (!verified.ok()) return verified.error();
  versions_.put(server, fid, verified->crc);
  if (!verified->kept) return verified->written;

  std::string clear = std::move(verified->data.data);
  if (verified->data.gzipped) {
    const uint64_t cap = loc.clear_size != 0 ? loc.clear_size : codec::kDefaultGunzipLimit;
    auto inflated = codec::gunzip(clear, static_cast<size_t>(cap));
    if (!inflated.ok()) return inflated.error().context("gunzip the verified needle");
    clear = std::move(inflated.value());
  }
  auto bytes = needles_.share(std::move(clear));
  lease.publish(bytes);
  return slice(*bytes, offset, dst);
}

Result<size_t> HttpVolumeReader::unverified_range(const NeedleLocator& loc, const std::string& fid, uint64_t offset,
                                                  std::span<char> dst) {
  auto headers = common_headers(fid);
  if (!headers.ok()) return headers.error();
  headers->push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + dst.size() - 1));
  ReplicaFailures failures;
  const auto order = replica_order(loc);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& server = loc.urls[order[i]];
    const ReplicaTimeouts t = timeouts(i + 1 == order.size());
    http::RangeSink sink(offset, dst);
    auto r = sink.finish(get(needle_url(server, fid, loc.allow_deleted), *headers, t, requests_, sink));
    note_attempt(server, r.ok() ? nullptr : &r.error());
    if (r.ok()) {
      bytes_read_.fetch_add(*r, std::memory_order_relaxed);
      return r;
    }
    failures.add(server, r.error());
  }
  return failures.error();
}

Result<StoredNeedle> HttpVolumeReader::read_whole(const NeedleLocator& loc) {
  const std::string fid = fid_of(loc);
  const auto context = "read " + fid + " whole";
  auto headers = common_headers(fid);
  if (!headers.ok()) return headers.error().context(context);
  headers->push_back("Accept-Encoding: gzip");
  const uint64_t max_bytes = loc.max_stored_size != 0 ? loc.max_stored_size : kUnknownSizeCap;
  ReplicaFailures failures;
  const auto order = replica_order(loc);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& server = loc.urls[order[i]];
    const ReplicaTimeouts t = timeouts(i + 1 == order.size());
    http::WholeSink sink(options_.verify, max_bytes);
    auto r = sink.finish(get(needle_url(server, fid, loc.allow_deleted), *headers, t, requests_, sink));
    note_attempt(server, r.ok() ? nullptr : &r.error());
    if (r.ok()) {
      bytes_read_.fetch_add(r->data.size(), std::memory_order_relaxed);
      return r;
    }
    spdlog::debug("read {} whole from {} failed: {}", fid, server, r.error().message);
    note_failure(r.error());
    failures.add(server, r.error());
  }
  return failures.error().context(context);
}

}  // namespace seaweed::transport
