#include "transport/http/http_volume_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "canned_http_server.h"
#include "codec/codec.h"
#include "transport/http/jwt.h"
#include "transport/replica_order.h"
#include "volume/crc32c.h"

namespace seaweed::transport {
namespace {

using testing::CannedHttpServer;
using testing::http_response;
using testing::RecordedRequest;
using testing::refused_address;

constexpr const char* kFid = "3,01637037d6";
constexpr const char* kTarget = "/3,01637037d6";

// The needle every canned server holds: 1000 distinct-ish bytes.
const std::string kNeedle = [] {
  std::string bytes(1000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + (i * 7) % 26);
  return bytes;
}();

std::string etag_of(std::string_view stored) {
  char text[16];
  std::snprintf(text, sizeof text, "\"%08x\"", codec::crc32c(stored));
  return text;
}

// Answers like a volume server: the ETag is the CRC of the stored bytes; a Range applies to the
// clear bytes (a gzip needle is inflated for it); Accept-Encoding: gzip gets a gzip needle as
// stored. `served` may differ from the stored bytes (a corrupt disk: the CRC in the needle header
// still describes the original).
struct VolumeServerSim {
  std::string clear = kNeedle;
  bool gzip_stored = false;
  std::string served_override;  // non-empty: the bytes a whole read returns instead of the stored ones
  bool send_etag = true;
  std::string etag_override;
  std::chrono::milliseconds delay{0};

  std::string stored() const { return gzip_stored ? codec::gzip(clear).value() : clear; }
  std::vector<std::pair<std::string, std::string>> headers() const {
    if (!send_etag) return {};
    return {{"ETag", etag_override.empty() ? etag_of(stored()) : etag_override}};
  }

  std::optional<std::string> operator()(const RecordedRequest& request) const {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    auto h = headers();
    const std::string range = request.header("range");
    uint64_t first = 0, last = 0;
    if (std::sscanf(range.c_str(), "bytes=%lu-%lu", &first, &last) == 2) {
      const std::string& bytes = served_override.empty() ? clear : served_override;
      if (first >= bytes.size())
        return http_response(416, "", {{"Content-Range", "bytes */" + std::to_string(bytes.size())}});
      last = std::min<uint64_t>(last, bytes.size() - 1);
      h.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                          std::to_string(bytes.size()));
      return http_response(206, std::string_view(bytes).substr(first, last - first + 1), h);
    }
    if (gzip_stored && request.header("accept-encoding").find("gzip") != std::string::npos) {
      h.emplace_back("Content-Encoding", "gzip");
      return http_response(200, served_override.empty() ? stored() : served_override, h);
    }
    return http_response(200, served_override.empty() ? clear : served_override, h);
  }
};

CannedHttpServer serve(const VolumeServerSim& sim) {
  return CannedHttpServer([&sim](const RecordedRequest& r) { return sim(r); });
}

// `order`: the replicas in the order the reader tries them (placed so that first_replica() of the
// needle's key lands on the first).
NeedleLocator locator(std::vector<std::string> order) {
  auto fid = FileId::parse(kFid);
  EXPECT_TRUE(fid.ok());
  std::vector<std::string> urls(order.size());
  const size_t start = first_replica(fid->key, order.size());
  for (size_t i = 0; i < order.size(); ++i) urls[(start + i) % order.size()] = order[i];
  return NeedleLocator{fid.value(), kFid, std::move(urls)};
}

HttpOptions fast_options() {
  HttpOptions options;
  options.connect_timeout_ms = 1000;
  options.request_timeout_ms = 2000;
  return options;
}

// Keeps no verified needles, so every read after the first is a ranged GET.
HttpOptions ranged_options() {
  HttpOptions options = fast_options();
  options.needle_cache_bytes = 0;
  return options;
}

std::string read_range_or_fail(HttpVolumeReader& reader, const NeedleLocator& loc, uint64_t offset, size_t size) {
  std::string buffer(size, '\0');
  auto written = reader.read_range(loc, offset, buffer);
  EXPECT_TRUE(written.ok()) << written.error().message;
  buffer.resize(written.ok() ? written.value() : 0);
  return buffer;
}

Error read_range_error(HttpVolumeReader& reader, const NeedleLocator& loc, uint64_t offset, size_t size) {
  std::string buffer(size, '\0');
  auto written = reader.read_range(loc, offset, buffer);
  EXPECT_FALSE(written.ok());
  return written.ok() ? Error{} : written.error();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string base64url_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string bytes;
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    bits = bits << 6 | static_cast<uint32_t>(kAlphabet.find(c));
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      bytes.push_back(static_cast<char>((bits >> bit_count) & 0xff));
    }
  }
  return bytes;
}

