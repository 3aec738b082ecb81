// The data-transport interface of the read path: how needle bytes get from a volume server (or
// the RDMA agent beside it) into the mount. Implementations: transport/http (libcurl),
// transport/ucx (agent client), and the fallback policy that combines them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/file_id.h"
#include "common/result.h"

namespace seaweed::transport {

// Where a needle lives: its parsed id and the volume server URLs ("host:port", no scheme)
// holding its volume, in the order to try them.
//
// Error codes every VolumeReader reports the same way (the fallback policy and the replica loop
// depend on them):
//   ENOENT   needle absent, deleted (without allow_deleted) or its cookie does not match
//   EBADMSG  the replica's stored bytes fail their CRC-32C (corrupt copy): try another replica,
//            never hand the bytes out
//   EPERM    the read token was refused
//   ETIMEDOUT, ECONNREFUSED, ECONNRESET, EIO, EPROTO: the transport or server failed
struct NeedleLocator {
  FileId fid;
  std::string fid_text;           // canonical string form of fid
  std::vector<std::string> urls;  // replicas
  // Serve a needle the volume server has marked deleted (HTTP readDeleted=true): only for reads
  // of an open handle whose snapshot was superseded by an overwrite or delete.
  bool allow_deleted = false;
  // Upper bound of the needle's stored size (from the chunk's size, plus codec overhead); replies
  // claiming more are refused before anything is allocated. 0: unknown.
  uint64_t max_stored_size = 0;
  // The chunk's clear size when known: a gzip needle is never inflated past it. 0: unknown.
  uint64_t clear_size = 0;
};

// A needle's data exactly as stored (after the volume server's own gzip, if it applied one).
struct StoredNeedle {
  std::string data;
  bool gzipped = false;  // data is gzip (needle flag 0x01 / Content-Encoding: gzip)
};

// Calls made from a background thread (readahead) are not waited for by anyone yet: transports
// wait for them without busy-polling, so the CPUs stay with the threads an application is
// blocked on. Measured on 2 cores: a 1 GiB stream through the agent went from 0.8-0.95 to
// 1.4-1.6 GB/s when the readahead threads stopped spinning.
void set_background_thread(bool background);
[[nodiscard]] bool is_background_thread();

class VolumeReader {
 public:
  virtual ~VolumeReader() = default;

  // Reads clear bytes [offset, offset + dst.size()) of a needle that is not encrypted into dst.
  // Returns the number of bytes written (short only at the needle's end).
  virtual Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) = 0;

  // Reads the needle's whole stored data (for encrypted/compressed chunks and manifests).
  virtual Result<StoredNeedle> read_whole(const NeedleLocator& loc) = 0;
};

}  // namespace seaweed::transport
