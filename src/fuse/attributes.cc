#include "fuse/attributes.h"

#include "chunks/file_mode.h"
#include "fuse/attribute_policy.h"

namespace seaweed::fuse {

uint64_t entry_size(const filer_pb::Entry& entry) {
  // Inline content does not count: the filer itself serves min(content, file_size) bytes, and
  // reading "exactly as the filer serves it" is the rule (saveInside entries keep file_size 0).
  uint64_t size = entry.attributes().file_size();
  for (const auto& c : entry.chunks()) {
    if (c.offset() >= 0) size = std::max<uint64_t>(size, static_cast<uint64_t>(c.offset()) + c.size());
  }
  return size;
}

struct stat entry_to_stat(const filer_pb::Entry& entry, uint64_t ino) {
  struct stat st {};
  const auto& a = entry.attributes();
  st.st_ino = ino;
  uint32_t mode = chunks::go_mode_to_posix(a.file_mode());
  if (entry.is_directory()) {
    uint32_t perm = mode & 07777;
    mode = S_IFDIR | (perm ? perm : 0755);
  } else if (!a.symlink_target().empty() && !S_ISLNK(mode)) {
    mode = S_IFLNK | (mode & 07777);
  }
  st.st_mode = mode;
  st.st_nlink = entry.is_directory() ? 2 : std::max(1, entry.hard_link_counter());
  st.st_uid = a.uid();
  st.st_gid = a.gid();
  st.st_rdev = a.rdev();
  if (S_ISLNK(mode))
    st.st_size = static_cast<off_t>(a.symlink_target().size());
  else if (!entry.is_directory())
    st.st_size = static_cast<off_t>(entry_size(entry));
  else
    st.st_size = 4096;
  st.st_blksize = 1 << 20;
  st.st_blocks = (st.st_size + 511) / 512;
  st.st_mtim.tv_sec = a.mtime();
  st.st_mtim.tv_nsec = a.mtime_ns();
  // A non-positive ctime or atime is unset: filer 4.48 stores Go's zero time (year 1, negative
  // in Unix seconds) as the ctime of HTTP uploads. Show the mtime there, as weed mount does
  // (docs/seaweedfs/attributes.md).
  const bool has_ctime = a.ctime() > 0;
  const bool has_atime = a.atime() > 0;
  st.st_ctim.tv_sec = has_ctime ? a.ctime() : a.mtime();
  st.st_ctim.tv_nsec = has_ctime ? a.ctime_ns() : a.mtime_ns();
  st.st_atim.tv_sec = has_atime ? a.atime() : a.mtime();
  st.st_atim.tv_nsec = has_atime ? a.atime_ns() : a.mtime_ns();
  attribute_policy().apply(st, ino);  // -umask for the root, -map.uid/-map.gid
  return st;
}

}  // namespace seaweed::fuse
