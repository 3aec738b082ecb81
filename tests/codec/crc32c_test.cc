#include <gtest/gtest.h>

#include "codec/codec.h"
#include "codec/crc32c_internal.h"
#include "test_bytes.h"

namespace seaweed::codec {
namespace {

using testing::random_bytes;

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c("a"), 0xC1D04330u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32c, ChainsLikeGoCrc32Update) {
  const auto data = random_bytes(100000, 9);
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, data.size()}) {
    const std::string_view view(data);
    EXPECT_EQ(crc32c(view.substr(split), crc32c(view.substr(0, split))), crc32c(data)) << split;
  }
}

TEST(Crc32c, CombineEqualsTheCrcOfTheConcatenation) {
  const auto data = random_bytes(70000, 13);
  const std::string_view view(data);
  for (size_t split : {size_t{0}, size_t{1}, size_t{8}, size_t{4095}, size_t{65536}, data.size()}) {
    const auto a = view.substr(0, split), b = view.substr(split);
    EXPECT_EQ(crc32c_combine(crc32c(a, 0x5eed), crc32c(b), b.size()), crc32c(data, 0x5eed)) << split;
  }
}

TEST(Crc32c, ThreeLaneHardwarePathMatchesSoftwareOnLargeInputs) {
  if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2";
  const auto data = random_bytes((1 << 20) + 123, 17);
  const std::string_view view(data);
  // Around the lane threshold (24 KiB), odd lengths and offsets, and a whole 1 MiB needle.
  for (size_t length : {size_t{24575}, size_t{24576}, size_t{24583}, size_t{100001}, size_t{1} << 20}) {
    for (size_t start : {size_t{0}, size_t{3}}) {
      const auto piece = view.substr(start, length);
      EXPECT_EQ(detail::crc32c_hardware(piece, 0), detail::crc32c_software(piece, 0)) << length << "@" << start;
      EXPECT_EQ(detail::crc32c_hardware(piece, 0xabcdef), detail::crc32c_software(piece, 0xabcdef)) << length;
    }
  }
}

TEST(Crc32c, SoftwareAndHardwareAgreeOnAllLengthsAndAlignments) {
  const auto data = random_bytes(4096 + 64, 11);
  const std::string_view view(data);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t length = 0; length < 300; ++length) {
      const auto piece = view.substr(start, length);
      const uint32_t expected = detail::crc32c_software(piece, 0);
      EXPECT_EQ(crc32c(piece), expected);
      if (detail::crc32c_hardware_available()) {
        EXPECT_EQ(detail::crc32c_hardware(piece, 0x1234), detail::crc32c_software(piece, 0x1234));
      }
    }
  }
  EXPECT_EQ(detail::crc32c_software("123456789", 0), 0xE3069283u);
  if (detail::crc32c_hardware_available()) {
    EXPECT_EQ(detail::crc32c_hardware("123456789", 0), 0xE3069283u);
  }
}

}  // namespace
}  // namespace seaweed::codec
