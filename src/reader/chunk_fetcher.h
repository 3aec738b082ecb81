// Gets the bytes of one chunk view: locates the needle's volume, asks the transport for a byte
// range (plain chunks) or the whole needle (compressed, encrypted), decodes and slices. Every
// transport hands out only bytes verified against the needle's CRC-32C (docs/ARCHITECTURE.md,
// "Verified bytes"), so what this returns and what the cache holds is verified too.
#pragma once

#include <span>
#include <string>

#include "chunks/chunk.h"
#include "common/result.h"
#include "filer/volume_locations.h"
#include "reader/chunk_cache.h"
#include "transport/volume_reader.h"

namespace seaweed::reader {

// The most bytes a chunk of clear_size bytes can take on a volume server: AES-GCM adds its nonce
// and tag, gzip a little for incompressible data. 0 (unknown, e.g. manifests) stays 0.
uint64_t max_stored_size(uint64_t clear_size, bool encrypted);

class ChunkFetcher {
 public:
  ChunkFetcher(transport::VolumeReader& transport, filer::VolumeLocations& locations, ChunkCache& cache)
      : transport_(transport), locations_(locations), cache_(cache) {}

  // Fills dst (dst.size() == view.length) with the view's bytes. Holes are zero-filled.
  // allow_deleted: the needle may have been deleted since the handle's snapshot (readDeleted).
  Status read_view(const chunks::ChunkView& view, std::span<char> dst, bool allow_deleted = false);

  // The chunk's whole clear bytes: fetched whole, decrypted, gunzipped (never past chunk_size
  // when it is known; 0 = unknown, for manifests); cached.
  Result<ChunkCache::Bytes> whole_chunk(const std::string& file_id, const std::string& cipher_key, bool is_compressed,
                                        uint64_t chunk_size = 0, bool allow_deleted = false);

 private:
  struct Shape {
    uint64_t clear_size = 0;
    bool encrypted = false;
    bool allow_deleted = false;
  };
  Result<transport::NeedleLocator> locate(const std::string& file_id, const Shape& shape);

  // Runs op against the needle's locations; if every location fails, asks the filer for fresh
  // locations once and tries again (volumes move, servers restart).
  template <class T, class Op>
  Result<T> with_locations(const std::string& file_id, const Shape& shape, Op&& op);

  transport::VolumeReader& transport_;
  filer::VolumeLocations& locations_;
  ChunkCache& cache_;
};

}  // namespace seaweed::reader
