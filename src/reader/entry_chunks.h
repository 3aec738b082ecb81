// Conversion of filer protobuf chunks into the pure chunks::Chunk model.
#pragma once

#include <vector>

#include "chunks/chunk.h"
#include "common/result.h"
#include "filer.pb.h"

namespace seaweed::reader {

// file_id if set, else the formatted fid (the filer usually sends both; manifest blobs only fid).
Result<chunks::Chunk> to_chunk(const filer_pb::FileChunk& chunk);
Result<std::vector<chunks::Chunk>> to_chunks(const google::protobuf::RepeatedPtrField<filer_pb::FileChunk>& chunks);

}  // namespace seaweed::reader
