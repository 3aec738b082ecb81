#include <gtest/gtest.h>

#include <cerrno>

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

}  // namespace
}  // namespace seaweed::codec
