#include "chunks/file_mode.h"

#include <sys/stat.h>

namespace seaweed::chunks {
namespace {

uint32_t posix_type(uint32_t m) {
  if (m & kGoModeDir) return S_IFDIR;
  if (m & kGoModeSymlink) return S_IFLNK;
  if (m & kGoModeNamedPipe) return S_IFIFO;
  if (m & kGoModeSocket) return S_IFSOCK;
  if (m & kGoModeDevice) return (m & kGoModeCharDevice) ? S_IFCHR : S_IFBLK;
  return S_IFREG;
}

}  // namespace

uint32_t go_mode_to_posix(uint32_t m) {
  uint32_t out = posix_type(m) | (m & 07777);
  if (m & kGoModeSetuid) out |= S_ISUID;
  if (m & kGoModeSetgid) out |= S_ISGID;
  if (m & kGoModeSticky) out |= S_ISVTX;
  return out;
}

uint32_t posix_to_go_mode(uint32_t mode) {
  uint32_t out = mode & 07777;
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return out | kGoModeDir;
    case S_IFLNK:
      return out | kGoModeSymlink;
    case S_IFIFO:
      return out | kGoModeNamedPipe;
    case S_IFSOCK:
      return out | kGoModeSocket;
    case S_IFCHR:
      return out | kGoModeDevice | kGoModeCharDevice;
    case S_IFBLK:
      return out | kGoModeDevice;
    default:
      return out;
  }
}

}  // namespace seaweed::chunks
