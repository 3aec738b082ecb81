// The agent's UCX server and the AgentVolumeReader client together, in one process, over a
// synthetic volume: byte-exact reads (eager and rendezvous), gzip needles, error statuses,
// concurrency, reconnects, BUSY, and hostile messages that must not hurt the server.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "../codec/test_bytes.h"
#include "../volume/volume_builder.h"
#include "agent/ucx_server.h"
#include "agent/volume_store.h"
#include "codec/codec.h"
#include "common/metrics.h"
#include "transport/http/jwt.h"
#include "transport/ucx/agent_client.h"
#include "transport/ucx/agent_protocol.h"
#include "transport/ucx/ucx_util.h"

namespace seaweed::agent {
namespace {

namespace fs = std::filesystem;
namespace proto = transport::ucx;
using codec::testing::random_bytes;
using transport::NeedleLocator;
using transport::ucx::AgentClientOptions;
using transport::ucx::AgentVolumeReader;
using volume::testing::NeedleSpec;
using volume::testing::VolumeBuilder;

NeedleLocator loc(uint32_t vid, uint64_t key, uint32_t cookie) {
  FileId f{vid, key, cookie};
  return NeedleLocator{f, f.to_string(), {}};
}

uint64_t counter_value(const std::string& name_and_labels) {
  const std::string text = Metrics::global().render();
  const auto at = text.find("\n" + name_and_labels + " ");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + name_and_labels.size() + 2));
}

// A volume dir with: key 1 small, key 2 = 3 MiB (rendezvous), key 3 gzip text, key 4 deleted,
// key 5 with a flipped byte in its data (fails its CRC), key 6 last (for truncation).
class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    UcxServer::allow_listener_port_reuse();
    std::string tmpl = (fs::temp_directory_path() / "ucxagent-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    small_ = "hello from the agent";
    large_ = random_bytes(3 << 20, 1);
    text_.clear();
    for (int i = 0; i < 20000; ++i) text_ += "line " + std::to_string(i) + " of some compressible text\n";
    VolumeBuilder v;
    v.put(spec(1, 0x1001, small_));
    v.put(spec(2, 0x1002, large_));
    NeedleSpec gz = spec(3, 0x1003, codec::gzip(text_).value());
    gz.flags |= volume::kFlagCompressed;
    v.put(gz);
    v.put(spec(4, 0x1004, "deleted but readable"));
    v.remove(4, 0x1004);
    const uint64_t bad = v.put(spec(5, 0x1005, std::string(100000, 'x')));
    v.dat[bad * 8 + volume::kNeedleHeaderSize + 4 + 777] ^= 0x10;  // one bit of the data
    last_at_ = v.put(spec(6, 0x1006, random_bytes(200000, 6)));
    write(dir_ + "/3.dat", v.dat);
    write(dir_ + "/3.idx", v.idx);
    start_server();
  }

  void TearDown() override {
    stop_server();
    fs::remove_all(dir_);
  }

  void start_server(uint16_t port = 0, size_t max_in_flight = 64) {
    UcxServerOptions o;
    o.ip = "127.0.0.1";
    o.port = port;
    o.max_in_flight_per_endpoint = max_in_flight;
    o.info_json = R"({"test":true})";
    o.jwt_read_key = jwt_key_;
    o.max_queued_per_connection = max_queued_per_connection_;
    auto s = UcxServer::create(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    StoreOptions so;
    so.dirs = {dir_};
    so.verify_crc = verify_crc_;
    so.open.registrar = server_->registrar();
    store_ = std::make_unique<VolumeStore>(so);
    ASSERT_TRUE(store_->load().ok());
    thread_ = std::thread([this] { server_->run(*store_); });
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  void stop_server() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
    store_.reset();
  }

  static NeedleSpec spec(uint64_t key, uint32_t cookie, std::string data) {
    NeedleSpec s;
    s.key = key;
    s.cookie = cookie;
    s.data = std::move(data);
    return s;
  }
  static void write(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  }

  AgentClientOptions client_options() {
    AgentClientOptions o;
    o.timeout_ms = 15000;  // generous: sanitizer builds on 2 loaded cores are slow
    o.max_in_flight = 4;
    return o;
  }

  std::string dir_;
  std::string small_, large_, text_;
  uint64_t last_at_ = 0;  // offset (8-byte units) of key 6, the last record
  std::string jwt_key_;   // the server requires read tokens when set
  bool verify_crc_ = true;
  size_t max_queued_per_connection_ = UcxServerOptions{}.max_queued_per_connection;
  std::unique_ptr<UcxServer> server_;
  std::unique_ptr<VolumeStore> store_;
  std::thread thread_;
  std::string address_;
};

