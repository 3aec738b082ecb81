// Manifest blobs as the mount resolves them: an entry whose one chunk is a manifest, resolved by
// reader::build_layout() through a ChunkFetcher whose transport serves needles from the fuzz
// input. Input: a byte n (1 + n % 4 blobs), then n - 1 blobs each behind a u16 big-endian length,
// then the last blob. The needle with key K is blob K % n, so manifests can nest and fan out
// (the entry's own chunk has key 0x100: blob 0). Whatever resolves must give a layout whose
// views tile any requested range. The expansion bounds are smaller than the mount's
// (reader::ManifestLimits): the same code refuses a fan-out, after 4096 chunks instead of 2^21,
// so a bomb costs microseconds, not a second, and long runs reach their 10 M executions.
#include <google/protobuf/stubs/logging.h>

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
// Hostile blobs make libprotobuf log every invalid UTF-8 string field; keep the fuzz logs readable.
const bool quiet_protobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();
}  // namespace

namespace {

class BlobTransport : public transport::VolumeReader {
 public:
  explicit BlobTransport(std::vector<std::string> blobs) : blobs_(std::move(blobs)) {}
  Result<size_t> read_range(const transport::NeedleLocator& loc, uint64_t offset, std::span<char> dst) override {
    const std::string& blob = blob_of(loc);
    if (offset >= blob.size()) return size_t{0};
    const size_t n = std::min<size_t>(dst.size(), blob.size() - offset);
    std::copy_n(blob.data() + offset, n, dst.data());
    return n;
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator& loc) override {
    return transport::StoredNeedle{blob_of(loc), false};
  }

 private:
  const std::string& blob_of(const transport::NeedleLocator& loc) const { return blobs_[loc.fid.key % blobs_.size()]; }
  std::vector<std::string> blobs_;
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
  fuzz::InputReader in(data, size);
  std::vector<std::string> blobs(1 + in.byte() % 4);
  for (size_t i = 0; i + 1 < blobs.size(); ++i) blobs[i] = std::string(fuzz::as_text(in.bytes(in.integer<uint16_t>())));
  blobs.back() = std::string(fuzz::as_text(in.rest()));
  BlobTransport transport(std::move(blobs));
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
  chunk->set_file_id("7,0100637037d6");
  chunk->set_offset(0);
  chunk->set_size(uint64_t{1} << 30);
  chunk->set_is_chunk_manifest(true);
  const reader::ManifestLimits limits{.max_depth = 4, .max_chunks = 4096, .max_manifests = 64};
  auto layout = reader::build_layout(entry, fetcher, limits);
  if (!layout) {
    FUZZ_CHECK(layout.error().code == EIO);
    return 0;
  }
  const auto& l = **layout;
  FUZZ_CHECK(l.size() >= (uint64_t{1} << 30));
  FUZZ_CHECK(l.chunks().size() <= limits.max_chunks);
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
