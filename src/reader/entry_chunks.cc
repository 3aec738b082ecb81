#include "reader/entry_chunks.h"

#include "common/file_id.h"

namespace seaweed::reader {

Result<chunks::Chunk> to_chunk(const filer_pb::FileChunk& c) {
  chunks::Chunk out;
  if (!c.file_id().empty()) {
    auto parsed = FileId::parse(c.file_id());
    if (!parsed.ok())
      return make_error(EIO, "chunk at offset " + std::to_string(c.offset()) + ": " + parsed.error().message);
    out.file_id = parsed->to_string();
  } else if (c.has_fid() && c.fid().file_key() != 0) {
    out.file_id = FileId{c.fid().volume_id(), c.fid().file_key(), c.fid().cookie()}.to_string();
  } else {
    return make_error(EIO, "chunk at offset " + std::to_string(c.offset()) + " has no file id (or needle key 0)");
  }
  if (c.offset() < 0)
    return make_error(EIO, "chunk " + out.file_id + " has negative offset " + std::to_string(c.offset()));
  // Chunks are sealed with AES-256-GCM: any other key length would fail only when decrypting,
  // with EINVAL where a read must report EIO.
  if (!c.cipher_key().empty() && c.cipher_key().size() != 32)
    return make_error(
        EIO, "chunk " + out.file_id + " has a " + std::to_string(c.cipher_key().size()) + "-byte cipher key, not 32");
  out.offset = c.offset();
  out.size = c.size();
  out.modified_ts_ns = c.modified_ts_ns();
  out.cipher_key = c.cipher_key();
  out.is_compressed = c.is_compressed();
  out.is_manifest = c.is_chunk_manifest();
  return out;
}

Result<std::vector<chunks::Chunk>> to_chunks(const google::protobuf::RepeatedPtrField<filer_pb::FileChunk>& list) {
  std::vector<chunks::Chunk> out;
  out.reserve(list.size());
  for (const auto& c : list) {
    auto converted = to_chunk(c);
    if (!converted.ok()) return converted.error();
    out.push_back(std::move(converted.value()));
  }
  return out;
}

}  // namespace seaweed::reader
