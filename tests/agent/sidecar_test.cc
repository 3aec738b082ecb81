// The sidecar's GET /read: the bytes it answers (clear_range, read_response), its request forms
// (file_id=, and upstream's decimal volume=&needle=&cookie=), read tokens, and what it refuses.
#include "agent/sidecar.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "../volume/volume_builder.h"
#include "codec/codec.h"
#include "common/file_id.h"
#include "common/metrics.h"
#include "transport/http/jwt.h"
#include "volume/needle.h"

namespace seaweed::agent {
namespace {

namespace fs = std::filesystem;
using volume::testing::NeedleSpec;
using volume::testing::VolumeBuilder;

NeedleRead needle_of(const std::string& stored, uint8_t flags) {
  NeedleRead n;
  n.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(stored.data()), stored.size());
  n.flags = flags;
  return n;
}

// What a client receives: the buffered body, or the streamed one collected.
std::string body_of(const web::Response& r) {
  if (!r.stream) return r.body;
  std::string out;
  r.stream([&](std::string_view piece) {
    out.append(piece);
    return true;
  });
  EXPECT_EQ(out.size(), r.content_length);
  return out;
}

TEST(SidecarClearRange, PlainSlices) {
  const std::string data = "0123456789";
  EXPECT_EQ(*clear_range(needle_of(data, 0), 0, 0), data);
  EXPECT_EQ(*clear_range(needle_of(data, 0), 3, 4), "3456");
  EXPECT_EQ(*clear_range(needle_of(data, 0), 8, 100), "89");
  EXPECT_EQ(*clear_range(needle_of(data, 0), 10, 1), "");
}

TEST(SidecarClearRange, GzipIsInflatedThenSliced) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "row " + std::to_string(i) + "\n";
  const std::string gz = codec::gzip(text).value();
  EXPECT_EQ(*clear_range(needle_of(gz, volume::kFlagCompressed), 0, 0), text);
  EXPECT_EQ(*clear_range(needle_of(gz, volume::kFlagCompressed), 100, 50), text.substr(100, 50));
  // Flag without gzip magic: served as stored, like the volume server.
  EXPECT_EQ(*clear_range(needle_of("plain", volume::kFlagCompressed), 0, 0), "plain");
  // Corrupt gzip is an error, not garbage.
  std::string bad = gz;
  bad.resize(bad.size() / 2);
  EXPECT_FALSE(clear_range(needle_of(bad, volume::kFlagCompressed), 0, 0).ok());
}

TEST(SidecarReadResponse, PlainAndGzipBodiesBufferedOrStreamed) {
  std::string plain(3 << 20, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(i * 7);
  auto p = read_response(needle_of(plain, 0), 1000, 0);  // to the end: streamed from the mapping
  EXPECT_TRUE(p.stream);
  EXPECT_EQ(body_of(p), plain.substr(1000));
  EXPECT_EQ(body_of(read_response(needle_of(plain, 0), 5, 10)), plain.substr(5, 10));

  std::string text;
  for (int i = 0; i < 200000; ++i) text += "line " + std::to_string(i) + "\n";
  const std::string gz = codec::gzip(text).value();
  auto small = read_response(needle_of(gz, volume::kFlagCompressed), 77, 4096);
  EXPECT_FALSE(small.stream);  // small ranges are built in memory
  EXPECT_EQ(small.body, text.substr(77, 4096));
  auto large = read_response(needle_of(gz, volume::kFlagCompressed), 1000, 0);
  EXPECT_TRUE(large.stream);  // open-ended: counted, then inflated again while sent
  EXPECT_EQ(large.content_length, text.size() - 1000);
  EXPECT_EQ(body_of(large), text.substr(1000));
  std::string cut = gz.substr(0, gz.size() / 2);
  EXPECT_EQ(read_response(needle_of(cut, volume::kFlagCompressed), 0, 0).status, 500);
}

TEST(WebQuery, DecodesAndRefusesNul) {
  auto q = web::parse_query("a=1&b=%41%42&c=x+y&d&e=");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->at("a"), "1");
  EXPECT_EQ(q->at("b"), "AB");
  EXPECT_EQ(q->at("c"), "x y");
  EXPECT_EQ(q->at("d"), "");
  EXPECT_FALSE(web::parse_query("file_id=3,01637037d6%00.jpg").has_value());  // never cut short
  EXPECT_FALSE(web::parse_query("a%00b=1").has_value());
  EXPECT_FALSE(web::parse_query("a=%zz").has_value());
  EXPECT_FALSE(web::parse_query("a=%4").has_value());
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

uint64_t counter_value(const std::string& name_and_labels) {
  const std::string text = Metrics::global().render();
  const auto at = text.find("\n" + name_and_labels + " ");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + name_and_labels.size() + 2));
}

// Sidecar::read against a real VolumeStore over a synthetic volume 5.
class SidecarRead : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sidecar-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    data_.resize(10000);
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>('a' + i % 26);
    VolumeBuilder v;
    v.put(spec(0x5a7b, 0x12345678, data_));
    v.put(spec(2, 0x22, "to be deleted"));
    v.remove(2, 0x22);
    std::ofstream(dir_ + "/5.dat", std::ios::binary).write(reinterpret_cast<const char*>(v.dat.data()), v.dat.size());
    std::ofstream(dir_ + "/5.idx", std::ios::binary).write(reinterpret_cast<const char*>(v.idx.data()), v.idx.size());
    StoreOptions so;
    so.dirs = {dir_};
    store_ = std::make_unique<VolumeStore>(so);
    ASSERT_TRUE(store_->load().ok());
  }
  void TearDown() override {
    sidecar_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void start(const std::string& key = "") {
    SidecarOptions o;
    o.port = free_tcp_port();
    o.jwt_read_key = key;
    auto s = Sidecar::start(o, *store_, nullptr);
    ASSERT_TRUE(s.ok()) << s.error().message;
    sidecar_ = std::move(*s);
  }
  static NeedleSpec spec(uint64_t key, uint32_t cookie, std::string data) {
    NeedleSpec s;
    s.key = key;
    s.cookie = cookie;
    s.data = std::move(data);
    return s;
  }
  web::Response get(std::map<std::string, std::string> query, std::map<std::string, std::string> headers = {}) {
    web::Request r;
    r.method = "GET";
    r.path = "/read";
    r.query = std::move(query);
    r.headers = std::move(headers);
    return sidecar_->read(r);
  }
  std::string dir_, data_;
  std::unique_ptr<VolumeStore> store_;
  std::unique_ptr<Sidecar> sidecar_;
};

