#include "reader/chunk_fetcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec/codec.h"

namespace seaweed::reader {
namespace {

// Records what the fetcher asks for; answers read_whole with `stored`.
class RecordingReader : public transport::VolumeReader {
 public:
  Result<size_t> read_range(const transport::NeedleLocator& loc, uint64_t, std::span<char> dst) override {
    seen.push_back(loc);
    std::fill(dst.begin(), dst.end(), 'p');
    return dst.size();
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator& loc) override {
    seen.push_back(loc);
    return stored;
  }
  std::vector<transport::NeedleLocator> seen;
  transport::StoredNeedle stored;
};

struct FetcherFixture : ::testing::Test {
  RecordingReader transport;
  filer::VolumeLocations locations{
      [](const std::vector<uint32_t>& vids) -> Result<std::map<uint32_t, std::vector<std::string>>> {
        return std::map<uint32_t, std::vector<std::string>>{{vids[0], {"vs:1"}}};
      },
      std::chrono::seconds(60)};
  ChunkCache cache{64 << 20};
  ChunkFetcher fetcher{transport, locations, cache};

  static chunks::ChunkView view(uint64_t chunk_size, bool compressed = false, std::string key = "") {
    chunks::ChunkView v;
    v.file_id = "3,01637037d6";
    v.length = 16;
    v.chunk_size = chunk_size;
    v.is_compressed = compressed;
    v.cipher_key = std::move(key);
    return v;
  }
};

TEST(MaxStoredSize, AddsCodecOverheadAndKeepsUnknown) {
  EXPECT_EQ(max_stored_size(0, true), 0u);
  EXPECT_EQ(max_stored_size(1 << 20, false), (1u << 20) + (1u << 20) / 1000 + 1024);
  EXPECT_EQ(max_stored_size(1 << 20, true), max_stored_size(1 << 20, false) + 28);
  // Incompressible data still fits after gzip (stored blocks grow it a little).
  std::string noise(1 << 20, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>(i * 2654435761u >> 13);
  EXPECT_LE(codec::gzip(noise)->size(), max_stored_size(noise.size(), false));
}

TEST_F(FetcherFixture, PlainViewsTellTheTransportTheChunkSize) {
  std::string dst(16, '\0');
  ASSERT_TRUE(fetcher.read_view(view(4096), dst).ok());
  ASSERT_TRUE(fetcher.read_view(view(4096), dst, /*allow_deleted=*/true).ok());
  ASSERT_EQ(transport.seen.size(), 2u);
  EXPECT_EQ(transport.seen[0].clear_size, 4096u);
  EXPECT_EQ(transport.seen[0].max_stored_size, max_stored_size(4096, false));
  EXPECT_FALSE(transport.seen[0].allow_deleted);
  EXPECT_TRUE(transport.seen[1].allow_deleted);
  EXPECT_EQ(transport.seen[0].urls, std::vector<std::string>{"vs:1"});
}

TEST_F(FetcherFixture, GzipChunkIsNeverInflatedPastItsSize) {
  transport.stored = {codec::gzip(std::string(1 << 20, 'x')).value(), true};
  std::string dst(16, '\0');
  auto s = fetcher.read_view(view(4096, /*compressed=*/true), dst);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("4096-byte limit"), std::string::npos) << s.error().message;
  ASSERT_EQ(transport.seen.size(), 1u);
  EXPECT_EQ(transport.seen[0].max_stored_size, max_stored_size(4096, false));

  transport.stored = {codec::gzip(std::string(4096, 'x')).value(), true};
  ASSERT_TRUE(fetcher.read_view(view(4096, true), dst).ok());
  EXPECT_EQ(dst, std::string(16, 'x'));
}

TEST_F(FetcherFixture, EncryptedChunkAllowsTheCipherOverhead) {
  const std::string key(32, 'k');
  transport.stored = {codec::aes256gcm_seal(key, std::string(100, 'c')).value(), false};
  std::string dst(16, '\0');
  ASSERT_TRUE(fetcher.read_view(view(100, false, key), dst).ok());
  EXPECT_EQ(dst, std::string(16, 'c'));
  EXPECT_EQ(transport.seen[0].max_stored_size, max_stored_size(100, true));
}

TEST_F(FetcherFixture, ManifestsHaveNoKnownSize) {
  transport.stored = {"blob", false};
  auto blob = fetcher.whole_chunk("3,01637037d6", "", false);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(transport.seen[0].max_stored_size, 0u);
  EXPECT_EQ(transport.seen[0].clear_size, 0u);
}

}  // namespace
}  // namespace seaweed::reader
