#include "transport/http/http_volume_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "canned_http_server.h"
#include "codec/codec.h"
#include "transport/http/jwt.h"

namespace seaweed::transport {
namespace {

using testing::CannedHttpServer;
using testing::http_response;
using testing::RecordedRequest;
using testing::refused_address;

constexpr const char* kFid = "3,01637037d6";
constexpr const char* kTarget = "/3,01637037d6?readDeleted=true";

// The needle every canned server holds: 1000 distinct-ish bytes.
const std::string kNeedle = [] {
  std::string bytes(1000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + (i * 7) % 26);
  return bytes;
}();

NeedleLocator locator(std::vector<std::string> urls) {
  auto fid = FileId::parse(kFid);
  EXPECT_TRUE(fid.ok());
  return NeedleLocator{fid.value(), kFid, std::move(urls)};
}

HttpOptions fast_options() {
  HttpOptions options;
  options.connect_timeout_ms = 1000;
  options.request_timeout_ms = 2000;
  return options;
}

// Parses "bytes=A-B" and answers like a volume server: 206 with the clipped slice, or 416.
std::optional<std::string> serve_range(const RecordedRequest& request) {
  const std::string range = request.header("range");
  uint64_t first = 0;
  uint64_t last = 0;
  if (std::sscanf(range.c_str(), "bytes=%lu-%lu", &first, &last) != 2) return http_response(200, kNeedle);
  if (first >= kNeedle.size()) {
    return http_response(416, "", {{"Content-Range", "bytes */" + std::to_string(kNeedle.size())}});
  }
  last = std::min<uint64_t>(last, kNeedle.size() - 1);
  return http_response(206, std::string_view(kNeedle).substr(first, last - first + 1),
                       {{"Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                              std::to_string(kNeedle.size())}});
}

std::string read_range_or_fail(HttpVolumeReader& reader, const NeedleLocator& loc, uint64_t offset, size_t size) {
  std::string buffer(size, '\0');
  auto written = reader.read_range(loc, offset, buffer);
  EXPECT_TRUE(written.ok()) << written.error().message;
  buffer.resize(written.ok() ? written.value() : 0);
  return buffer;
}

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

TEST(HttpVolumeReader, RangeReadSendsRangeWithoutAcceptEncoding) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 10, 20), kNeedle.substr(10, 20));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, kTarget);
  EXPECT_EQ(requests[0].header("range"), "bytes=10-29");
  EXPECT_EQ(requests[0].header("accept-encoding"), "");
  EXPECT_EQ(requests[0].header("authorization"), "");
  EXPECT_EQ(reader.requests(), 1u);
  EXPECT_EQ(reader.bytes_read(), 20u);
}

TEST(HttpVolumeReader, RangeReadIsShortAtNeedleEnd) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 990, 100), kNeedle.substr(990));
}

TEST(HttpVolumeReader, RangePastNeedleEndReadsZeroBytes) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 1000, 10), "");
  EXPECT_EQ(read_range_or_fail(reader, locator({server.address()}), 5000, 10), "");
}

TEST(HttpVolumeReader, EmptyRangeSendsNoRequest) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
  auto written = reader.read_range(locator({server.address()}), 0, {});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written.value(), 0u);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpVolumeReader, Full200ResponseIsSkippedToOffset) {
  CannedHttpServer server([](const RecordedRequest&) { return http_response(200, kNeedle); });
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 100, 50), kNeedle.substr(100, 50));
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 1000), kNeedle);
  EXPECT_EQ(read_range_or_fail(reader, loc, 900, 500), kNeedle.substr(900));
  EXPECT_EQ(read_range_or_fail(reader, loc, 2000, 10), "");
}

TEST(HttpVolumeReader, FallsOverFrom404ToNextReplica) {
  CannedHttpServer missing([](const RecordedRequest&) { return http_response(404); });
  CannedHttpServer present(serve_range);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({missing.address(), present.address()}), 0, 16), kNeedle.substr(0, 16));
  EXPECT_EQ(missing.requests().size(), 1u);
  EXPECT_EQ(present.requests().size(), 1u);
  EXPECT_EQ(reader.requests(), 2u);
}

TEST(HttpVolumeReader, FallsOverFromRefusedConnectionAnd500) {
  CannedHttpServer failing([](const RecordedRequest&) { return http_response(500, "disk on fire"); });
  CannedHttpServer present(serve_range);
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({refused_address(), failing.address(), present.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 5, 5), kNeedle.substr(5, 5));
  auto whole = reader.read_whole(loc);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, kNeedle);
}

TEST(HttpVolumeReader, AllReplicasFailingIsEioWithContext) {
  CannedHttpServer missing([](const RecordedRequest&) { return http_response(404); });
  CannedHttpServer failing([](const RecordedRequest&) { return http_response(500, "needle crc mismatch\n"); });
  HttpVolumeReader reader(fast_options());
  const auto loc = locator({missing.address(), failing.address()});
  std::string buffer(10, '\0');
  auto written = reader.read_range(loc, 10, buffer);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, EIO);
  const std::string& message = written.error().message;
  const std::string prefix = "read 3,01637037d6 [10,+10) from " + missing.address() + "," + failing.address() + ": ";
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  EXPECT_NE(message.find(failing.address() + ": HTTP 500: needle crc mismatch"), std::string::npos) << message;

  auto whole = reader.read_whole(loc);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.error().code, EIO);
  EXPECT_NE(whole.error().message.find("read 3,01637037d6 whole from"), std::string::npos) << whole.error().message;
}

TEST(HttpVolumeReader, NoUrlsIsEio) {
  HttpVolumeReader reader(fast_options());
  std::string buffer(4, '\0');
  auto written = reader.read_range(locator({}), 0, buffer);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, EIO);
  EXPECT_NE(written.error().message.find("no volume server urls"), std::string::npos) << written.error().message;
}