TEST_F(SidecarRead, UpstreamDecimalFormWithDefaults) {
  start();
  // weed/mount/rdma_client.go: volume, needle and cookie in decimal (0x5a7b = 23163).
  auto r = get({{"volume", "5"}, {"needle", "23163"}, {"cookie", "305419896"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r), data_.substr(0, 4096));  // size defaults to 4096, offset to 0
  r = get({{"volume", "5"},
           {"needle", "23163"},
           {"cookie", "305419896"},
           {"offset", "9000"},
           {"size", "5000"},
           {"volume_server", "http://127.0.0.1:8080"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), data_.substr(9000));
  EXPECT_EQ(r.headers.at("X-RDMA-Used"), "true");
  EXPECT_EQ(r.headers.at("X-File-Id"), "5,5a7b12345678");
  r = get({{"volume", "5"}, {"needle", "0x5a7b"}, {"cookie", "0x12345678"}, {"size", "3"}});  // hex with 0x
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), "abc");
  // file_id= as before: to the end when size is absent.
  r = get({{"file_id", "5,5a7b12345678"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), data_);
  // The old hex reading of needle= is gone: "5a7b" is not a decimal number.
  EXPECT_EQ(get({{"volume", "5"}, {"needle", "5a7b"}, {"cookie", "305419896"}}).status, 400);
}

TEST_F(SidecarRead, OutOfRangeIdsAreRefusedNotTruncated) {
  start();
  // 4294967301 = 2^32 + 5 would be volume 5 if truncated.
  EXPECT_EQ(get({{"volume", "4294967301"}, {"needle", "23163"}, {"cookie", "305419896"}}).status, 400);
  EXPECT_EQ(get({{"file_id", "4294967301,5a7b12345678"}}).status, 400);
  EXPECT_EQ(get({{"volume", "5"}, {"needle", "23163"}, {"cookie", "4294967296"}}).status, 400);
  EXPECT_EQ(get({{"volume", "5"}, {"needle", "18446744073709551616"}, {"cookie", "1"}}).status, 400);
}

TEST_F(SidecarRead, WrongCookieAndMissingNeedleAnswerAlike) {
  start();
  auto cookie = get({{"volume", "5"}, {"needle", "23163"}, {"cookie", "1"}});
  auto missing = get({{"volume", "5"}, {"needle", "23164"}, {"cookie", "1"}});
  EXPECT_EQ(cookie.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(cookie.body.size(), missing.body.size());  // same text but for the fid
  EXPECT_EQ(cookie.body.find("cookie"), std::string::npos);
}

TEST_F(SidecarRead, DeletedNeedleOnlyWithReadDeleted) {
  start();
  EXPECT_EQ(get({{"file_id", "5,0200000022"}}).status, 404);
  auto r = get({{"file_id", "5,0200000022"}, {"readDeleted", "true"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r), "to be deleted");
  EXPECT_EQ(get({{"file_id", "5,0200000022"}, {"readDeleted", "yes"}}).status, 400);
}

TEST_F(SidecarRead, ReadTokensFromQueryOrBearer) {
  const std::string key = "sidecar-test-key";
  start(key);
  const int64_t now = std::time(nullptr);
  const std::string fid = "5,5a7b12345678";
  const std::string good = transport::http::mint_read_jwt(key, fid, now + 30).value();
  std::map<std::string, std::string> q{{"volume", "5"}, {"needle", "23163"}, {"cookie", "305419896"}};
  const uint64_t missing_before =
      counter_value(R"(seaweed_agent_auth_failures_total{path="sidecar",reason="missing"})");
  EXPECT_EQ(get(q).status, 401);
  EXPECT_GT(counter_value(R"(seaweed_agent_auth_failures_total{path="sidecar",reason="missing"})"), missing_before);
  auto with_query = q;
  with_query["jwt"] = good;
  EXPECT_EQ(get(with_query).status, 200);
  EXPECT_EQ(get(q, {{"authorization", "Bearer " + good}}).status, 200);
  EXPECT_EQ(get(q, {{"authorization", "bearer " + good}}).status, 200);  // scheme in any case
  EXPECT_EQ(get({{"file_id", fid}, {"jwt", good}}).status, 200);
  EXPECT_EQ(
      get(q, {{"authorization", "Bearer " + transport::http::mint_read_jwt("other", fid, now + 30).value()}}).status,
      401);
  EXPECT_EQ(get(q, {{"authorization", "Bearer " + transport::http::mint_read_jwt(key, fid, now - 1).value()}}).status,
            401);
  EXPECT_EQ(
      get(q, {{"authorization", "Bearer " + transport::http::mint_read_jwt(key, "5,02637037d6", now + 30).value()}})
          .status,
      401);
  EXPECT_EQ(get(q, {{"authorization", "Basic dXNlcjpwYXNz"}}).status, 401);
}

}  // namespace
}  // namespace seaweed::agent
