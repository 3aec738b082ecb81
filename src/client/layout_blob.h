// The layout snapshot of one open file as the mount daemon hands it to a process (through the
// ioctl in src/client/snapshot_ioctl_abi.h): the resolved data chunks (manifests already
// expanded), the file size, where each volume lives with the agent of each replica, and how the
// daemon reads (timeouts, fallback, tokens). Versioned little-endian bytes; decoding is strict:
// any length, count or value out of bounds, trailing bytes or a bad checksum is EPROTO, never a
// partial snapshot. Format: docs/PRELOAD.md, "The snapshot blob".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chunks/chunk.h"
#include "common/result.h"

namespace seaweed::client {

inline constexpr uint32_t kBlobMagic = 0x4c525753;  // "SWRL"
inline constexpr uint16_t kBlobVersion = 1;
// Bounds the decoder enforces (far above real values, low enough that a bad blob cannot make it
// allocate much).
inline constexpr size_t kMaxFidBytes = 64;
inline constexpr size_t kMaxCipherKeyBytes = 64;
inline constexpr size_t kMaxAddressBytes = 256;
inline constexpr size_t kMaxReplicas = 64;
inline constexpr size_t kMaxBlobBytes = 256u << 20;

struct Replica {
  std::string url;    // volume server "host:port"
  std::string agent;  // its seaweed-rdma-agent "host:port", empty when none serves it
  bool operator==(const Replica&) const = default;
};

struct VolumeReplicas {
  uint32_t volume_id = 0;
  std::vector<Replica> replicas;  // in the order the daemon tries them
  bool operator==(const VolumeReplicas&) const = default;
};

struct LayoutSnapshot {
  enum Flags : uint32_t {
    kTokensRequired = 1u << 0,     // volume servers and agents want a read JWT per fid (ask the daemon)
    kRdmaEnabled = 1u << 1,        // the daemon reads through agents
    kFallback = 1u << 2,           // agent failures go to HTTP (else they are final)
    kPeerErrorHandling = 1u << 3,  // UCX endpoints with peer error handling
  };
  uint64_t snapshot_id = 0;
  uint64_t file_size = 0;
  uint32_t flags = 0;
  uint32_t rdma_timeout_ms = 0;
  uint32_t http_timeout_ms = 0;
  std::vector<chunks::Chunk> chunks;  // data chunks, manifests resolved
  std::vector<VolumeReplicas> volumes;

  [[nodiscard]] bool has(Flags f) const { return (flags & f) != 0; }
};

std::string encode_snapshot(const LayoutSnapshot& snapshot);
Result<LayoutSnapshot> decode_snapshot(std::string_view blob);

}  // namespace seaweed::client