// ---- verification: the first read of a needle, then ranges

TEST(HttpVolumeReader, FirstRangeReadFetchesTheNeedleWholeAndVerifiesIt) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 10, 20), kNeedle.substr(10, 20));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, kTarget);
  EXPECT_EQ(requests[0].header("range"), "");
  EXPECT_EQ(requests[0].header("accept-encoding"), "gzip");
  EXPECT_EQ(requests[0].header("authorization"), "");
  EXPECT_EQ(reader.verify_fetches(), 1u);
  EXPECT_EQ(reader.bytes_read(), 20u);
}

TEST(HttpVolumeReader, VerifiedNeedleServesLaterRangesWithoutRequests) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 10, 20), kNeedle.substr(10, 20));
  EXPECT_EQ(read_range_or_fail(reader, loc, 500, 100), kNeedle.substr(500, 100));
  EXPECT_EQ(read_range_or_fail(reader, loc, 990, 100), kNeedle.substr(990));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpVolumeReader, AfterVerificationRangesAreRequestedAndTheirEtagChecked) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 10, 20), kNeedle.substr(10, 20));
  EXPECT_EQ(read_range_or_fail(reader, loc, 500, 20), kNeedle.substr(500, 20));
  EXPECT_EQ(read_range_or_fail(reader, loc, 990, 100), kNeedle.substr(990));
  EXPECT_EQ(read_range_or_fail(reader, loc, 1000, 10), "");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[1].header("range"), "bytes=500-519");
  EXPECT_EQ(requests[1].header("accept-encoding"), "");
  EXPECT_EQ(reader.verify_fetches(), 1u);
}

TEST(HttpVolumeReader, ANewEtagIsANewVersionVerifiedAgain) {
  VolumeServerSim sim;
  std::mutex mu;
  CannedHttpServer server([&](const RecordedRequest& r) {
    std::lock_guard lock(mu);
    return sim(r);
  });
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 8), kNeedle.substr(0, 8));
  {
    std::lock_guard lock(mu);
    sim.clear = std::string(1000, 'z');
  }
  EXPECT_EQ(read_range_or_fail(reader, loc, 100, 8), "zzzzzzzz");
  EXPECT_EQ(reader.verify_fetches(), 2u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);  // whole, range (refused: other ETag), whole
  EXPECT_EQ(requests[1].header("range"), "bytes=100-107");
  EXPECT_EQ(requests[2].header("range"), "");
}

TEST(HttpVolumeReader, ARangeWithoutItsEtagIsNotTrusted) {
  VolumeServerSim sim;
  std::mutex mu;
  CannedHttpServer server([&](const RecordedRequest& r) {
    std::lock_guard lock(mu);
    return sim(r);
  });
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 8), kNeedle.substr(0, 8));
  {
    std::lock_guard lock(mu);
    sim.send_etag = false;
  }
  const Error e = read_range_error(reader, loc, 100, 8);
  EXPECT_EQ(e.code, EBADMSG) << e.message;  // re-verification: no ETag to check the body against
}