TEST_F(AgentFixture, PingAndStat) {
  AgentVolumeReader r(address_, client_options());
  auto p = r.ping();
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, R"({"test":true})");
  auto st = r.stat(FileId{3, 2, 0x1002});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->data_size, large_.size());
  EXPECT_EQ(st->crc32c,
            volume::crc32c(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(large_.data()), large_.size())));
  EXPECT_EQ(r.stat(FileId{3, 4, 0x1004}).error().code, ENOENT);  // deleted: only with ALLOW_DELETED
  auto del = r.stat(FileId{3, 4, 0x1004}, /*allow_deleted=*/true);
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(del->deleted);
}

TEST_F(AgentFixture, ReadsAreByteExact) {
  AgentVolumeReader r(address_, client_options());
  std::string buf(64, '\0');
  auto n = r.read_range(loc(3, 1, 0x1001), 0, buf);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(buf.substr(0, *n), small_);

  // Whole 3 MiB needle (rendezvous) and assorted ranges, including past the end.
  auto whole = r.read_whole(loc(3, 2, 0x1002));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_FALSE(whole->gzipped);
  EXPECT_TRUE(whole->data == large_);
  for (auto [off, len] : std::vector<std::pair<size_t, size_t>>{
           {0, 4096}, {12345, 70000}, {1 << 20, 1 << 20}, {large_.size() - 10, 100}, {large_.size(), 10}}) {
    std::string b(len, '\0');
    auto got = r.read_range(loc(3, 2, 0x1002), off, b);
    ASSERT_TRUE(got.ok()) << got.error().message;
    const size_t expect = std::min(len, large_.size() - std::min(off, large_.size()));
    ASSERT_EQ(*got, expect) << off;
    EXPECT_TRUE(b.substr(0, expect) == large_.substr(off, expect)) << off;
  }
}

TEST_F(AgentFixture, GzipNeedlesAreInflatedForRanges) {
  AgentVolumeReader r(address_, client_options());
  std::string b(5000, '\0');
  auto n = r.read_range(loc(3, 3, 0x1003), 100000, b);
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_EQ(*n, 5000u);
  EXPECT_EQ(b, text_.substr(100000, 5000));
  auto whole = r.read_whole(loc(3, 3, 0x1003));
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->gzipped);
  auto clear = codec::gunzip(whole->data);
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(*clear, text_);
}

TEST_F(AgentFixture, ErrorStatusesMapToErrno) {
  AgentVolumeReader r(address_, client_options());
  std::string b(10, '\0');
  // A wrong cookie and a missing key give the same status and the same text (but their fid).
  auto cookie = r.read_range(loc(3, 1, 0xbad), 0, b);
  ASSERT_FALSE(cookie.ok());
  EXPECT_EQ(cookie.error().code, ENOENT);
  auto missing = r.read_range(loc(3, 77, 0xbad), 0, b);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  auto strip = [](std::string m, const std::string& fid) {
    for (size_t at = m.find(fid); at != std::string::npos; at = m.find(fid)) m.replace(at, fid.size(), "FID");
    return m;
  };
  EXPECT_EQ(strip(cookie.error().message,
                  "3,01"
                  "00000bad"),
            strip(missing.error().message, "3,4d00000bad"));
  EXPECT_EQ(cookie.error().message.find("cookie"), std::string::npos) << cookie.error().message;
  EXPECT_EQ(r.read_range(loc(9, 1, 0x1001), 0, b).error().code, ENOENT);
}

TEST_F(AgentFixture, DeletedNeedleOnlyWithAllowDeleted) {
  AgentVolumeReader r(address_, client_options());
  std::string b(10, '\0');
  EXPECT_EQ(r.read_range(loc(3, 4, 0x1004), 0, b).error().code, ENOENT);
  EXPECT_EQ(r.read_whole(loc(3, 4, 0x1004)).error().code, ENOENT);
  NeedleLocator l = loc(3, 4, 0x1004);
  l.allow_deleted = true;  // an open handle whose snapshot an overwrite superseded
  auto deleted = r.read_range(l, 0, b);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(b, "deleted bu");
  auto whole = r.read_whole(l);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_EQ(whole->data, "deleted but readable");
}

