// Pure data types for chunk resolution; no protobuf, no I/O (docs/seaweedfs/chunks.md).
#pragma once

#include <cstdint>
#include <string>

namespace seaweed::chunks {

// One FileChunk of an entry, as the reader needs it.
struct Chunk {
  std::string file_id;         // canonical "<vid>,<keycookie>"
  int64_t offset = 0;          // where the chunk's clear bytes start in the file
  uint64_t size = 0;           // clear (decompressed, decrypted) length that maps onto the file
  int64_t modified_ts_ns = 0;  // newest wins where chunks overlap
  std::string cipher_key;      // non-empty => AES-256-GCM, fetch whole needle
  bool is_compressed = false;  // gzip (after decrypt)
  bool is_manifest = false;    // needle holds a FileChunkManifest
};

// A piece of a read: either bytes of one chunk or a hole (zeros).
struct ChunkView {
  uint64_t file_offset = 0;  // absolute offset in the file where this view starts
  uint64_t length = 0;       // bytes in this view
  bool is_hole = false;      // true: zeros, the fields below are unused
  std::string file_id;
  uint64_t offset_in_chunk = 0;  // first byte wanted, in the chunk's clear bytes
  uint64_t chunk_size = 0;       // the chunk's clear length (Chunk::size)
  std::string cipher_key;
  bool is_compressed = false;
  int64_t modified_ts_ns = 0;

  // Encrypted or compressed chunks must be fetched whole and decoded before slicing.
  [[nodiscard]] bool needs_whole_chunk() const { return !cipher_key.empty() || is_compressed; }
};

}  // namespace seaweed::chunks
