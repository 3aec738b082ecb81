// Encode/decode of the agent wire protocol, and strict validation of hostile bytes.
#include "transport/ucx/agent_protocol.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace seaweed::transport::ucx {
namespace {

std::vector<uint8_t> encode(const Request& r) {
  std::vector<uint8_t> b(request_wire_size(r));
  encode_request(r, b);
  return b;
}

Request sample_request() {
  Request r;
  r.op = Op::kRead;
  r.request_id = 0x0102030405060708ull;
  r.volume_id = 7;
  r.cookie = 0xdeadbeef;
  r.needle_id = 0x1234;
  r.offset = 4096;
  r.length = 1 << 20;
  return r;
}

TEST(AgentProtocol, RequestRoundTripAndLayout) {
  const Request r = sample_request();
  const auto b = encode(r);
  ASSERT_EQ(b.size(), kRequestHeaderSize);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "SWRQ");
  EXPECT_EQ(b[4], 2);     // version, little-endian
  EXPECT_EQ(b[6], 1);     // op READ
  EXPECT_EQ(b[8], 0x08);  // request id, little-endian
  EXPECT_EQ(b[20], 0xef);
  auto d = decode_request(b);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, r);
}

TEST(AgentProtocol, RequestWithToken) {
  Request r = sample_request();
  r.token = "jwt-token";
  const auto b = encode(r);
  auto d = decode_request(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->token, "jwt-token");
  auto shorter = b;
  shorter.pop_back();
  EXPECT_FALSE(decode_request(shorter).ok());
}

TEST(AgentProtocol, ReplyRoundTripAndLayout) {
  Reply r;
  r.status = ReplyStatus::kOk;
  r.request_id = 99;
  r.needle_flags = kNeedleCompressed;
  r.crc32c = 0xabcdef01;
  r.needle_data_size = 1000;
  r.data_offset = 0;
  r.data_length = 1000;
  r.reply_flags = kReplyWhole | kReplyCrcVerified;
  const auto b = encode_reply(r);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "SWRP");
  auto d = decode_reply(b);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, r);
}

TEST(AgentProtocol, RequestFlagsRoundTrip) {
  auto r = sample_request();
  r.flags = kRequestWhole | kRequestWaited | kRequestAllowDeleted;
  auto d = decode_request(encode(r));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->flags, kRequestWhole | kRequestWaited | kRequestAllowDeleted);
  auto b = encode(r);
  EXPECT_EQ(b[48], 0x07);  // WHOLE | WAITED | ALLOW_DELETED
}

TEST(AgentProtocol, CorruptStatusAndVersion1StatusTwo) {
  Reply r;
  r.status = ReplyStatus::kCorrupt;
  r.data_length = 20;
  auto d = decode_reply(encode_reply(r));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->status, ReplyStatus::kCorrupt);
  auto b = encode_reply(r);
  EXPECT_EQ(b[6], 9);
  b[6] = 2;  // COOKIE_MISMATCH in version 1: a version-2 agent never says it
  EXPECT_FALSE(decode_reply(b).ok());
  Reply ok;
  ok.needle_data_size = uint64_t{1} << 32;  // DataSize is a u32 on disk
  EXPECT_FALSE(decode_reply(encode_reply(ok)).ok());
}

TEST(AgentProtocol, RequestValidation) {
  const auto good = encode(sample_request());
  auto expect_bad = [](std::vector<uint8_t> b, const char* what) {
    auto d = decode_request(b);
    EXPECT_FALSE(d.ok()) << what;
    if (!d.ok()) {
      EXPECT_EQ(d.error().code, EPROTO) << what;
    }
  };
  auto b = good;
  b[0] ^= 1;
  expect_bad(b, "magic");
  b = good;
  b[4] = 1;
  expect_bad(b, "version 1 (an older mount)");
  b = good;
  b[4] = 3;
  expect_bad(b, "version 3");
  b = good;
  b[6] = 9;
  expect_bad(b, "op");
  b = good;
  b[6] = 0;
  expect_bad(b, "op 0");
  b = good;
  b[48] = 0x80;
  expect_bad(b, "flags");
  b = good;
  b[60] = 1;
  expect_bad(b, "reserved");
  b = good;
  b[52] = 0xff;
  b[53] = 0xff;
  expect_bad(b, "token length");
  b = good;
  b.resize(63);
  expect_bad(b, "truncated");
  b = good;
  b.push_back(0);
  expect_bad(b, "trailing");
  Request r = sample_request();
  r.volume_id = 0;
  expect_bad(encode(r), "vid 0");
  r = sample_request();
  r.needle_id = 0;
  expect_bad(encode(r), "key 0");
  r = sample_request();
  r.length = kMaxReadLength + 1;
  expect_bad(encode(r), "length");
  r = sample_request();
  r.offset = ~0ull;
  expect_bad(encode(r), "offset");
  Request ping;
  ping.op = Op::kPing;
  EXPECT_TRUE(decode_request(encode(ping)).ok());  // ping needs no ids
}

