// The reading machinery of the client library in an application's process: the same chunk
// fetcher, decoded-chunk cache, readahead and transports (agent over UCX first, HTTP fallback)
// as the mount daemon, fed by layout snapshots instead of the filer.
//
// One Engine per process, made on first use with the settings of the first snapshot. After fork
// the child abandons its parent's engine without touching it (its threads do not exist there, its
// locks may be held, its UCX and curl state belongs to the parent) and makes its own on first use.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunks/file_layout.h"
#include "client/layout_blob.h"
#include "client/read_tokens.h"
#include "common/result.h"
#include "filer/volume_locations.h"
#include "reader/chunk_cache.h"
#include "reader/chunk_fetcher.h"
#include "reader/prefetcher.h"
#include "transport/fallback_volume_reader.h"
#include "transport/http/http_volume_reader.h"

namespace seaweed::client {

struct EngineOptions {
  size_t cache_bytes = 64u << 20;     // decoded (gzip/encrypted) chunks: SEAWEED_RDMA_CACHE_MB
  size_t prefetch_threads = 4;        // SEAWEED_RDMA_PREFETCH_THREADS (the daemon's default too)
  size_t prefetch_bytes = 32u << 20;  // readahead memory, all files: SEAWEED_RDMA_PREFETCH_MB
  size_t window_blocks = 8;           // 1 MiB blocks ahead of one sequential reader: SEAWEED_RDMA_WINDOW
  static EngineOptions from_environment();
};

class Engine;

// One file's snapshot being read: its layout and a readahead stream over it.
class SnapshotReader {
 public:
  SnapshotReader(std::shared_ptr<const chunks::FileLayout> layout, Engine& engine);
  ~SnapshotReader();
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;
  // Reads of at least this many bytes go straight into the caller's buffer, in kPiece pieces
  // (the first on the caller's thread, the others fetched in parallel by the pool): no copy and
  // no thread hand-off for a 1 MiB read, and a whole-file read is not one synchronous fetch after
  // another. Smaller reads go through the stream's readahead, which copies each block once from
  // its buffer. (With the threshold at 4 MiB, `dd bs=1M` went through the readahead at 0.71 of
  // the agent alone; straight into its buffer it runs at 0.89: docs/PRELOAD.md.)
  static constexpr size_t kParallelThreshold = 1u << 20;
  static constexpr size_t kPiece = 1u << 20;

  // Bytes of [offset, offset + dst.size()) into dst; the count (short only at the end of file).
  Result<size_t> pread(uint64_t offset, std::span<char> dst);
  [[nodiscard]] uint64_t size() const { return layout_->size(); }

 private:
  Result<size_t> parallel_read(uint64_t offset, std::span<char> dst);

  friend class Engine;
  std::shared_ptr<const chunks::FileLayout> layout_;
  Engine& engine_;
  std::unique_ptr<reader::StreamReader> stream_;
  // The fd this reader's fids were registered with in the engine's ReadTokens (-1: none).
  int token_fd_ = -1;
  std::vector<std::string> token_fids_;
};

class Engine {
 public:
  // The process's engine (made with the first snapshot's settings). Counts fork generations.
  static Engine& get(const LayoutSnapshot& first);
  // Bumped in each forked child: handles made before it must be rebuilt.
  static uint64_t generation();
  // Called in the child after fork (see the header comment).
  static void abandon_after_fork();

  Engine(const LayoutSnapshot& first, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Learns the snapshot's volume replicas and agents, and makes a reader over its chunks. On a
  // cluster that requires read tokens, fd (the open mount file the snapshot came from) is where
  // the reader's tokens are asked for, until the reader goes.
  Result<std::unique_ptr<SnapshotReader>> open(const LayoutSnapshot& snapshot, int fd);

  // Read tokens asked of the daemon (first tokens and refreshes).
  ReadTokens& tokens() { return tokens_; }

  reader::ChunkFetcher& fetcher() { return fetcher_; }
  reader::PrefetchPool& pool() { return pool_; }
  [[nodiscard]] const EngineOptions& options() const { return options_; }
  std::mutex& rebuild_mutex() { return rebuild_mu_; }

 private:
  std::shared_ptr<transport::VolumeReader> agent_for(const std::string& volume_server);
  Result<std::map<uint32_t, std::vector<std::string>>> lookup(const std::vector<uint32_t>& volume_ids);

  EngineOptions options_;
  std::shared_mutex mu_;
  std::unordered_map<uint32_t, std::vector<std::string>> volumes_;                    // latest snapshot wins
  std::unordered_map<std::string, std::string> agent_of_server_;                      // volume server -> agent address
  std::unordered_map<std::string, std::shared_ptr<transport::VolumeReader>> agents_;  // by address
  bool rdma_enabled_ = true;
  uint32_t rdma_timeout_ms_ = 5000;
  bool peer_error_handling_ = true;
  bool tokens_required_ = false;  // the first snapshot's: the transports then take tokens_ (per fid)
  std::mutex rebuild_mu_;

  ReadTokens tokens_;

  transport::HttpVolumeReader http_;
  transport::FallbackVolumeReader fallback_;
  filer::VolumeLocations locations_;
  reader::ChunkCache cache_;
  reader::ChunkFetcher fetcher_;
  reader::PrefetchPool pool_;  // last: its threads stop before what they use goes
};

}  // namespace seaweed::client
