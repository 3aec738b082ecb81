// clear_range(): the bytes the sidecar's GET /read returns for a needle.
#include "agent/sidecar.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "volume/needle.h"

namespace seaweed::agent {
namespace {

NeedleRead needle_of(const std::string& stored, uint8_t flags) {
  NeedleRead n;
  n.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(stored.data()), stored.size());
  n.flags = flags;
  return n;
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

}  // namespace
}  // namespace seaweed::agent