TEST(HttpVolumeReader, CorruptReplicaIsRefusedAndTheNextOneServes) {
  VolumeServerSim bad;
  bad.served_override = kNeedle;
  bad.served_override[501] ^= 0x01;
  VolumeServerSim good;
  auto corrupt = serve(bad);
  auto healthy = serve(good);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({corrupt.address(), healthy.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 500, 4), kNeedle.substr(500, 4));
  EXPECT_EQ(reader.corrupt_replicas(), 1u);

  auto whole = reader.read_whole(loc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, kNeedle);
  EXPECT_EQ(reader.corrupt_replicas(), 2u);
}

TEST(HttpVolumeReader, StartsAtTheNeedlesFirstReplica) {
  VolumeServerSim sim;
  auto a = serve(sim);
  auto b = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto fid = FileId::parse(kFid);
  ASSERT_TRUE(fid.ok());
  const NeedleLocator loc{fid.value(), kFid, {a.address(), b.address()}};  // as the filer lists them
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 16), kNeedle.substr(0, 16));
  ASSERT_TRUE(reader.read_whole(loc).ok());
  const bool b_first = first_replica(fid->key, 2) == 1;
  EXPECT_EQ((b_first ? a : b).requests().size(), 0u);
  EXPECT_EQ((b_first ? b : a).requests().size(), 2u);
}

TEST(HttpVolumeReader, NoGoodReplicaIsEbadmsgNamingEachReplica) {
  VolumeServerSim bad;
  bad.served_override = kNeedle;
  bad.served_override[0] ^= 0x80;
  VolumeServerSim truncated;
  truncated.served_override = kNeedle.substr(0, 600);
  auto a = serve(bad);
  auto b = serve(truncated);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({a.address(), b.address()});
  for (const Error& e : {read_range_error(reader, loc, 0, 4096), reader.read_whole(loc).error()}) {
    EXPECT_EQ(e.code, EBADMSG) << e.message;
    EXPECT_TRUE(contains(e.message, "no good replica: " + a.address() + ": CRC-32C mismatch")) << e.message;
    EXPECT_TRUE(contains(e.message, "; " + b.address() + ": CRC-32C mismatch")) << e.message;
  }
}

TEST(HttpVolumeReader, MissingEtagIsRefused) {
  VolumeServerSim sim;
  sim.send_etag = false;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  const Error e = read_range_error(reader, loc, 0, 10);
  EXPECT_EQ(e.code, EBADMSG);
  EXPECT_TRUE(contains(e.message, "no ETag")) << e.message;
  EXPECT_EQ(reader.read_whole(loc).error().code, EBADMSG);
}

TEST(HttpVolumeReader, LegacyTransformedEtagIsAccepted) {
  VolumeServerSim sim;
  char etag[16];
  std::snprintf(etag, sizeof etag, "\"%08x\"", volume::legacy_crc_value(codec::crc32c(kNeedle)));
  sim.etag_override = etag;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 3, 3), kNeedle.substr(3, 3));
  EXPECT_TRUE(reader.read_whole(locator({server.address()})).ok());
}

TEST(HttpVolumeReader, GzipStoredNeedleIsVerifiedAsStoredAndSlicedClear) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + "\n";
  VolumeServerSim sim;
  sim.clear = text;
  sim.gzip_stored = true;
  auto server = serve(sim);
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 100, 50), text.substr(100, 50));    // whole, inflated
  EXPECT_EQ(read_range_or_fail(reader, loc, 5000, 50), text.substr(5000, 50));  // 206 of clear bytes
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].header("range"), "bytes=5000-5049");

  auto whole = reader.read_whole(loc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_TRUE(whole->gzipped);
  EXPECT_EQ(codec::gunzip(whole->data).value(), text);
}

TEST(HttpVolumeReader, GzipNeedleIsNotInflatedPastTheChunkSize) {
  VolumeServerSim sim;
  sim.clear = std::string(1 << 20, 'x');
  sim.gzip_stored = true;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto loc = locator({server.address()});
  loc.clear_size = 4096;  // the filer says the chunk is 4 KiB: a needle inflating to 1 MiB is refused
  const Error e = read_range_error(reader, loc, 0, 100);
  EXPECT_TRUE(contains(e.message, "4096-byte limit")) << e.message;
}