TEST_F(AgentFixture, CorruptNeedleIsNeverServed) {
  AgentVolumeReader r(address_, client_options());
  std::string b(4096, '\0');
  for (int i = 0; i < 2; ++i) {  // the second read must not find a "verified" verdict cached
    auto range = r.read_range(loc(3, 5, 0x1005), 0, b);
    ASSERT_FALSE(range.ok());
    EXPECT_EQ(range.error().code, EBADMSG);
    EXPECT_NE(range.error().message.find("CORRUPT"), std::string::npos) << range.error().message;
    auto whole = r.read_whole(loc(3, 5, 0x1005));
    ASSERT_FALSE(whole.ok());
    EXPECT_EQ(whole.error().code, EBADMSG);
  }
  EXPECT_TRUE(r.read_range(loc(3, 1, 0x1001), 0, b).ok());  // the others are fine
}

TEST_F(AgentFixture, TruncatedDatIsRefusedAndTheAgentLives) {
  AgentVolumeReader r(address_, client_options());
  std::string b(200000, '\0');
  ASSERT_TRUE(r.read_range(loc(3, 6, 0x1006), 0, b).ok());  // verified and cached
  ASSERT_EQ(::truncate((dir_ + "/3.dat").c_str(), static_cast<off_t>(last_at_ * 8 + 100000)), 0);
  for (uint64_t off : {uint64_t{0}, uint64_t{150000}}) {
    auto cut = r.read_range(loc(3, 6, 0x1006), off, std::span<char>(b.data(), 4096));
    ASSERT_FALSE(cut.ok()) << off;
    EXPECT_EQ(cut.error().code, EBADMSG) << cut.error().message;
  }
  EXPECT_EQ(r.read_whole(loc(3, 6, 0x1006)).error().code, EBADMSG);
  auto n = r.read_range(loc(3, 2, 0x1002), 12345, b);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_TRUE(b.substr(0, *n) == large_.substr(12345, *n));
}

TEST_F(AgentFixture, UnverifiedRangesAreRefusedWholeReadsCheckedByTheClient) {
  stop_server();
  verify_crc_ = false;  // an agent run with -verifyCrc=false
  start_server();
  AgentVolumeReader r(address_, client_options());
  std::string b(4096, '\0');
  auto range = r.read_range(loc(3, 2, 0x1002), 0, b);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().code, EIO);  // not EBADMSG: nothing says the copy is bad; read over HTTP
  EXPECT_NE(range.error().message.find("did not verify"), std::string::npos) << range.error().message;
  auto whole = r.read_whole(loc(3, 2, 0x1002));  // the client computes the CRC itself
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  EXPECT_TRUE(whole->data == large_);
  auto corrupt = r.read_whole(loc(3, 5, 0x1005));
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().code, EBADMSG) << corrupt.error().message;
  auto gz = r.read_range(loc(3, 3, 0x1003), 100, b);  // gzip needles come whole: checked too
  ASSERT_TRUE(gz.ok()) << gz.error().message;
  EXPECT_EQ(b.substr(0, *gz), text_.substr(100, 4096));
}

TEST_F(AgentFixture, WholeRepliesAreCappedAtTheChunkBound) {
  AgentVolumeReader r(address_, client_options());
  NeedleLocator l = loc(3, 2, 0x1002);
  l.max_stored_size = large_.size() - 1;
  auto w = r.read_whole(l);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, EIO);
  EXPECT_NE(w.error().message.find("exceeds"), std::string::npos) << w.error().message;
  l.max_stored_size = large_.size();
  EXPECT_TRUE(r.read_whole(l).ok());
}

