// VolumeReader over the volume servers' HTTP read path, via libcurl. URL forms, statuses, the ETag
// and read JWTs: docs/seaweedfs/read-integrity.md and docs/seaweedfs/security-config.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "transport/http/verified_needles.h"
#include "transport/read_token_provider.h"
#include "transport/server_health.h"
#include "transport/volume_reader.h"

namespace seaweed::transport {

struct HttpOptions {
  long connect_timeout_ms = 3000;
  long request_timeout_ms = 30000;  // whole request, per replica tried
  std::string jwt_read_key;         // [jwt.signing.read] key; empty = send no JWT
  int64_t jwt_read_expires_sec = 10;
  // Without a key: tokens from this provider (per fid; client library, docs/PRELOAD.md).
  ReadTokenProvider read_tokens;
  // Check every byte against the needle's CRC-32C (the ETag). Off only for the benchmark's
  // before/after comparison (-verifyReads=false).
  bool verify = true;
  // Verified whole needles kept for the ranged reads that follow their first read.
  size_t needle_cache_bytes = 32u << 20;
  // (server, fid) -> verified CRC records, per generation (two generations).
  size_t verified_versions = 1u << 15;
  // -volumeServerAccess=filerProxy: the "servers" are filers, read as
  // http://FILER/?proxyChunkId=FID (the filer fetches from a volume server and relays the answer,
  // ETag and Range included; docs/seaweedfs/volume-server-access.md).
  bool filer_proxy = false;
  // While another replica remains, a replica gets this long to connect and this long without a
  // byte (whole seconds) before the next is asked; the last replica gets the full timeouts.
  long failover_timeout_ms = 1000;
  // A volume server that timed out or refused goes to the end of the replica order for a backoff
  // (doubling from initial to max; forgotten at its first success).
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
};

// The timeouts of one request to one replica.
struct ReplicaTimeouts {
  long connect_ms;
  long request_ms;
  long stall_ms;  // 0: none
};

// Tries loc.urls starting at first_replica(fid.key) (transport/replica_order.h), then the others
// in order, those that timed out or refused lately (backing off) last; a 404, 5xx, corrupt answer, transport error or
// timeout moves on to the next replica. When all fail the error names every replica with its reason. Thread-safe: each
// calling thread keeps its own keep-alive curl handle.
class HttpVolumeReader : public VolumeReader {
 public:
  explicit HttpVolumeReader(HttpOptions options = {});

  // Clear bytes [offset, offset + dst.size()), verified: the first read of a needle on a server
  // fetches it whole (Accept-Encoding: gzip) and checks it against the ETag; later reads send
  // "Range: bytes=OFF-END" (no Accept-Encoding: the server gunzips gzip needles and the range
  // applies to clear bytes) and accept a 206 only with the ETag that was verified. 416 (offset
  // past the end) = 0 bytes.
  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override;

  // GET with "Accept-Encoding: gzip": a gzip-flagged needle arrives as stored, with gzipped = true.
  // The stored bytes are checked against the ETag.
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override;

  // Body bytes delivered to callers, and HTTP requests issued (each replica tried counts).
  [[nodiscard]] uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  // Whole-needle GETs made to verify ranged reads (first touches), and replicas found corrupt.
  [[nodiscard]] uint64_t verify_fetches() const { return verify_fetches_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t corrupt_replicas() const { return corrupt_.load(std::memory_order_relaxed); }

 private:
  // Header lines every request carries (Authorization when a JWT key or token provider is set).
  Result<std::vector<std::string>> common_headers(const std::string& fid) const;
  std::string needle_url(const std::string& server, const std::string& fid, bool allow_deleted) const;

  // Indices into loc.urls in the order to ask them.
  std::vector<size_t> replica_order(const NeedleLocator& loc);
  [[nodiscard]] ReplicaTimeouts timeouts(bool last_replica) const;
  // Notes the health of server after an attempt (error: null when it served).
  void note_attempt(const std::string& server, const Error* error);

  // One replica's verified answer for read_range.
  Result<size_t> range_from(const std::string& server, const NeedleLocator& loc, const std::string& fid,
                            const std::vector<std::string>& headers, uint64_t offset, std::span<char> dst,
                            const ReplicaTimeouts& t);
  Result<size_t> first_touch(const std::string& server, const NeedleLocator& loc, const std::string& fid,
                             const std::vector<std::string>& headers, uint64_t offset, std::span<char> dst,
                             http::NeedleCache::Lease lease, const ReplicaTimeouts& t);
  Result<size_t> unverified_range(const NeedleLocator& loc, const std::string& fid, uint64_t offset,
                                  std::span<char> dst);
  void note_failure(const Error& e);

  HttpOptions options_;
  ServerHealth servers_;
  http::VerifiedVersions versions_;
  http::NeedleCache needles_;
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> verify_fetches_{0};
  std::atomic<uint64_t> corrupt_{0};
  Counter& verify_fetches_total_;  // the same, process-wide, for /metrics
  Counter& corrupt_total_;
};

}  // namespace seaweed::transport