TEST(HttpVolumeReader, ReadCoveringTheWholeNeedleKeepsNothing) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 4096), kNeedle);
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 1000), kNeedle);  // the verified version: a 206 is trusted
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].header("range"), "bytes=0-999");
}

TEST(HttpVolumeReader, BodyLargerThanTheChunkCanBeIsRefused) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto loc = locator({server.address()});
  loc.max_stored_size = 999;
  EXPECT_EQ(read_range_error(reader, loc, 0, 10).code, EBADMSG);
  EXPECT_EQ(reader.read_whole(loc).error().code, EBADMSG);
  loc.max_stored_size = 1000;
  EXPECT_TRUE(reader.read_whole(loc).ok());
}

TEST(HttpVolumeReader, ConcurrentFirstReadsOfOneNeedleFetchItOnce) {
  VolumeServerSim sim;
  sim.delay = std::chrono::milliseconds(100);
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t offset = static_cast<uint64_t>(t) * 150;
      std::string buffer(100, '\0');
      auto written = reader.read_range(loc, offset, buffer);
      if (!written.ok() || buffer.substr(0, *written) != kNeedle.substr(offset, 100)) ++mismatches;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpVolumeReader, ReadDeletedOnlyWhenAllowed) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto loc = locator({server.address()});
  ASSERT_TRUE(reader.read_whole(loc).ok());
  loc.allow_deleted = true;
  ASSERT_TRUE(reader.read_whole(loc).ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, kTarget);
  EXPECT_EQ(requests[1].target, std::string(kTarget) + "?readDeleted=true");
}

TEST(HttpVolumeReader, VerificationOffSendsRangesAndTrustsThem) {
  VolumeServerSim sim;
  sim.send_etag = false;
  sim.served_override = std::string(1000, '?');
  auto server = serve(sim);
  HttpOptions options = fast_options();
  options.verify = false;
  HttpVolumeReader reader(options);
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 10, 5), "?????");
  ASSERT_TRUE(reader.read_whole(loc).ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("range"), "bytes=10-14");
  EXPECT_EQ(reader.verify_fetches(), 0u);
}

// ---- plain transport behaviour

TEST(HttpVolumeReader, RangePastNeedleEndReadsZeroBytes) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(ranged_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 1000, 10), "");
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 5000, 10), "");
}

TEST(HttpVolumeReader, EmptyRangeSendsNoRequest) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto written = reader.read_range(locator({server.address()}), 0, {});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written.value(), 0u);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpVolumeReader, Full200ToARangeIsReadWholeAndVerified) {
  VolumeServerSim sim;
  CannedHttpServer server([&](const RecordedRequest&) { return http_response(200, kNeedle, sim.headers()); });
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 100, 50), kNeedle.substr(100, 50));
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 1000), kNeedle);
  EXPECT_EQ(read_range_or_fail(reader, loc, 900, 500), kNeedle.substr(900));
  EXPECT_EQ(read_range_or_fail(reader, loc, 2000, 10), "");
}

TEST(HttpVolumeReader, FallsOverFrom404ToNextReplica) {
  CannedHttpServer missing([](const RecordedRequest&) { return http_response(404); });
  VolumeServerSim sim;
  auto present = serve(sim);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({missing.address(), present.address()}), 0, 16), kNeedle.substr(0, 16));
  EXPECT_EQ(missing.requests().size(), 1u);
  EXPECT_EQ(present.requests().size(), 1u);
  EXPECT_EQ(reader.requests(), 2u);
}

TEST(HttpVolumeReader, FallsOverFromRefusedConnectionAnd500) {
  CannedHttpServer failing([](const RecordedRequest&) { return http_response(500, "disk on fire"); });
  VolumeServerSim sim;
  auto present = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({refused_address(), failing.address(), present.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 5, 5), kNeedle.substr(5, 5));
  auto whole = reader.read_whole(loc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, kNeedle);
}