TEST(HttpVolumeReader, RefusesBodyLongerThanTheRange) {
  CannedHttpServer oversize([](const RecordedRequest&) {
    return http_response(206, kNeedle.substr(0, 64), {{"Content-Range", "bytes 0-63/1000"}});
  });
  HttpVolumeReader reader(fast_options());
  std::string buffer(16, '\0');
  auto written = reader.read_range(locator({oversize.address()}), 0, buffer);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("longer than the 16 bytes"), std::string::npos) << written.error().message;
}

TEST(HttpVolumeReader, RejectsRangeStartingElsewhere) {
  CannedHttpServer shifted([](const RecordedRequest&) {
    return http_response(206, kNeedle.substr(0, 8), {{"Content-Range", "bytes 0-7/1000"}});
  });
  CannedHttpServer present(serve_range);
  HttpVolumeReader reader(fast_options());
  EXPECT_EQ(read_range_or_fail(reader, locator({shifted.address(), present.address()}), 8, 8), kNeedle.substr(8, 8));

  std::string buffer(8, '\0');
  auto written = reader.read_range(locator({shifted.address()}), 8, buffer);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("Content-Range starts at 0, asked for 8"), std::string::npos)
      << written.error().message;
}

TEST(HttpVolumeReader, UnansweredRequestTimesOut) {
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  HttpOptions options = fast_options();
  options.request_timeout_ms = 300;
  HttpVolumeReader reader(options);
  std::string buffer(8, '\0');
  const auto started = std::chrono::steady_clock::now();
  auto written = reader.read_range(locator({silent.address()}), 0, buffer);
  auto whole = reader.read_whole(locator({silent.address()}));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(written.ok());
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(written.error().code, EIO);
  EXPECT_NE(written.error().message.find("timed out"), std::string::npos) << written.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(HttpVolumeReader, TimedOutReplicaFallsOverToNext) {
  CannedHttpServer silent([](const RecordedRequest&) { return std::nullopt; });
  CannedHttpServer present(serve_range);
  HttpOptions options = fast_options();
  options.request_timeout_ms = 300;
  HttpVolumeReader reader(options);
  EXPECT_EQ(read_range_or_fail(reader, locator({silent.address(), present.address()}), 0, 3), kNeedle.substr(0, 3));
}

TEST(HttpVolumeReader, ReusesTheConnection) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
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
  auto compressed = codec::gzip(kNeedle);
  ASSERT_TRUE(compressed.ok());
  CannedHttpServer server([&](const RecordedRequest& request) -> std::optional<std::string> {
    if (request.header("accept-encoding").find("gzip") == std::string::npos) return http_response(200, kNeedle);
    return http_response(200, compressed.value(), {{"Content-Encoding", "gzip"}});
  });
  HttpVolumeReader reader(fast_options());
  auto whole = reader.read_whole(locator({server.address()}));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_TRUE(whole->gzipped);
  EXPECT_EQ(whole->data, compressed.value());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, kTarget);
  EXPECT_EQ(requests[0].header("range"), "");
  EXPECT_EQ(reader.bytes_read(), compressed->size());
}

TEST(HttpVolumeReader, WholeReadOfPlainNeedleIsNotGzipped) {
  CannedHttpServer server([](const RecordedRequest&) { return http_response(200, kNeedle); });
  HttpVolumeReader reader(fast_options());
  auto whole = reader.read_whole(locator({server.address()}));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_FALSE(whole->gzipped);
  EXPECT_EQ(whole->data, kNeedle);
}

TEST(HttpVolumeReader, WholeReadOfLargeNeedle) {
  std::string large(8 << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 2654435761u >> 24);
  CannedHttpServer server([&](const RecordedRequest&) { return http_response(200, large); });
  HttpVolumeReader reader(fast_options());
  auto whole = reader.read_whole(locator({server.address()}));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, large);
}

TEST(HttpVolumeReader, FollowsRedirect) {
  CannedHttpServer present(serve_range);
  CannedHttpServer redirecting([&](const RecordedRequest& request) {
    return http_response(301, "", {{"Location", "http://" + present.address() + request.target}});
  });
  HttpOptions options = fast_options();
  options.jwt_read_key = "k";
  HttpVolumeReader reader(options);
  EXPECT_EQ(read_range_or_fail(reader, locator({redirecting.address()}), 2, 2), kNeedle.substr(2, 2));
  const auto requests = present.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("range"), "bytes=2-3");
  EXPECT_NE(requests[0].header("authorization"), "");
}

TEST(HttpVolumeReader, SendsReadJwtWhenKeyIsSet) {
  CannedHttpServer server(serve_range);
  HttpOptions options = fast_options();
  options.jwt_read_key = "secret-read-key";
  HttpVolumeReader reader(options);
  const auto loc = locator({server.address()});
  EXPECT_EQ(read_range_or_fail(reader, loc, 0, 4), kNeedle.substr(0, 4));
  ASSERT_TRUE(reader.read_whole(loc).ok());

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
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
    EXPECT_GT(exp, now + 30);
    EXPECT_LE(exp, now + 61);
    auto expected = http::mint_read_jwt("secret-read-key", kFid, exp);
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(token, expected.value());
  }
}

TEST(HttpVolumeReader, ConcurrentReadersGetTheirOwnBytes) {
  CannedHttpServer server(serve_range);
  HttpVolumeReader reader(fast_options());
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
  EXPECT_EQ(reader.requests(), 100u);
  EXPECT_LE(server.connections_accepted(), 4);
}

}  // namespace
}  // namespace seaweed::transport