TEST_F(AgentFixture, ReadTokensAreEnforced) {
  stop_server();
  jwt_key_ = "agent-test-read-key";
  start_server();
  auto refused = [&](AgentClientOptions o, uint64_t key, uint32_t cookie) {
    AgentVolumeReader r(address_, o);
    std::string b(16, '\0');
    auto n = r.read_range(loc(3, key, cookie), 0, b);
    EXPECT_FALSE(n.ok());
    return n.ok() ? 0 : n.error().code;
  };
  const int64_t now = std::time(nullptr);
  AgentClientOptions o = client_options();
  EXPECT_EQ(refused(o, 1, 0x1001), EPERM);  // no token
  o.jwt_read_key = "another-key";
  EXPECT_EQ(refused(o, 1, 0x1001), EPERM);
  o = client_options();
  o.read_token = transport::http::mint_read_jwt(jwt_key_, "3,011001", now + 60).value();  // wrong fid
  EXPECT_EQ(refused(o, 1, 0x1001), EPERM);
  o.read_token = transport::http::mint_read_jwt(jwt_key_, FileId{3, 1, 0x1001}.to_string(), now - 5).value();
  EXPECT_EQ(refused(o, 1, 0x1001), EPERM);  // expired
  o = client_options();
  o.jwt_read_key = jwt_key_;
  AgentVolumeReader good(address_, o);
  std::string b(64, '\0');
  auto n = good.read_range(loc(3, 1, 0x1001), 0, b);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(b.substr(0, *n), small_);
  EXPECT_TRUE(good.read_whole(loc(3, 2, 0x1002)).ok());
  EXPECT_TRUE(good.stat(FileId{3, 2, 0x1002}).ok());
  EXPECT_TRUE(good.ping().ok());  // PING needs no token
  for (const char* reason : {"missing", "signature", "wrong_fid", "expired"})
    EXPECT_GT(counter_value(std::string("seaweed_agent_auth_failures_total{path=\"ucx\",reason=\"") + reason + "\"}"),
              0u)
        << reason;
}

// What read tokens add to a 4 KiB read: the agent verifies one per request (the client reuses
// a minted token per fid; a miss costs one mint, ~1 us: tests/transport/http_jwt_test.cc).
// Printed, not asserted: two loaded cores and sanitizer builds make absolute figures noisy.
TEST_F(AgentFixture, TokenCostOn4KiBReads) {
  auto p50 = [&](const AgentClientOptions& o) {
    AgentVolumeReader r(address_, o);
    std::string b(4096, '\0');
    std::vector<double> us;
    for (int i = 0; i < 3000; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto n = r.read_range(loc(3, 2, 0x1002), static_cast<uint64_t>(i % 700) * 4096, b);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      EXPECT_TRUE(n.ok()) << n.error().message;
      if (!n.ok()) break;
    }
    std::sort(us.begin(), us.end());
    return us[us.size() / 2];
  };
  const double plain = p50(client_options());
  stop_server();
  jwt_key_ = "cost-key";
  start_server();
  AgentClientOptions o = client_options();
  o.jwt_read_key = jwt_key_;
  const double with_token = p50(o);
  std::printf("4 KiB reads, p50: %.1f us without read tokens, %.1f us with (agent verifies each)\n", plain, with_token);
}

