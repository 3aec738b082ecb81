// FuseAttributes.file_mode is a Go os.FileMode, not a POSIX st_mode (docs/seaweedfs/chunks.md, "File modes").
#pragma once

#include <cstdint>

namespace seaweed::chunks {

// Go os.FileMode bits that matter to a mount.
inline constexpr uint32_t kGoModeDir = 1u << 31;
inline constexpr uint32_t kGoModeSymlink = 1u << 27;
inline constexpr uint32_t kGoModeDevice = 1u << 26;
inline constexpr uint32_t kGoModeNamedPipe = 1u << 25;
inline constexpr uint32_t kGoModeSocket = 1u << 24;
inline constexpr uint32_t kGoModeSetuid = 1u << 23;
inline constexpr uint32_t kGoModeSetgid = 1u << 22;
inline constexpr uint32_t kGoModeCharDevice = 1u << 21;
inline constexpr uint32_t kGoModeSticky = 1u << 20;
inline constexpr uint32_t kGoModeIrregular = 1u << 19;

// Go mode -> st_mode: permission bits, setuid/setgid/sticky (from either the POSIX-style low bits
// the mount writes or Go's own high bits) and exactly one S_IF* type (S_IFREG when no type bit).
uint32_t go_mode_to_posix(uint32_t go_file_mode);

// st_mode -> Go mode, written the way the upstream mount stores it: the low 12 bits (permission
// plus 04000/02000/01000) verbatim, the file type as a Go type bit (none for regular files).
uint32_t posix_to_go_mode(uint32_t posix_mode);

}  // namespace seaweed::chunks
