#include "common/weed_mount_flags.h"

namespace seaweed {
namespace {

enum class Why { kWriteSide, kWeedInternal };

struct Ignored {
  const char* name;
  FlagSet::Kind kind;
  Why why;
};

using K = FlagSet::Kind;

// `weed mount -h` of SeaweedFS 4.48, less the flags this mount implements (-allowOthers,
// -autofs, -cacheCapacityMB, -cacheDir, -cacheMetaTtlSec, -debug.fuse, -defaultPermissions, -dir,
// -dirAutoCreate, -filer, -filer.path, -map.gid, -map.uid, -nonempty, -options, -readOnly,
// -umask, -volumeServerAccess; see docs/MOUNTING.md).
constexpr Ignored kIgnored[] = {
    {"asyncDio", K::kBool, Why::kWriteSide},
    {"cacheDirWrite", K::kString, Why::kWriteSide},
    {"chunkSizeLimitMB", K::kInt, Why::kWriteSide},
    {"collection", K::kString, Why::kWriteSide},
    {"collectionQuotaMB", K::kInt, Why::kWriteSide},
    {"concurrentWriters", K::kInt, Why::kWriteSide},
    {"dataCenter", K::kString, Why::kWriteSide},
    {"disk", K::kString, Why::kWriteSide},
    {"dlm", K::kBool, Why::kWriteSide},
    {"metadataFlushSeconds", K::kInt, Why::kWriteSide},
    {"replication", K::kString, Why::kWriteSide},
    {"ttl", K::kInt, Why::kWriteSide},
    {"windows.gid", K::kInt, Why::kWriteSide},
    {"windows.uid", K::kInt, Why::kWriteSide},
    {"writeBufferSizeMB", K::kInt, Why::kWriteSide},
    {"writebackCache", K::kBool, Why::kWriteSide},
    {"cacheDirMaxEntries", K::kInt, Why::kWeedInternal},
    {"cacheSymlink", K::kBool, Why::kWeedInternal},
    {"concurrentReaders", K::kInt, Why::kWeedInternal},
    {"cpuprofile", K::kString, Why::kWeedInternal},
    {"debug", K::kBool, Why::kWeedInternal},
    {"debug.port", K::kInt, Why::kWeedInternal},
    {"df.logical", K::kBool, Why::kWeedInternal},
    {"dirIdleEvictSec", K::kInt, Why::kWeedInternal},
    {"disableXAttr", K::kBool, Why::kWeedInternal},
    {"fuse.congestionThreshold", K::kInt, Why::kWeedInternal},
    {"fuse.maxBackground", K::kInt, Why::kWeedInternal},
    {"includeSystemEntries", K::kBool, Why::kWeedInternal},
    {"localSocket", K::kString, Why::kWeedInternal},
    {"memoryLimitMB", K::kInt, Why::kWeedInternal},
    {"memprofile", K::kString, Why::kWeedInternal},
    {"peer.advertise", K::kString, Why::kWeedInternal},
    {"peer.dataCenter", K::kString, Why::kWeedInternal},
    {"peer.enable", K::kBool, Why::kWeedInternal},
    {"peer.listen", K::kString, Why::kWeedInternal},
    {"peer.rack", K::kString, Why::kWeedInternal},
    {"posix.dirNLink", K::kBool, Why::kWeedInternal},
    {"readRetryTime", K::kString, Why::kWeedInternal},
    {"readerCacheSizeMB", K::kInt, Why::kWeedInternal},
    {"sys.novncache", K::kBool, Why::kWeedInternal},
    {"volumeName", K::kString, Why::kWeedInternal},
};

}  // namespace

void add_ignored_weed_mount_flags(FlagSet& flags) {
  for (const auto& f : kIgnored) {
    flags.add_ignored(f.name, f.kind,
                      f.why == Why::kWriteSide ? "weed mount flag for writes; ignored (this mount is read-only)"
                                               : "weed mount flag; ignored (see docs/MOUNTING.md)");
  }
}

const std::vector<std::string>& ignored_weed_mount_flags() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& f : kIgnored) out.emplace_back(f.name);
    return out;
  }();
  return names;
}

std::string ignored_flags_warning(const FlagSet& flags) {
  std::string write_side, internal;
  for (const auto& name : flags.set_in_order()) {
    for (const auto& f : kIgnored) {
      if (name != f.name) continue;
      (f.why == Why::kWriteSide ? write_side : internal) += " -" + name;
    }
  }
  if (write_side.empty() && internal.empty()) return "";
  std::string line = "ignoring weed mount flags:";
  if (!write_side.empty()) line += " for writes (this mount is read-only):" + write_side;
  if (!write_side.empty() && !internal.empty()) line += ";";
  if (!internal.empty()) line += " without effect here:" + internal;
  return line;
}

}  // namespace seaweed