TEST_F(AgentFixture, ConcurrentReaders) {
  AgentVolumeReader r(address_, client_options());
  std::atomic<int> failures{0};
  std::mutex first_mu;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::string b(200000, '\0');
      for (int i = 0; i < 100; ++i) {
        const size_t off = rng() % large_.size();
        const size_t len = 1 + rng() % b.size();
        auto n = r.read_range(loc(3, 2, 0x1002), off, std::span<char>(b.data(), len));
        const size_t expect = std::min(len, large_.size() - off);
        if (!n.ok() || *n != expect || std::memcmp(b.data(), large_.data() + off, expect) != 0) {
          ++failures;
          std::lock_guard lock(first_mu);
          if (first_error.empty()) first_error = n.ok() ? "wrong bytes" : n.error().message;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "first failure: " << first_error;
}

TEST_F(AgentFixture, NothingListeningFailsFast) {
  AgentClientOptions o = client_options();
  o.timeout_ms = 2000;
  AgentVolumeReader r("127.0.0.1:1", o);
  const auto start = std::chrono::steady_clock::now();
  std::string b(10, '\0');
  auto n = r.read_range(loc(3, 1, 0x1001), 0, b);
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(n.error().code == ECONNREFUSED || n.error().code == ECONNRESET || n.error().code == ETIMEDOUT)
      << n.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  EXPECT_FALSE(AgentVolumeReader("no-such-host.invalid:5", o).ping().ok());
  EXPECT_EQ(AgentVolumeReader("nonsense", o).ping().error().code, EINVAL);
}

TEST_F(AgentFixture, ReconnectsAfterAgentRestart) {
  AgentVolumeReader r(address_, client_options());
  ASSERT_TRUE(r.ping().ok());
  const uint16_t port = server_->port();
  stop_server();
  std::string b(10, '\0');
  EXPECT_FALSE(r.read_range(loc(3, 1, 0x1001), 0, b).ok());
  start_server(port);
  auto n = r.read_range(loc(3, 1, 0x1001), 0, b);  // a fresh channel connects
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(b, small_.substr(0, 10));
}

TEST_F(AgentFixture, PooledChannelSurvivesRestartTransparently) {
  AgentVolumeReader r(address_, client_options());
  ASSERT_TRUE(r.ping().ok());  // leaves an idle, connected channel in the pool
  const uint16_t port = server_->port();
  stop_server();
  start_server(port);
  std::string b(10, '\0');
  auto n = r.read_range(loc(3, 1, 0x1001), 0, b);  // stale channel fails, one retry on a new one
  ASSERT_TRUE(n.ok()) << n.error().message;
}

// A bare UCX client that sends arbitrary request headers and collects the replies.
class RawClient {
 public:
  explicit RawClient(const std::string& host, uint16_t port) {
    proto::ContextOptions co;
    co.defaults = proto::recommended_ucx_defaults();
    ctx_ = proto::create_context(co).value();
    worker_ = proto::create_worker(ctx_.get(), UCS_THREAD_MODE_SINGLE).value();
    ucp_am_handler_param_t am{};
    am.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
    am.id = proto::kReplyAmId;
    am.cb = [](void* arg, const void* h, size_t hl, void*, size_t, const ucp_am_recv_param_t*) -> ucs_status_t {
      auto* self = static_cast<RawClient*>(arg);
      auto r = proto::decode_reply(std::span<const uint8_t>(static_cast<const uint8_t*>(h), hl));
      if (r.ok()) self->replies_.push_back(*r);
      return UCS_OK;  // rendezvous payloads are declined
    };
    am.arg = this;
    ucp_worker_set_am_recv_handler(worker_.get(), &am);
    auto sa = *proto::resolve_address(host, port, false);
    ucp_ep_params_t p{};
    p.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                   UCP_EP_PARAM_FIELD_ERR_HANDLER;
    p.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
    p.sockaddr.addr = reinterpret_cast<const sockaddr*>(&sa);
    p.sockaddr.addrlen = sizeof(sockaddr_in);
    p.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    p.err_handler.cb = [](void* arg, ucp_ep_h, ucs_status_t) { static_cast<RawClient*>(arg)->failed_ = true; };
    p.err_handler.arg = this;
    ucp_ep_create(worker_.get(), &p, &ep_);
  }
  ~RawClient() {
    for (auto* r : pending_) ucp_request_free(r);
    proto::close_endpoint(worker_.get(), ep_, true, 200);
  }
  void send(std::vector<uint8_t> header) {
    buffers_.push_back(std::move(header));
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_AM_SEND_FLAG_REPLY;
    auto& h = buffers_.back();
    ucs_status_ptr_t st = ucp_am_send_nbx(ep_, proto::kRequestAmId, h.data(), h.size(), nullptr, 0, &p);
    if (UCS_PTR_IS_PTR(st)) pending_.push_back(st);
  }
  // Progresses until `n` replies arrived, the endpoint failed or the time is up.
  void wait(size_t n, int ms = 3000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (replies_.size() < n && !failed_ && std::chrono::steady_clock::now() < end)
      ucp_worker_progress(worker_.get());
  }
  std::vector<proto::Reply> replies_;
  bool failed_ = false;

 private:
  proto::ContextPtr ctx_;
  proto::WorkerPtr worker_;
  ucp_ep_h ep_ = nullptr;
  std::deque<std::vector<uint8_t>> buffers_;  // headers must outlive their sends
  std::vector<ucs_status_ptr_t> pending_;
};

std::vector<uint8_t> encode(const proto::Request& r) {
  std::vector<uint8_t> b(proto::request_wire_size(r));
  proto::encode_request(r, b);
  return b;
}

TEST_F(AgentFixture, MalformedRequestsGetBadRequestAndServerKeepsServing) {
  RawClient raw("127.0.0.1", server_->port());
  proto::Request good;
  good.request_id = 5;
  good.volume_id = 3;
  good.needle_id = 1;
  good.cookie = 0x1001;
  auto bad_version = encode(good);
  bad_version[4] = 9;
  raw.send(bad_version);
  auto truncated = encode(good);
  truncated.resize(40);
  raw.send(truncated);
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {  // mutated, but with our magic: each gets an answer
    auto b = encode(good);
    b[4 + rng() % (b.size() - 4)] ^= static_cast<uint8_t>(1 + rng() % 255);
    raw.send(b);
  }
  raw.send(encode(good));
  raw.wait(203);
  ASSERT_FALSE(raw.failed_);
  ASSERT_EQ(raw.replies_.size(), 203u);
  EXPECT_EQ(raw.replies_[0].status, proto::ReplyStatus::kBadRequest);
  EXPECT_EQ(raw.replies_[0].request_id, 5u);
  EXPECT_EQ(raw.replies_[1].status, proto::ReplyStatus::kBadRequest);
  EXPECT_EQ(raw.replies_.back().status, proto::ReplyStatus::kOk);

  // Garbage without our magic: the endpoint is closed, the agent lives on.
  RawClient junk("127.0.0.1", server_->port());
  std::vector<uint8_t> noise(64);
  for (auto& x : noise) x = static_cast<uint8_t>(rng());
  junk.send(noise);
  junk.wait(1, 1000);
  EXPECT_TRUE(junk.replies_.empty());
  AgentVolumeReader r(address_, client_options());
  EXPECT_TRUE(r.ping().ok());
}

TEST_F(AgentFixture, TooManyInFlightGetsBusy) {
  stop_server();
  start_server(0, /*max_in_flight=*/2);
  RawClient raw("127.0.0.1", server_->port());
  proto::Request big;
  big.volume_id = 3;
  big.needle_id = 2;
  big.cookie = 0x1002;
  big.flags = proto::kRequestWhole;  // 3 MiB rendezvous replies stay in flight until fetched
  for (uint64_t i = 1; i <= 20; ++i) {
    big.request_id = i;
    raw.send(encode(big));
  }
  raw.wait(20);
  size_t busy = 0;
  for (const auto& rep : raw.replies_) busy += rep.status == proto::ReplyStatus::kBusy;
  EXPECT_GT(busy, 0u);
  AgentVolumeReader r(address_, client_options());
  EXPECT_TRUE(r.ping().ok());  // other endpoints are unaffected
}

TEST_F(AgentFixture, FloodingConnectionIsClosedOthersAreServed) {
  stop_server();
  max_queued_per_connection_ = 16;  // a burst of 16 in one round: easy to provoke on 2 busy cores
  start_server();
  const uint64_t dropped_before = counter_value("seaweed_agent_dropped_requests_total");
  RawClient flood("127.0.0.1", server_->port());
  proto::Request ping;
  ping.op = proto::Op::kPing;
  for (uint64_t i = 1; i <= 5000; ++i) {  // far past max_queued_per_connection, without reading
    ping.request_id = i;
    flood.send(encode(ping));
  }
  flood.wait(5000, 3000);
  EXPECT_LT(flood.replies_.size(), 5000u);  // cut off, not answered in full
  AgentVolumeReader r(address_, client_options());
  EXPECT_TRUE(r.ping().ok());
  EXPECT_GT(counter_value("seaweed_agent_dropped_requests_total"), dropped_before);
}

TEST_F(AgentFixture, DeadClientDoesNotWedgeServer) {
  for (int i = 0; i < 5; ++i) {
    auto raw = std::make_unique<RawClient>("127.0.0.1", server_->port());
    proto::Request big;
    big.request_id = 1;
    big.volume_id = 3;
    big.needle_id = 2;
    big.cookie = 0x1002;
    big.flags = proto::kRequestWhole;
    raw->send(encode(big));
    raw->wait(1, 500);
    raw.reset();  // vanishes with a rendezvous reply pending
  }
  AgentVolumeReader r(address_, client_options());
  auto w = r.read_whole(loc(3, 2, 0x1002));
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->data == large_);
}

}  // namespace
}  // namespace seaweed::agent
