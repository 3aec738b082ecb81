// Gets the bytes of one chunk view: locates the needle's volume, asks the transport for a byte
// range (plain chunks) or the whole needle (compressed, encrypted), decodes and slices.
#pragma once

#include <span>
#include <string>

#include "chunks/chunk.h"
#include "common/result.h"
#include "filer/volume_locations.h"
#include "reader/chunk_cache.h"
#include "transport/volume_reader.h"

namespace seaweed::reader {

class ChunkFetcher {
 public:
  ChunkFetcher(transport::VolumeReader& transport, filer::VolumeLocations& locations, ChunkCache& cache)
      : transport_(transport), locations_(locations), cache_(cache) {}

  // Fills dst (dst.size() == view.length) with the view's bytes. Holes are zero-filled.
  // allow_deleted: serve needles the volume server has marked deleted (see NeedleLocator).
  Status read_view(const chunks::ChunkView& view, std::span<char> dst, bool allow_deleted = false);

  // The chunk's whole clear bytes: fetched whole, decrypted, gunzipped; cached (except bytes
  // read with allow_deleted, which only the asking handle may see).
  Result<ChunkCache::Bytes> whole_chunk(const std::string& file_id, const std::string& cipher_key, bool is_compressed,
                                        bool allow_deleted = false);

 private:
  Result<transport::NeedleLocator> locate(const std::string& file_id, bool allow_deleted);

  // Runs op against the needle's locations; if every location fails, asks the filer for fresh
  // locations once and tries again (volumes move, servers restart).
  template <class T, class Op>
  Result<T> with_locations(const std::string& file_id, bool allow_deleted, Op&& op);

  transport::VolumeReader& transport_;
  filer::VolumeLocations& locations_;
  ChunkCache& cache_;
};

}  // namespace seaweed::reader
