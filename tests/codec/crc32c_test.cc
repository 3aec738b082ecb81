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
