// The client library's process-wide counters (what swr_get_stats and the preload's exit line
// show). Plain atomics: they survive fork and cost one relaxed add on the read path.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace seaweed::client {

struct Stats {
  std::atomic<uint64_t> opens_served{0};
  std::atomic<uint64_t> opens_declined{0};
  std::atomic<uint64_t> reads_served{0};
  std::atomic<uint64_t> reads_fallback{0};
  std::atomic<uint64_t> bytes_served{0};
  std::atomic<uint64_t> bytes_fallback{0};
  std::atomic<uint64_t> declined_inline{0};
  std::atomic<uint64_t> declined_tokens{0};
  std::atomic<uint64_t> declined_snapshot{0};
  std::atomic<uint64_t> declined_other{0};
  std::atomic<uint64_t> fallback_read_error{0};
};

Stats& stats();

inline void count(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }

// Bytes the transports fetched (agents over UCX, volume servers over HTTP), incl. readahead.
uint64_t transport_bytes(const char* transport);

// "opens_served=2 opens_declined=1 declined_inline=1 ... bytes_rdma=... bytes_http=..." (one key per
// swr_stats field, so scripts can parse it)
std::string format_stats();

}  // namespace seaweed::client
