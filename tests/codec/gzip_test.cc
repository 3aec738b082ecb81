#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "codec/codec.h"
#include "test_bytes.h"

namespace seaweed::codec {
namespace {

using testing::from_hex;
using testing::random_bytes;
using testing::text_like_bytes;

std::string gzip_or_die(std::string_view data) {
  auto compressed = gzip(data);
  EXPECT_TRUE(compressed.ok()) << compressed.error().message;
  return compressed.ok() ? compressed.value() : std::string();
}

TEST(Gzip, IsGzipChecksMagic) {
  EXPECT_TRUE(is_gzip(from_hex("1f8b08")));
  EXPECT_TRUE(is_gzip(from_hex("1f8b")));
  EXPECT_FALSE(is_gzip(from_hex("1f")));
  EXPECT_FALSE(is_gzip(""));
  EXPECT_FALSE(is_gzip(from_hex("8b1f08")));
  EXPECT_FALSE(is_gzip("plain text"));
}

TEST(Gzip, GunzipsPythonOutput) {
  // python3: gzip.compress(b'hello, seaweed\n', mtime=0)
  const auto compressed = from_hex("1f8b0800000000000203cb48cdc9c9d751284e4d2c4f4d4de10200be761c2f0f000000");
  auto clear = gunzip(compressed);
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), "hello, seaweed\n");
}

TEST(Gzip, RoundTripsEmpty) {
  const auto compressed = gzip_or_die("");
  EXPECT_TRUE(is_gzip(compressed));
  auto clear = gunzip(compressed);
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), "");
}

TEST(Gzip, RoundTripsSmallAndLarge) {
  for (size_t size : {size_t{1}, size_t{100}, size_t{65537}, size_t{10} << 20}) {
    const auto original = text_like_bytes(size, static_cast<uint32_t>(size));
    const auto compressed = gzip_or_die(original);
    EXPECT_TRUE(is_gzip(compressed));
    if (size > 1000) {
      EXPECT_LT(compressed.size(), original.size() / 2) << size;
    }
    auto clear = gunzip(compressed);
    ASSERT_TRUE(clear.ok()) << clear.error().message;
    EXPECT_EQ(clear.value(), original) << size;
  }
}

TEST(Gzip, RoundTripsIncompressibleData) {
  const auto original = random_bytes(1 << 20, 7);
  auto clear = gunzip(gzip_or_die(original));
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), original);
}

TEST(Gzip, GunzipsConcatenatedMembers) {
  const auto first = text_like_bytes(300000, 1);
  const auto second = random_bytes(5000, 2);
  auto clear = gunzip(gzip_or_die(first) + gzip_or_die("") + gzip_or_die(second));
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), first + second);
}

TEST(Gzip, RejectsNonGzipInput) {
  for (std::string_view input : {std::string_view(""), std::string_view("not gzip at all")}) {
    auto clear = gunzip(input);
    ASSERT_FALSE(clear.ok());
    EXPECT_EQ(clear.error().code, EIO);
    EXPECT_NE(clear.error().message.find("gunzip"), std::string::npos) << clear.error().message;
  }
}

TEST(Gzip, RejectsCorruptData) {
  auto compressed = gzip_or_die(text_like_bytes(100000, 3));
  compressed[compressed.size() / 2] ^= 0x55;
  auto clear = gunzip(compressed);
  ASSERT_FALSE(clear.ok());
  EXPECT_EQ(clear.error().code, EIO);
  EXPECT_NE(clear.error().message.find("corrupt"), std::string::npos) << clear.error().message;
}

TEST(Gzip, RejectsBadChecksum) {
  auto compressed = gzip_or_die("checksummed payload");
  compressed[compressed.size() - 8] ^= 0x01;  // CRC32 of the trailer
  auto clear = gunzip(compressed);
  ASSERT_FALSE(clear.ok());
  EXPECT_EQ(clear.error().code, EIO);
}

TEST(Gzip, RejectsTruncatedData) {
  const auto compressed = gzip_or_die(text_like_bytes(100000, 4));
  for (size_t keep : {size_t{2}, size_t{10}, compressed.size() / 2, compressed.size() - 1}) {
    auto clear = gunzip(std::string_view(compressed).substr(0, keep));
    ASSERT_FALSE(clear.ok()) << keep;
    EXPECT_EQ(clear.error().code, EIO);
    EXPECT_NE(clear.error().message.find("gunzip"), std::string::npos) << clear.error().message;
  }
}

