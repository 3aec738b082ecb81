// Readahead for sequential streams. A shared pool of threads fetches the blocks ahead of a
// sequential reader while the application consumes the current ones, so several volume-server
// (or agent) round trips overlap instead of queueing behind each FUSE request. Memory is bounded
// by a global budget: when it is spent, readers simply read synchronously (backpressure).
// Block buffers are recycled (never zeroed, never returned to the kernel): in this VM fresh pages
// cost ~1 us per 4 KiB to fault in, which was 13% of the mount's CPU on a 1 GiB stream.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "chunks/file_layout.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "reader/chunk_fetcher.h"

namespace seaweed::reader {

// Lock order (docs/ARCHITECTURE.md, "Locks"): StreamReader::mu_ -> StreamReader::Block::mu ->
// PrefetchPool::mu_. Dropping a block from StreamReader::blocks_ under StreamReader::mu_ may run
// ~Block, which gives its buffer and budget back under PrefetchPool::mu_; a job never holds
// PrefetchPool::mu_ while it runs.
class PrefetchPool {
  friend class StreamReader;  // names mu_ in its lock-order annotations

 public:
  PrefetchPool(size_t threads, size_t budget_bytes);
  ~PrefetchPool();
  PrefetchPool(const PrefetchPool&) = delete;
  PrefetchPool& operator=(const PrefetchPool&) = delete;

  // Reserves bytes of the budget; false when it is spent.
  bool reserve(size_t bytes) EXCLUDES(mu_);
  void release(size_t bytes) EXCLUDES(mu_);
  void submit(std::function<void()> job) EXCLUDES(mu_);
  [[nodiscard]] size_t in_use() const EXCLUDES(mu_);

  // A buffer of block_size bytes (uninitialised), recycled when given back.
  std::unique_ptr<char[]> take_buffer() EXCLUDES(mu_);
  void give_buffer(std::unique_ptr<char[]> buffer) EXCLUDES(mu_);
  [[nodiscard]] size_t buffers_allocated() const EXCLUDES(mu_);

 private:
  void worker() EXCLUDES(mu_);
  const size_t budget_;
  mutable Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<char[]>> free_buffers_ GUARDED_BY(mu_);  // before jobs_: dropped jobs give buffers back
  size_t buffers_allocated_ GUARDED_BY(mu_) = 0;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  size_t used_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // set in the constructor, joined in the destructor
};

// A read's bytes as pieces in file order: spans into prefetched blocks (kept alive by pins, so
// the reply can be sent from them without a copy) or into the caller's scratch buffer.
struct ReadPieces {
  std::vector<iovec> iov;
  std::vector<std::shared_ptr<const void>> pins;
  size_t bytes = 0;
  void add(const char* data, size_t len) {
    iov.push_back(iovec{const_cast<char*>(data), len});
    bytes += len;
  }
  // Copies the pieces into dst in order (pieces already in place are skipped); returns bytes.
  size_t copy_to(std::span<char> dst) const;
};

// One open file's reader: sequential detection and a window of prefetched blocks.
class StreamReader {
 public:
  static constexpr uint64_t kBlock = 1 << 20;  // = the kernel's largest FUSE READ here

  StreamReader(std::shared_ptr<const chunks::FileLayout> layout, ChunkFetcher& fetcher, PrefetchPool* pool,
               size_t window_blocks);
  ~StreamReader();

  // Copies the bytes of [offset, offset+dst.size()) into dst; returns the count (short at EOF).
  Result<size_t> read(uint64_t offset, std::span<char> dst);
  // The same bytes as pieces: prefetched blocks are handed out, not copied; the rest is read into
  // scratch (scratch.size() is the request's length).
  Status read_pieces(uint64_t offset, std::span<char> scratch, ReadPieces& out) EXCLUDES(mu_);

  // From now on every read of this stream, its readahead included, may be served from needles
  // the volume server has marked deleted (the open file's snapshot was superseded: see
  // FileSystem). Blocks that failed before are read again by the next read that needs them.
  void allow_deleted() { allow_deleted_->store(true); }
  [[nodiscard]] bool deleted_allowed() const { return allow_deleted_->load(); }

 private:
  struct Block;
  void schedule_locked(uint64_t from) REQUIRES(mu_);
  std::shared_ptr<Block> find_locked(uint64_t block_start) REQUIRES(mu_);

  const std::shared_ptr<const chunks::FileLayout> layout_;
  ChunkFetcher& fetcher_;
  PrefetchPool* const pool_;
  const size_t window_;
  // Shared with queued readahead jobs, which may run after the stream is gone.
  const std::shared_ptr<std::atomic<bool>> allow_deleted_ = std::make_shared<std::atomic<bool>>(false);
  Mutex mu_ ACQUIRED_BEFORE(pool_->mu_);
  uint64_t next_expected_ GUARDED_BY(mu_) = 0;
  int streak_ GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<Block>> blocks_ GUARDED_BY(mu_);  // by block start
};

}  // namespace seaweed::reader