TEST(HttpVolumeReader, AllReplicasFailingNamesEachWithItsReason) {
  CannedHttpServer missing([](const RecordedRequest&) { return http_response(404); });
  CannedHttpServer failing([](const RecordedRequest&) { return http_response(500, "needle crc mismatch\n"); });
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({missing.address(), failing.address()});
  const Error e = read_range_error(reader, loc, 10, 10);
  EXPECT_EQ(e.code, EIO);
  EXPECT_EQ(e.message, "read 3,01637037d6 [10,+10): no good replica: " + missing.address() + ": HTTP 404; " +
                           failing.address() + ": HTTP 500: needle crc mismatch");

  auto whole = reader.read_whole(loc);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.error().code, EIO);
  EXPECT_TRUE(contains(whole.error().message, "read 3,01637037d6 whole: no good replica: ")) << whole.error().message;
}

TEST(HttpVolumeReader, MissingEverywhereIsEnoent) {
  CannedHttpServer missing([](const RecordedRequest&) { return http_response(404); });
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_error(reader, locator({missing.address(), missing.address()}), 0, 10).code, ENOENT);
}

TEST(HttpVolumeReader, RefusedTokenIsEperm) {
  CannedHttpServer refusing([](const RecordedRequest&) { return http_response(401, R"({"error":"wrong jwt"})"); });
  HttpVolumeReader reader(fast_options());
  const Error e = read_range_error(reader, locator({refusing.address()}), 0, 10);
  EXPECT_EQ(e.code, EPERM);
  EXPECT_TRUE(contains(e.message, R"(HTTP 401: {"error":"wrong jwt"})")) << e.message;
}

TEST(HttpVolumeReader, NoUrlsIsEio) {
  HttpVolumeReader reader(fast_options());
  const Error e = read_range_error(reader, locator({}), 0, 4);
  EXPECT_EQ(e.code, EIO);
  EXPECT_TRUE(contains(e.message, "no volume server urls")) << e.message;
}

TEST(HttpVolumeReader, RefusesBodyLongerThanTheRange) {
  VolumeServerSim sim;
  CannedHttpServer oversize([&](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.header("range").empty()) return sim(r);
    auto h = sim.headers();
    h.emplace_back("Content-Range", "bytes 0-63/1000");
    return http_response(206, kNeedle.substr(0, 64), h);
  });
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({oversize.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 500, 10), kNeedle.substr(500, 10));  // verifies the needle
  const Error e = read_range_error(reader, loc, 0, 16);
  EXPECT_TRUE(contains(e.message, "longer than the 16 bytes")) << e.message;
}

TEST(HttpVolumeReader, RejectsRangeStartingElsewhere) {
  VolumeServerSim sim;
  CannedHttpServer shifted([&](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.header("range").empty()) return sim(r);
    auto h = sim.headers();
    h.emplace_back("Content-Range", "bytes 0-7/1000");
    return http_response(206, kNeedle.substr(0, 8), h);
  });
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({shifted.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 500, 10), kNeedle.substr(500, 10));
  const Error e = read_range_error(reader, loc, 8, 8);
  EXPECT_TRUE(contains(e.message, "Content-Range starts at 0, asked for 8")) << e.message;
}

