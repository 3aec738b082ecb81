// Manifest blobs as the mount resolves them: an entry whose one chunk is a manifest, resolved by
// reader::build_layout() through a ChunkFetcher whose transport serves the fuzz input as the
// stored bytes of every needle (so nested manifests fetch the same blob again, the worst case).
// Whatever resolves must give a layout whose views tile any requested range.
#include <map>
#include <string>
#include <vector>

#include "filer/volume_locations.h"
#include "fuzz_support.h"
#include "reader/chunk_cache.h"
#include "reader/chunk_fetcher.h"
#include "reader/file_reader.h"
#include "transport/volume_reader.h"

using namespace seaweed;

namespace {

class BlobTransport : public transport::VolumeReader {
 public:
  explicit BlobTransport(std::string blob) : blob_(std::move(blob)) {}
  Result<size_t> read_range(const transport::NeedleLocator&, uint64_t offset, std::span<char> dst) override {
    if (offset >= blob_.size()) return size_t{0};
    const size_t n = std::min<size_t>(dst.size(), blob_.size() - offset);
    std::copy_n(blob_.data() + offset, n, dst.data());
    return n;
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator&) override {
    return transport::StoredNeedle{blob_, false};
  }

 private:
  std::string blob_;
};

void check_views(const chunks::FileLayout& layout, uint64_t offset, uint64_t length) {
  const auto views = layout.views(offset, length);
  if (offset >= layout.size() || length == 0) {
    FUZZ_CHECK(views.empty());
    return;
  }
  const uint64_t end = length > layout.size() - offset ? layout.size() : offset + length;
  uint64_t cursor = offset;
  for (const auto& v : views) {
    FUZZ_CHECK(v.file_offset == cursor);
    FUZZ_CHECK(v.length > 0 && v.length <= end - cursor);
    cursor += v.length;
  }
  FUZZ_CHECK(cursor == end);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BlobTransport transport(std::string(reinterpret_cast<const char*>(data), size));
  filer::VolumeLocations locations(
      [](const std::vector<uint32_t>& ids) {
        std::map<uint32_t, std::vector<std::string>> out;
        for (uint32_t id : ids) out[id] = {"127.0.0.1:8080"};
        return Result<std::map<uint32_t, std::vector<std::string>>>(std::move(out));
      },
      std::chrono::seconds(600));
  reader::ChunkCache cache(64 << 20);
  reader::ChunkFetcher fetcher(transport, locations, cache);

  filer_pb::Entry entry;
  entry.set_name("fuzzed");
  auto* chunk = entry.add_chunks();
  chunk->set_file_id("7,01637037d6");
  chunk->set_offset(0);
  chunk->set_size(uint64_t{1} << 30);
  chunk->set_is_chunk_manifest(true);
  auto layout = reader::build_layout(entry, fetcher);
  if (!layout) {
    FUZZ_CHECK(layout.error().code == EIO);
    return 0;
  }
  const auto& l = **layout;
  FUZZ_CHECK(l.size() >= (uint64_t{1} << 30));
  for (const auto& c : l.chunks()) FUZZ_CHECK(!c.is_manifest && c.offset >= 0);
  uint64_t previous_stop = 0;
  for (const auto& iv : l.intervals()) {
    FUZZ_CHECK(iv.start < iv.stop && iv.start >= previous_stop && iv.chunk < l.chunks().size());
    previous_stop = iv.stop;
  }
  check_views(l, 0, 1 << 20);
  for (const auto& iv : l.intervals()) check_views(l, iv.start == 0 ? 0 : iv.start - 1, iv.stop - iv.start + 2);
  return 0;
}
