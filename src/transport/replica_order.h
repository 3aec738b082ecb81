// The order in which a needle's replicas are asked, shared by the agent path
// (FallbackVolumeReader) and the HTTP replica loop (HttpVolumeReader), so both start at the same
// replica. Why spread: docs/fault-topology.md ("Per-agent load").
#pragma once

#include <cstddef>
#include <cstdint>

namespace seaweed::transport {

// The replica (index into NeedleLocator::urls, of n) that reads of needle `key` start at; the
// others follow in order, wrapping around. A Fibonacci hash of the key: the filer lists a
// volume's replicas in a fixed order, so "always the first" leaves replicas that are listed
// second idle, while one start per needle spreads a volume's needles over its replicas and keeps
// each needle on one of them (one page cache holds it).
inline size_t first_replica(uint64_t key, size_t n) {
  if (n <= 1) return 0;
  return static_cast<size_t>(((key * 0x9E3779B97F4A7C15ULL) >> 32) % n);
}

}  // namespace seaweed::transport
