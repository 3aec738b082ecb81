#include "client/layout_blob.h"

#include <gtest/gtest.h>

#include <random>

#include "codec/codec.h"

namespace seaweed::client {
namespace {

LayoutSnapshot sample() {
  LayoutSnapshot s;
  s.snapshot_id = 0x1122334455667788ull;
  s.file_size = 5 << 20;
  s.flags = LayoutSnapshot::kRdmaEnabled | LayoutSnapshot::kFallback;
  s.rdma_timeout_ms = 5000;
  s.http_timeout_ms = 30000;
  chunks::Chunk a;
  a.file_id = "3,01637037d6";
  a.offset = 0;
  a.size = 4 << 20;
  a.modified_ts_ns = 1700000000000000000;
  chunks::Chunk b = a;
  b.file_id = "7,0a1b2c3d4e5f60718293";
  b.offset = 4 << 20;
  b.size = 1 << 20;
  b.is_compressed = true;
  b.cipher_key = std::string(32, '\x5a');
  s.chunks = {a, b};
  s.volumes = {{3, {{"127.0.0.1:8080", "127.0.0.1:18515"}, {"127.0.0.1:8081", ""}}}, {7, {{"10.0.0.2:8080", ""}}}};
  return s;
}

void expect_same(const LayoutSnapshot& x, const LayoutSnapshot& y) {
  EXPECT_EQ(x.snapshot_id, y.snapshot_id);
  EXPECT_EQ(x.file_size, y.file_size);
  EXPECT_EQ(x.flags, y.flags);
  EXPECT_EQ(x.rdma_timeout_ms, y.rdma_timeout_ms);
  EXPECT_EQ(x.http_timeout_ms, y.http_timeout_ms);
  ASSERT_EQ(x.chunks.size(), y.chunks.size());
  for (size_t i = 0; i < x.chunks.size(); ++i) {
    EXPECT_EQ(x.chunks[i].file_id, y.chunks[i].file_id);
    EXPECT_EQ(x.chunks[i].offset, y.chunks[i].offset);
    EXPECT_EQ(x.chunks[i].size, y.chunks[i].size);
    EXPECT_EQ(x.chunks[i].modified_ts_ns, y.chunks[i].modified_ts_ns);
    EXPECT_EQ(x.chunks[i].cipher_key, y.chunks[i].cipher_key);
    EXPECT_EQ(x.chunks[i].is_compressed, y.chunks[i].is_compressed);
  }
  EXPECT_EQ(x.volumes, y.volumes);
}

// Re-seals a body with a fresh CRC, so a test reaches the checks behind the checksum.
std::string reseal(std::string body) {
  const uint32_t crc = codec::crc32c(body);
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return body;
}
std::string body_of(const std::string& blob) { return blob.substr(0, blob.size() - 4); }

TEST(LayoutBlob, RoundTrips) {
  const auto s = sample();
  auto decoded = decode_snapshot(encode_snapshot(s));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  expect_same(s, *decoded);
}

TEST(LayoutBlob, EmptyFileRoundTrips) {
  LayoutSnapshot s;
  auto decoded = decode_snapshot(encode_snapshot(s));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->chunks.empty());
  EXPECT_TRUE(decoded->volumes.empty());
}

TEST(LayoutBlob, EveryTruncationIsRefused) {
  const std::string blob = encode_snapshot(sample());
  for (size_t n = 0; n < blob.size(); ++n) {
    auto r = decode_snapshot(blob.substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes";
    EXPECT_EQ(r.error().code, EPROTO);
  }
}

TEST(LayoutBlob, EveryFlippedBitIsRefused) {
  const std::string blob = encode_snapshot(sample());
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = blob;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      ASSERT_FALSE(decode_snapshot(bad).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(LayoutBlob, TruncatedBodiesWithValidChecksumAreRefused) {
  const std::string body = body_of(encode_snapshot(sample()));
  for (size_t n = 0; n < body.size(); ++n) {
    auto r = decode_snapshot(reseal(body.substr(0, n)));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, EPROTO);
  }
}

TEST(LayoutBlob, RefusesWrongMagicVersionAndTrailingBytes) {
  std::string body = body_of(encode_snapshot(sample()));
  std::string magic = body;
  magic[0] = 'X';
  EXPECT_NE(decode_snapshot(reseal(magic)).error().message.find("magic"), std::string::npos);
  std::string version = body;
  version[4] = 2;
  EXPECT_NE(decode_snapshot(reseal(version)).error().message.find("version 2"), std::string::npos);
  EXPECT_NE(decode_snapshot(reseal(body + "x")).error().message.find("trailing"), std::string::npos);
}

TEST(LayoutBlob, RefusesMalformedFidsAndOverflowingChunks) {
  auto s = sample();
  s.chunks[0].file_id = "not-a-fid";
  EXPECT_FALSE(decode_snapshot(encode_snapshot(s)).ok());
  s = sample();
  s.chunks[1].offset = INT64_MAX;
  s.chunks[1].size = 2;
  EXPECT_NE(decode_snapshot(encode_snapshot(s)).error().message.find("INT64_MAX"), std::string::npos);
  s = sample();
  s.volumes[0].replicas[0].url.clear();
  EXPECT_FALSE(decode_snapshot(encode_snapshot(s)).ok());
  s = sample();
  s.chunks[0].cipher_key = std::string(kMaxCipherKeyBytes + 1, 'k');
  EXPECT_FALSE(decode_snapshot(encode_snapshot(s)).ok());
}

TEST(LayoutBlob, HugeCountsAreRefusedBeforeAllocating) {
  std::string body = body_of(encode_snapshot(LayoutSnapshot{}));
  // The chunk count sits right after the 36-byte header.
  body[36] = body[37] = body[38] = body[39] = '\xff';
  auto r = decode_snapshot(reseal(body));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chunk count"), std::string::npos);
}

// Fuzz-style: random bytes and mutated valid blobs, resealed so they pass the checksum. The
// decoder must answer ok or EPROTO, and whatever it accepts must encode back to the same bytes.
TEST(LayoutBlob, RandomizedDecodeNeverMisbehaves) {
  std::mt19937 rng(12345);
  const std::string valid = body_of(encode_snapshot(sample()));
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body;
    if (round % 2 == 0) {
      body.resize(rng() % 200);
      for (char& c : body) c = static_cast<char>(rng());
      if (body.size() >= 6 && round % 4 == 0) {  // a plausible header, so decoding gets further
        body.replace(0, 6, valid.substr(0, 6));
      }
    } else {
      body = valid;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        switch (rng() % 3) {
          case 0:
            body[rng() % body.size()] = static_cast<char>(rng());
            break;
          case 1:
            body.erase(rng() % body.size(), 1 + rng() % 8);
            break;
          default:
            body.insert(rng() % body.size(), 1 + rng() % 8, static_cast<char>(rng()));
        }
        if (body.empty()) body = valid;
      }
    }
    const std::string blob = reseal(body);
    auto r = decode_snapshot(blob);
    if (r.ok()) {
      ++accepted;
      EXPECT_EQ(encode_snapshot(*r), blob);
    } else {
      EXPECT_EQ(r.error().code, EPROTO);
    }
  }
  EXPECT_GT(accepted, 0);  // some mutations (e.g. of ids or sizes) are valid snapshots
}

}  // namespace
}  // namespace seaweed::client
