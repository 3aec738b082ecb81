// Latency of each FUSE operation (seaweed_mount_fuse_op_duration_seconds{op}), from the callback's
// entry to its reply, and replies with an error (seaweed_mount_fuse_errors_total{op,errno}).
#pragma once

#include <cstddef>

#include "common/metrics.h"

namespace seaweed::fuse {

enum class Op : size_t {
  lookup,
  getattr,
  readlink,
  open,
  read,
  release,
  opendir,
  readdir,
  readdirplus,
  releasedir,
  statfs,
  getxattr,
  listxattr,
  ioctl,
  kCount
};

const char* op_name(Op op);
Histogram& op_histogram(Op op);

// Times one operation: put first in the callback, so the reply is inside the measured span.
class OpTimer : public ScopedTimer {
 public:
  explicit OpTimer(Op op) : ScopedTimer(op_histogram(op)) {}
};

// Bytes replied to FUSE READs.
Counter& fuse_read_bytes();

// Counts a reply with errno `code` for the op named `op` (the name reply_error has).
void count_error(const char* op, int code);

}  // namespace seaweed::fuse
