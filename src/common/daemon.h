// Background mode for a mount started by mount(8) or mount.fuse3: the process forks before any
// thread exists (gRPC, UCX, civetweb and the FUSE loop all start threads, and a fork keeps only
// the calling one), the child goes on to mount, and the parent waits on a pipe. The parent exits
// 0 only once the child reports the mount live, or with the child's exit code after printing its
// one-line error. See docs/MOUNTING.md.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace seaweed {

// The child's end of the readiness pipe. Without a pipe (foreground mode) every call is a no-op.
class ReadinessPipe {
 public:
  ReadinessPipe() = default;
  explicit ReadinessPipe(int fd) : fd_(fd) {}
  ReadinessPipe(ReadinessPipe&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ReadinessPipe& operator=(ReadinessPipe&& other) noexcept;
  ReadinessPipe(const ReadinessPipe&) = delete;
  ReadinessPipe& operator=(const ReadinessPipe&) = delete;
  ~ReadinessPipe();

  [[nodiscard]] bool active() const { return fd_ >= 0; }
  // The mount is live: the parent exits 0. Then the child lets go of the caller's terminal and
  // working directory (stdin/stdout/stderr to /dev/null, cwd "/").
  void ready();
  // Startup failed: the parent prints `message` (one line) and exits with the child's status.
  void fail(const std::string& message);

 private:
  void send(const std::string& line);
  int fd_ = -1;
};

struct ForkOutcome {
  bool is_parent = false;
  int exit_code = 0;   // parent: what to exit with
  pid_t child = 0;     // parent: the child's pid (still running after a READY report)
  ReadinessPipe pipe;  // child: where to report
};

// Forks. The child starts a new session and gets the pipe; the parent blocks until the child
// reports or dies, prints the child's error line (prefixed with program) to stderr, and returns
// the exit code. SIGINT/SIGTERM/SIGHUP that reach the waiting parent are passed on to the child.
Result<ForkOutcome> fork_into_background(const std::string& program);

}  // namespace seaweed
