// clear_range(): the bytes the sidecar's GET /read returns for a needle.
#include "agent/sidecar.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "volume/needle.h"

namespace seaweed::agent {
namespace {

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

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
  const std::string gz = gzip(text);
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