TEST(Gzip, RejectsTrailingGarbage) {
  auto clear = gunzip(gzip_or_die("payload") + "junk");
  ASSERT_FALSE(clear.ok());
  EXPECT_EQ(clear.error().code, EIO);
  EXPECT_NE(clear.error().message.find("trailing garbage"), std::string::npos) << clear.error().message;
}

TEST(Gzip, EnforcesOutputLimit) {
  const auto original = std::string(1 << 20, 'z');
  const auto compressed = gzip_or_die(original);
  auto exact = gunzip(compressed, original.size());
  ASSERT_TRUE(exact.ok()) << exact.error().message;
  EXPECT_EQ(exact.value(), original);

  auto over = gunzip(compressed, original.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, EIO);
  EXPECT_NE(over.error().message.find("limit"), std::string::npos) << over.error().message;
}

TEST(Gzip, LimitZeroAllowsEmptyOutput) {
  auto clear = gunzip(gzip_or_die(""), 0);
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), "");
}

// ---- gunzip_stream / gunzip_range: bounded inflate for ranged reads ----

TEST(GunzipRange, SlicesMatchFullInflate) {
  const std::string clear = text_like_bytes(300000, 5);
  const std::string gz = gzip_or_die(clear);
  for (auto [off, len] : std::vector<std::pair<size_t, size_t>>{
           {0, 1}, {0, 65536}, {65535, 2}, {100000, 70000}, {299990, 100}, {300000, 10}, {123, 0}}) {
    std::string dst(len, '\0');
    auto n = gunzip_range(gz, off, dst);
    ASSERT_TRUE(n.ok()) << n.error().message;
    const size_t expect = off >= clear.size() ? 0 : std::min(len, clear.size() - off);
    ASSERT_EQ(*n, expect) << off << "+" << len;
    EXPECT_EQ(dst.substr(0, *n), clear.substr(std::min(off, clear.size()), expect)) << off;
  }
}

TEST(GunzipRange, ConcatenatedMembers) {
  const std::string a = text_like_bytes(100000, 1), b = text_like_bytes(50000, 2);
  const std::string gz = gzip_or_die(a) + gzip_or_die(b);
  std::string dst(20000, '\0');
  auto n = gunzip_range(gz, 95000, dst);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(dst, (a + b).substr(95000, 20000));
}

// A bomb: 64 MiB of zeros compress to ~64 KB. A 1-byte range must not inflate more than the
// range (the sink would see far more otherwise).
TEST(GunzipStream, StopsAtTheEndOfTheRange) {
  const std::string bomb = gzip_or_die(std::string(size_t{64} << 20, '\0'));
  EXPECT_LT(bomb.size(), 100000u);
  size_t pieces = 0, bytes = 0;
  auto s = gunzip_stream(bomb, 0, 1, [&](std::string_view piece) {
    ++pieces;
    bytes += piece.size();
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(bytes, 1u);
  EXPECT_EQ(pieces, 1u);
  // Open-ended reads are bounded by max_output instead.
  auto capped = gunzip_stream(
      bomb, 0, 0, [](std::string_view) { return true; }, 1 << 20);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.error().code, EIO);
  EXPECT_NE(capped.error().message.find("limit"), std::string::npos);
  // Pieces are never larger than the window.
  size_t largest = 0, total = 0;
  ASSERT_TRUE(gunzip_stream(bomb, 5, 3 << 20, [&](std::string_view p) {
                largest = std::max(largest, p.size());
                total += p.size();
                return true;
              }).ok());
  EXPECT_LE(largest, kGunzipWindow);
  EXPECT_EQ(total, size_t{3} << 20);
}

TEST(GunzipStream, SinkCanStopAndCorruptInputFails) {
  const std::string clear = text_like_bytes(200000, 9);
  const std::string gz = gzip_or_die(clear);
  size_t calls = 0;
  ASSERT_TRUE(gunzip_stream(gz, 0, 0, [&](std::string_view) { return ++calls < 2; }).ok());
  EXPECT_EQ(calls, 2u);
  std::string cut = gz.substr(0, gz.size() / 2);
  std::string dst(clear.size(), '\0');
  auto n = gunzip_range(cut, 0, dst);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, EIO);
  EXPECT_FALSE(gunzip_range("plain", 0, dst).ok());
  std::string garbage = gz;
  garbage[garbage.size() / 3] ^= 0x55;
  std::string all;
  auto g = gunzip_stream(garbage, 0, 0, [&](std::string_view p) {
    all.append(p);
    return true;
  });
  EXPECT_TRUE(!g.ok() || all != clear);  // never the clear text from corrupt input
}

}  // namespace
}  // namespace seaweed::codec