TEST(AgentProtocol, ReplyValidation) {
  Reply r;
  r.needle_data_size = 10;
  r.data_offset = 4;
  r.data_length = 6;
  EXPECT_TRUE(decode_reply(encode_reply(r)).ok());
  r.data_length = 7;
  EXPECT_FALSE(decode_reply(encode_reply(r)).ok());
  r.data_offset = 11;
  r.data_length = 0;
  EXPECT_FALSE(decode_reply(encode_reply(r)).ok());
  Reply e;
  e.status = ReplyStatus::kNotFound;
  e.data_length = 100;  // error text
  EXPECT_TRUE(decode_reply(encode_reply(e)).ok());
  e.data_length = kMaxErrorText + 1;
  EXPECT_FALSE(decode_reply(encode_reply(e)).ok());
  auto b = encode_reply(Reply{});
  b[6] = 50;
  EXPECT_FALSE(decode_reply(b).ok());
  b = encode_reply(Reply{});
  b[49] = 0x10;
  EXPECT_FALSE(decode_reply(b).ok());
  EXPECT_FALSE(decode_reply(std::span<const uint8_t>(b).first(10)).ok());
}

TEST(AgentProtocol, PeekRequestId) {
  const auto b = encode(sample_request());
  EXPECT_EQ(peek_request_id(b), 0x0102030405060708ull);
  EXPECT_EQ(peek_request_id(std::span<const uint8_t>(b).first(15)), 0u);
}

TEST(AgentProtocol, StatusErrnoMapping) {
  EXPECT_EQ(status_from_errno(ENOENT), ReplyStatus::kNotFound);
  EXPECT_EQ(status_from_errno(EACCES), ReplyStatus::kNotFound);  // wrong cookie looks missing
  EXPECT_EQ(status_from_errno(ENXIO), ReplyStatus::kVolumeNotHere);
  EXPECT_EQ(status_from_errno(EAGAIN), ReplyStatus::kRetry);
  EXPECT_EQ(status_from_errno(EBADMSG), ReplyStatus::kCorrupt);
  EXPECT_EQ(status_from_errno(EPERM), ReplyStatus::kAuth);
  EXPECT_EQ(status_from_errno(EIO), ReplyStatus::kInternal);
  // The client's errno table (transport/volume_reader.h).
  EXPECT_EQ(errno_from_status(ReplyStatus::kNotFound), ENOENT);
  EXPECT_EQ(errno_from_status(ReplyStatus::kVolumeNotHere), ENOENT);
  EXPECT_EQ(errno_from_status(ReplyStatus::kCorrupt), EBADMSG);
  EXPECT_EQ(errno_from_status(ReplyStatus::kAuth), EPERM);
  EXPECT_EQ(errno_from_status(ReplyStatus::kBusy), EAGAIN);
  EXPECT_EQ(errno_from_status(ReplyStatus::kRetry), EAGAIN);
  EXPECT_STREQ(status_name(ReplyStatus::kCorrupt), "CORRUPT");
}

// Random and mutated bytes: the decoders must reject or accept without crashing, and anything
// accepted must re-encode to the same bytes (no field is silently dropped).
TEST(AgentProtocol, FuzzDecoders) {
  std::mt19937_64 rng(42);
  const auto good = encode(sample_request());
  size_t accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::vector<uint8_t> b;
    if (i % 2) {
      b = good;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      if (rng() % 8 == 0) b.resize(rng() % 80);
    } else {
      b.resize(rng() % 100);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    }
    auto d = decode_request(b);
    if (d.ok()) {
      ++accepted;
      EXPECT_EQ(encode(*d), b);
    }
    auto rep = decode_reply(b);
    if (rep.ok()) {
      const auto again = encode_reply(*rep);
      EXPECT_EQ(std::vector<uint8_t>(again.begin(), again.end()), b);
    }
  }
  EXPECT_GT(accepted, 0u);  // some single-bit flips (ids, offsets) stay valid
}

}  // namespace
}  // namespace seaweed::transport::ucx
