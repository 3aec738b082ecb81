#include "fuse/op_metrics.h"

#include <array>
#include <cstring>
#include <string>

#include "common/metric_names.h"

namespace seaweed::fuse {
namespace {

constexpr std::array<const char*, static_cast<size_t>(Op::kCount)> kNames = {
    "lookup",  "getattr",     "readlink",   "open",   "read",     "release",   "opendir",
    "readdir", "readdirplus", "releasedir", "statfs", "getxattr", "listxattr", "ioctl"};

}  // namespace

thread_local OpTimer* OpTimer::current_ = nullptr;

const char* op_name(Op op) { return kNames[static_cast<size_t>(op)]; }

Histogram& op_histogram(Op op) {
  // Looked up once: the hot path indexes an array.
  static const auto histograms = [] {
    std::array<Histogram*, static_cast<size_t>(Op::kCount)> out{};
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = &Metrics::global().histogram(metric_names::kFuseOpSeconds,
                                            "Time from a FUSE request's arrival to its reply, by operation",
                                            render_labels({{"op", kNames[i]}}));
    return out;
  }();
  return *histograms[static_cast<size_t>(op)];
}

Counter& fuse_read_bytes() {
  static Counter& c = Metrics::global().counter(metric_names::kFuseReadBytes, "Bytes replied to FUSE READ requests");
  return c;
}

void count_error(const char* op, int code) {
  const char* name = ::strerrorname_np(code);
  const std::string errno_name = name ? name : std::to_string(code);
  Metrics::global()
      .counter(metric_names::kFuseErrors, "FUSE replies with an error, by operation and errno",
               render_labels({{"op", op}, {"errno", errno_name}}))
      .add();
}

}  // namespace seaweed::fuse
