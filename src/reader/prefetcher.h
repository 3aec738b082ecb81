// Readahead for sequential streams. A shared pool of threads fetches the blocks ahead of a
// sequential reader while the application consumes the current ones, so several volume-server
// (or agent) round trips overlap instead of queueing behind each FUSE request. Memory is bounded
// by a global budget: when it is spent, readers simply read synchronously (backpressure).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "chunks/file_layout.h"
#include "common/result.h"
#include "reader/chunk_fetcher.h"

namespace seaweed::reader {

class PrefetchPool {
 public:
  PrefetchPool(size_t threads, size_t budget_bytes);
  ~PrefetchPool();
  PrefetchPool(const PrefetchPool&) = delete;
  PrefetchPool& operator=(const PrefetchPool&) = delete;

  // Reserves bytes of the budget; false when it is spent.
  bool reserve(size_t bytes);
  void release(size_t bytes);
  void submit(std::function<void()> job);
  [[nodiscard]] size_t in_use() const;

 private:
  void worker();
  size_t budget_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t used_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// One open file's reader: sequential detection and a window of prefetched blocks.
class StreamReader {
 public:
  static constexpr uint64_t kBlock = 1 << 20;  // = the kernel's largest FUSE READ here

  StreamReader(std::shared_ptr<const chunks::FileLayout> layout, ChunkFetcher& fetcher, PrefetchPool* pool,
               size_t window_blocks);
  ~StreamReader();

  Result<size_t> read(uint64_t offset, std::span<char> dst);

 private:
  struct Block;
  void schedule_locked(uint64_t from);
  std::shared_ptr<Block> find_locked(uint64_t block_start);

  std::shared_ptr<const chunks::FileLayout> layout_;
  ChunkFetcher& fetcher_;
  PrefetchPool* pool_;
  size_t window_;
  std::mutex mu_;
  uint64_t next_expected_ = 0;
  int streak_ = 0;
  std::map<uint64_t, std::shared_ptr<Block>> blocks_;  // by block start
};

}  // namespace seaweed::reader