TEST(HttpVolumeReader, UnansweredRequestTimesOut) {
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  HttpOptions options = fast_options();
  options.request_timeout_ms = 300;
  HttpVolumeReader reader(options);
  const auto started = std::chrono::steady_clock::now();
  const Error e = read_range_error(reader, locator({silent.address()}), 0, 8);
  auto whole = reader.read_whole(locator({silent.address()}));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(e.code, ETIMEDOUT);
  EXPECT_TRUE(contains(e.message, "timed out")) << e.message;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(HttpVolumeReader, TimedOutReplicaFallsOverToNext) {
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  VolumeServerSim sim;
  auto present = serve(sim);
  HttpOptions options = fast_options();
  options.request_timeout_ms = 300;
  HttpVolumeReader reader(options);
  EXPECT_EQ(read_range_or_fail(reader, locator({silent.address(), present.address()}), 0, 3), kNeedle.substr(0, 3));
}

TEST(HttpVolumeReader, SilentReplicaCostsTheFailoverTimeoutOnceThenGoesLast) {
  // A keep-alive connection into a partition: the server never answers. With a replica left it
  // gets failover_timeout_ms (not the 20 s request timeout), then backs off to the end of the order.
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  VolumeServerSim sim;
  auto present = serve(sim);
  HttpOptions options = fast_options();
  options.request_timeout_ms = 20000;
  options.failover_timeout_ms = 1000;
  options.initial_backoff = std::chrono::milliseconds(60000);
  HttpVolumeReader reader(options);
  const auto loc = locator({silent.address(), present.address()});
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 3), kNeedle.substr(0, 3));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(silent.requests().size(), 1u);
  started = std::chrono::steady_clock::now();
  auto whole = reader.read_whole(loc);  // the silent server backs off: asked last, so not at all
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, kNeedle);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  EXPECT_EQ(silent.requests().size(), 1u);
}

TEST(HttpVolumeReader, TheLastReplicaGetsTheFullTimeout) {
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  HttpOptions options = fast_options();
  options.request_timeout_ms = 2500;
  options.failover_timeout_ms = 300;
  HttpVolumeReader reader(options);
  const auto started = std::chrono::steady_clock::now();
  const Error e = read_range_error(reader, locator({silent.address()}), 0, 8);
  EXPECT_EQ(e.code, ETIMEDOUT) << e.message;
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2400));
}

TEST(HttpVolumeReader, ARefusingReplicaGoesLastUntilItServesAgain) {
  VolumeServerSim sim;
  auto present = serve(sim);
  HttpOptions options = fast_options();
  options.initial_backoff = std::chrono::milliseconds(1);
  HttpVolumeReader reader(options);
  const std::string refused = refused_address();
  EXPECT_EQ(read_range_or_fail(reader, locator({refused, present.address()}), 0, 3), kNeedle.substr(0, 3));
  EXPECT_EQ(present.requests().size(), 1u);
  // Backoff over: asked first again (refuses again), the present one still serves.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(reader.read_whole(locator({refused, present.address()})).ok());
  EXPECT_EQ(present.requests().size(), 2u);
}

TEST(HttpVolumeReader, ReusesTheConnection) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  for (uint64_t offset = 0; offset < 500; offset += 100) {
    EXPECT_EQ(read_range_or_fail(reader, loc, offset, 100), kNeedle.substr(offset, 100));
  }
  ASSERT_TRUE(reader.read_whole(loc).ok());
  EXPECT_EQ(server.requests().size(), 6u);
  EXPECT_EQ(server.connections_accepted(), 1);
  EXPECT_EQ(reader.bytes_read(), 1500u);
}

TEST(HttpVolumeReader, WholeReadKeepsGzipWhenServerSendsIt) {
  VolumeServerSim sim;
  sim.gzip_stored = true;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto whole = reader.read_whole(locator({server.address()}));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_TRUE(whole->gzipped);
  EXPECT_EQ(whole->data, sim.stored());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, kTarget);
  EXPECT_EQ(requests[0].header("range"), "");
  EXPECT_EQ(requests[0].header("accept-encoding"), "gzip");
  EXPECT_EQ(reader.bytes_read(), sim.stored().size());
}

TEST(HttpVolumeReader, WholeReadOfPlainNeedleIsNotGzipped) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  auto whole = reader.read_whole(locator({server.address()}));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_FALSE(whole->gzipped);
  EXPECT_EQ(whole->data, kNeedle);
}

