#include "common/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace seaweed {
namespace {

constexpr char kReady[] = "READY";
constexpr char kError[] = "ERROR ";

volatile sig_atomic_t g_signal_to_forward = 0;
void remember_signal(int sig) { g_signal_to_forward = sig; }

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

// The parent's handlers while it waits: a signal interrupts read() and is passed on.
class ForwardSignals {
 public:
  ForwardSignals() {
    struct sigaction sa {};
    sa.sa_handler = remember_signal;  // no SA_RESTART: read() returns EINTR
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &sa, &saved_[i]);
  }
  ~ForwardSignals() { restore(); }
  void restore() {
    if (restored_) return;
    restored_ = true;
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &saved_[i], nullptr);
  }
  ForwardSignals(const ForwardSignals&) = delete;
  ForwardSignals& operator=(const ForwardSignals&) = delete;

 private:
  struct sigaction saved_[std::size(kForwarded)]{};
  bool restored_ = false;
};

void forward_pending(pid_t child) {
  if (const int sig = g_signal_to_forward; sig != 0) {
    g_signal_to_forward = 0;
    ::kill(child, sig);
  }
}

std::string read_report(int fd, pid_t child) {
  std::string report;
  char buf[512];
  while (report.find('\n') == std::string::npos) {
    forward_pending(child);
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      report.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EOF: the child died (or closed the pipe) without reporting
    }
  }
  return report;
}

int wait_for(pid_t child, std::string& why) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      why = std::string("waitpid: ") + std::strerror(errno);
      return 1;
    }
  }
  if (WIFSIGNALED(status)) {
    why = "the mount process was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
          strsignal(WTERMSIG(status)) + ") before the mount was live";
    return 128 + WTERMSIG(status);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  why = "the mount process exited with status " + std::to_string(code) + " before the mount was live";
  return code == 0 ? 1 : code;
}

}  // namespace

ReadinessPipe& ReadinessPipe::operator=(ReadinessPipe&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ReadinessPipe::~ReadinessPipe() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadinessPipe::send(const std::string& line) {
  if (fd_ < 0) return;
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the parent is gone: nobody to tell
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd_);
  fd_ = -1;
}

void ReadinessPipe::ready() {
  if (fd_ < 0) return;
  send(std::string(kReady) + "\n");
  // Let go of the terminal or pipe of whoever ran mount, and of its working directory.
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int target : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, target);
    if (null > STDERR_FILENO) ::close(null);
  }
  if (::chdir("/") != 0) {
    // stays where it was started; nothing depends on the working directory after startup
  }
}

void ReadinessPipe::fail(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  send(kError + line + "\n");
}

// Threads of this process (a fork keeps only the calling one: the others' locks stay held).
size_t thread_count() {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

#if defined(__SANITIZE_THREAD__)
constexpr size_t kOwnThreads = 2;  // ThreadSanitizer runs a thread of its own
#else
constexpr size_t kOwnThreads = 1;
#endif

Result<ForkOutcome> fork_into_background(const std::string& program) {
  if (const size_t threads = thread_count(); threads > kOwnThreads)
    return make_error(EINVAL, "cannot go into the background: " + std::to_string(threads) +
                                  " threads already run (the fork must come first)");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(errno, std::string("pipe: ") + std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  g_signal_to_forward = 0;
  ForwardSignals forward;  // before fork: a signal sent the moment the child exists is not lost
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(err, std::string("fork: ") + std::strerror(err));
  }
  ForkOutcome out;
  if (pid == 0) {
    forward.restore();
    ::close(fds[0]);
    ::setsid();  // no controlling terminal: a hangup of the caller's session does not end the mount
    out.pipe = ReadinessPipe(fds[1]);
    return out;
  }
  ::close(fds[1]);
  const std::string report = read_report(fds[0], pid);
  ::close(fds[0]);
  forward.restore();
  out.is_parent = true;
  out.child = pid;
  if (report.rfind(std::string(kReady) + "\n", 0) == 0) {
    out.exit_code = 0;
    return out;
  }
  std::string why;
  out.exit_code = wait_for(pid, why);
  if (report.rfind(kError, 0) == 0) why = report.substr(std::strlen(kError), report.find('\n') - std::strlen(kError));
  std::cerr << program << ": " << why << std::endl;
  return out;
}

}  // namespace seaweed