TEST(HttpVolumeReader, LargeNeedles) {
  VolumeServerSim sim;
  sim.clear.resize(9 << 20);  // above the default cache's 8 MiB entry limit
  for (size_t i = 0; i < sim.clear.size(); ++i) sim.clear[i] = static_cast<char>(i * 2654435761u >> 24);
  auto server = serve(sim);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  auto whole = reader.read_whole(loc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, sim.clear);
  // Larger than the needle cache keeps: sliced out of the stream, then later ranges with the ETag.
  EXPECT_EQ(read_range_or_fail(reader, loc, 3 << 20, 1 << 20), sim.clear.substr(3 << 20, 1 << 20));
  EXPECT_EQ(read_range_or_fail(reader, loc, 5 << 20, 1 << 20), sim.clear.substr(5 << 20, 1 << 20));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].header("range"), "bytes=5242880-6291455");
}

TEST(HttpVolumeReader, FollowsRedirect) {
  VolumeServerSim sim;
  auto present = serve(sim);
  CannedHttpServer redirecting([&](const RecordedRequest& request) {
    return http_response(301, "", {{"Location", "http://" + present.address() + request.target}});
  });
  HttpOptions options = fast_options();
  options.jwt_read_key = "k";
  HttpVolumeReader reader(options);
  EXPECT_EQ(read_range_or_fail(reader, locator({redirecting.address()}), 2, 2), kNeedle.substr(2, 2));
  const auto requests = present.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].header("authorization"), "");
}

TEST(HttpVolumeReader, SendsReadJwtWhenKeyIsSet) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpOptions options = ranged_options();
  options.jwt_read_key = "secret-read-key";
  options.jwt_read_expires_sec = 30;
  HttpVolumeReader reader(options);
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 4), kNeedle.substr(0, 4));
  EXPECT_EQ(read_range_or_fail(reader, loc, 8, 4), kNeedle.substr(8, 4));
  ASSERT_TRUE(reader.read_whole(loc).ok());

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) {
    const std::string authorization = request.header("authorization");
    ASSERT_EQ(authorization.rfind("Bearer ", 0), 0u) << authorization;
    const std::string token = authorization.substr(7);
    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    ASSERT_NE(second_dot, std::string::npos) << token;
    const std::string payload = base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
    ASSERT_EQ(payload.rfind(R"({"fid":"3,01637037d6","exp":)", 0), 0u) << payload;
    const int64_t exp = std::stoll(payload.substr(payload.find("\"exp\":") + 6));
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(exp, now + 25);
    EXPECT_LE(exp, now + 31);
    auto expected = http::mint_read_jwt("secret-read-key", kFid, exp);
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(token, expected.value());
  }
}

// Without a key, the provider's token goes out as is (the client library's case); a provider
// that fails fails the read before any request.
TEST(HttpVolumeReader, SendsTheProvidersTokenWithoutAKey) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpOptions options = ranged_options();
  std::vector<std::string> asked;
  options.read_tokens = [&](const std::string& fid) -> Result<std::string> {
    asked.push_back(fid);
    return std::string("token-for-") + fid;
  };
  HttpVolumeReader reader(options);
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 4), kNeedle.substr(0, 4));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("authorization"), "Bearer token-for-" + std::string(kFid));
  EXPECT_EQ(asked, std::vector<std::string>{std::string(kFid)});

  HttpOptions refusing = ranged_options();
  refusing.read_tokens = [](const std::string&) -> Result<std::string> { return make_error(ENOKEY, "no fd"); };
  HttpVolumeReader refused(refusing);
  std::string dst(4, '\0');
  auto r = refused.read_range(loc, 0, dst);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOKEY);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpVolumeReader, ConcurrentReadersGetTheirOwnBytes) {
  VolumeServerSim sim;
  auto server = serve(sim);
  HttpVolumeReader reader(ranged_options());
  const auto loc = locator({server.address()});
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const uint64_t offset = static_cast<uint64_t>((t * 97 + i * 31) % 900);
        std::string buffer(64, '\0');
        auto written = reader.read_range(loc, offset, buffer);
        if (!written.ok() || buffer.substr(0, written.value()) != kNeedle.substr(offset, 64)) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_LE(server.connections_accepted(), 4);
}

}  // namespace
}  // namespace seaweed::transport
