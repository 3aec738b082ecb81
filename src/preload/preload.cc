// libseaweed-rdma-preload.so: serves read-only opens of regular files on a seaweed-rdma mount
// through the client library (src/client, seaweed_rdma_read.h) and passes everything else to
// libc. docs/PRELOAD.md says what is wrapped, why, and what falls back.
//
// The kernel's file offset stays the authority: read/readv on a served fd lock the open file
// description's state, take the offset with lseek(SEEK_CUR), pread through the library, and move
// the offset with lseek(SEEK_SET). So dup'ed fds, threads, forked children and exec'ed programs
// all see the offsets the kernel path would give. Calls made while the preload or the library is
// already working on this thread (UCX, curl, spdlog opening files) pass straight through.
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "client/seaweed_rdma_read.h"
#include "preload/fd_table.h"
#include "preload/real_calls.h"

using seaweed::preload::FdKind;
using seaweed::preload::FdState;
using seaweed::preload::FdTable;
using seaweed::preload::OpenDescription;
using seaweed::preload::real;

namespace {

thread_local bool t_inside = false;

// Marks this thread as inside the preload for the scope: nested libc calls pass through.
class Inside {
 public:
  Inside() : was_(t_inside) { t_inside = true; }
  ~Inside() { t_inside = was_; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;

 private:
  bool was_;
};

// Saves errno around work the caller must not see.
class KeepErrno {
 public:
  KeepErrno() : saved_(errno) {}
  ~KeepErrno() { errno = saved_; }
  KeepErrno(const KeepErrno&) = delete;
  KeepErrno& operator=(const KeepErrno&) = delete;

 private:
  int saved_;
};

FdTable& table() {
  // Never destroyed: wrappers run until the very end of the process (other libraries'
  // destructors close files too).
  static FdTable& t = *std::make_unique<FdTable>().release();
  return t;
}

bool wants_serving(int flags) { return (flags & O_ACCMODE) == O_RDONLY && (flags & (O_PATH | O_DIRECTORY)) == 0; }

// Asks the library whether fd is a file it can serve; remembers the answer (the first answer,
// if two threads ask at once). Returns the fd's state.
FdState classify(int fd) {
  KeepErrno keep;
  Inside inside;
  swr_file* file = swr_open_fd(fd, SWR_ADOPT_BORROW);
  if (file == nullptr) return table().claim(fd, FdKind::kNotOurs, nullptr);
  auto handle = std::shared_ptr<void>(file, [](void* f) { swr_close(static_cast<swr_file*>(f)); });
  return table().claim(fd, FdKind::kOurs, std::make_shared<OpenDescription>(std::move(handle)));
}

// A read-only open is classified on its first read (an fd opened and never read, as tar and
// git do with many files, costs no snapshot ioctl); anything else is not ours. Either way a stale
// state of a number closed behind the preload's back is replaced.
int after_open(int fd, int flags) {
  if (fd < 0 || t_inside || fd >= FdTable::kMaxFd) return fd;
  if (wants_serving(flags)) {
    table().forget(fd);
  } else {
    table().set_not_ours(fd);
  }
  return fd;
}

// The state of fd for a read; an fd never seen opened (inherited through exec, or opened behind
// the preload's back) is probed once.
FdState state_for_read(int fd) {
  if (fd < 0 || fd >= FdTable::kMaxFd) return {};
  FdState st = table().get(fd);
  if (st.kind == FdKind::kUnknown) {
    {
      KeepErrno keep;
      const long fl = syscall(SYS_fcntl, fd, F_GETFL);
      if (fl < 0 || !wants_serving(static_cast<int>(fl))) {
        table().set_not_ours(fd);
        return {};
      }
    }
    st = classify(fd);
  }
  return st;
}

swr_file* file_of(const FdState& st) { return static_cast<swr_file*>(st.description->handle.get()); }

off_t raw_lseek(int fd, off_t off, int whence) { return static_cast<off_t>(syscall(SYS_lseek, fd, off, whence)); }

// Reads iov at offset through the library; short at the first short piece, like the kernel.
ssize_t pread_iov(swr_file* file, const iovec* iov, int count, off_t offset) {
  ssize_t done = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;
    const ssize_t n = swr_pread(file, iov[i].iov_base, iov[i].iov_len, static_cast<uint64_t>(offset + done));
    if (n < 0) return done > 0 ? done : -1;
    done += n;
    if (static_cast<size_t>(n) < iov[i].iov_len) break;
  }
  return done;
}

// read/readv on a served fd: the kernel offset is read, used and moved under the description's lock.
ssize_t read_at_offset(int fd, const FdState& st, const iovec* iov, int count) {
  Inside inside;
  std::lock_guard lock(st.description->offset_mu);
  const off_t off = raw_lseek(fd, 0, SEEK_CUR);
  if (off < 0) return -1;
  const ssize_t n = pread_iov(file_of(st), iov, count, off);
  if (n > 0 && raw_lseek(fd, off + n, SEEK_SET) < 0) return -1;
  return n;
}

bool iov_ok(const iovec* iov, int count) {
  if (count < 0 || count > IOV_MAX) return false;
  size_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len > static_cast<size_t>(SSIZE_MAX) - total) return false;
    total += iov[i].iov_len;
  }
  return true;
}

ssize_t do_read(int fd, void* buf, size_t len, ssize_t (*pass)(int, void*, size_t)) {
  if (!t_inside && len <= static_cast<size_t>(SSIZE_MAX)) {
    FdState st = state_for_read(fd);
    if (st.kind == FdKind::kOurs) {
      iovec one{buf, len};
      return read_at_offset(fd, st, &one, 1);
    }
  }
  return pass ? pass(fd, buf, len) : syscall(SYS_read, fd, buf, len);
}

ssize_t do_pread(int fd, void* buf, size_t len, off_t off, ssize_t (*pass)(int, void*, size_t, off_t)) {
  if (!t_inside && off >= 0 && len <= static_cast<size_t>(SSIZE_MAX)) {
    FdState st = state_for_read(fd);
    if (st.kind == FdKind::kOurs) {
      Inside inside;
      return swr_pread(file_of(st), buf, len, static_cast<uint64_t>(off));
    }
  }
  return pass ? pass(fd, buf, len, off) : syscall(SYS_pread64, fd, buf, len, off);
}

ssize_t do_preadv(int fd, const iovec* iov, int count, off_t off, int flags,
                  ssize_t (*pass)(int, const iovec*, int, off_t, int)) {
  if (!t_inside && flags == 0 && iov_ok(iov, count) && off >= -1) {
    FdState st = state_for_read(fd);
    if (st.kind == FdKind::kOurs) {
      if (off == -1) return read_at_offset(fd, st, iov, count);  // preadv2: the current offset
      Inside inside;
      return pread_iov(file_of(st), iov, count, off);
    }
  }
  if (pass) return pass(fd, iov, count, off, flags);
  return syscall(SYS_preadv2, fd, iov, count, static_cast<long>(off), 0L, flags);
}

// A dup of a not yet classified fd: classify the original first, so both share one description
// (one offset lock), as they share one in the kernel.
int after_dup(int from, int to) {
  if (to < 0 || t_inside) return to;
  if (table().get(from).kind == FdKind::kUnknown) state_for_read(from);
  table().duplicate(from, to);
  return to;
}

// The stats line at exit (SEAWEED_RDMA_PRELOAD_STATS=1: stderr; any other value: a file to append to).
void print_stats() {
  const char* where = std::getenv("SEAWEED_RDMA_PRELOAD_STATS");
  if (where == nullptr || *where == '\0' || std::strcmp(where, "0") == 0) return;
  swr_stats s{};
  if (swr_get_stats(&s, sizeof(s)) < 0 || s.opens_served + s.opens_declined == 0) return;
  char line[1024];
  int n = std::snprintf(line, sizeof(line), "seaweed-rdma-preload[%d]: ", static_cast<int>(getpid()));
  n += swr_format_stats(line + n, sizeof(line) - static_cast<size_t>(n) - 1);
  n = std::min<int>(n, static_cast<int>(sizeof(line)) - 2);
  line[n++] = '\n';
  const bool to_stderr = std::strcmp(where, "1") == 0;
  const int fd =
      to_stderr
          ? 2
          : static_cast<int>(syscall(SYS_openat, AT_FDCWD, where, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd < 0) return;
  (void)!syscall(SYS_write, fd, line, static_cast<size_t>(n));
  if (!to_stderr) syscall(SYS_close, fd);
}

__attribute__((constructor)) void preload_init() {
  Inside inside;
  real();
  table();
  pthread_atfork(nullptr, nullptr, [] { table().reinit_locks_after_fork(); });
}

__attribute__((destructor)) void preload_fini() {
  Inside inside;
  KeepErrno keep;
  print_stats();
}

int open_mode_flags(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

// stdio: glibc's fread reads inside libc, where no wrapper sees it. A read-only fopen of a file
// the library serves therefore makes a cookie stream whose read, seek and close go through the
// wrappers above; its _fileno is set to the real fd, so fileno(), fstat(fileno()) and fadvise keep
// working (the cookie stream carries glibc's _IO_IS_FILEBUF flag, which fileno() checks).
ssize_t cookie_read(void* cookie, char* buf, size_t len) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  return do_read(fd, buf, len, real().read);
}

int cookie_seek(void* cookie, off64_t* offset, int whence) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  const off_t r = raw_lseek(fd, *offset, whence);
  if (r < 0) return -1;
  *offset = r;
  return 0;
}

int cookie_close(void* cookie) {
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  table().forget(fd);
  auto f = real().close;
  return f ? f(fd) : static_cast<int>(syscall(SYS_close, fd));
}

// "r", "rb", "re", "rbe", "rm", ... : read-only modes without "+" or a ",ccs=" conversion.
bool read_only_mode(const char* mode, bool& cloexec) {
  if (mode == nullptr || mode[0] != 'r') return false;
  cloexec = false;
  for (const char* m = mode + 1; *m; ++m) {
    if (*m == 'e')
      cloexec = true;
    else if (*m != 'b' && *m != 'm' && *m != 'c')
      return false;
  }
  return true;
}

FILE* do_fopen(const char* path, const char* mode, FILE* (*pass)(const char*, const char*)) {
  bool cloexec = false;
  if (t_inside || path == nullptr || !read_only_mode(mode, cloexec)) return pass(path, mode);
  int fd = -1;
  {
    Inside inside;
    fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | (cloexec ? O_CLOEXEC : 0)));
  }
  if (fd < 0) return nullptr;  // errno as fopen(3) gives it
  if (fd >= FdTable::kMaxFd) {
    syscall(SYS_close, fd);
    return pass(path, mode);
  }
  table().forget(fd);
  if (classify(fd).kind != FdKind::kOurs) {
    KeepErrno keep;
    table().set_not_ours(fd);
    syscall(SYS_close, fd);
    return pass(path, mode);  // exactly what libc would have made
  }
  cookie_io_functions_t io{cookie_read, nullptr, cookie_seek, cookie_close};
  FILE* stream = fopencookie(reinterpret_cast<void*>(static_cast<intptr_t>(fd)), "r", io);
  if (stream == nullptr) {
    table().forget(fd);
    syscall(SYS_close, fd);
    return pass(path, mode);
  }
  stream->_fileno = fd;
  return stream;
}

}  // namespace

extern "C" {

#define SWR_VA_MODE(flags)      \
  mode_t mode = 0;              \
  if (open_mode_flags(flags)) { \
    va_list ap;                 \
    va_start(ap, flags);        \
    mode = va_arg(ap, mode_t);  \
    va_end(ap);                 \
  }

__attribute__((visibility("default"))) int open(const char* path, int flags, ...) {
  SWR_VA_MODE(flags);
  auto f = real().open;
  const int fd = f ? f(path, flags, mode) : static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, mode));
  return after_open(fd, flags);
}

__attribute__((visibility("default"))) int open64(const char* path, int flags, ...) {
  SWR_VA_MODE(flags);
  auto f = real().open64;
  const int fd = f ? f(path, flags, mode) : static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, mode));
  return after_open(fd, flags);
}

__attribute__((visibility("default"))) int openat(int dirfd, const char* path, int flags, ...) {
  SWR_VA_MODE(flags);
  auto f = real().openat;
  const int fd = f ? f(dirfd, path, flags, mode) : static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode));
  return after_open(fd, flags);
}

__attribute__((visibility("default"))) int openat64(int dirfd, const char* path, int flags, ...) {
  SWR_VA_MODE(flags);
  auto f = real().openat64;
  const int fd = f ? f(dirfd, path, flags, mode) : static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode));
  return after_open(fd, flags);
}

// The fortified variants (-D_FORTIFY_SOURCE) that glibc calls when the mode argument is absent.
__attribute__((visibility("default"))) int __open_2(const char* path, int flags) {
  auto f = real().open_2;
  return after_open(f ? f(path, flags) : static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags)), flags);
}
__attribute__((visibility("default"))) int __open64_2(const char* path, int flags) {
  auto f = real().open64_2;
  return after_open(f ? f(path, flags) : static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags)), flags);
}
__attribute__((visibility("default"))) int __openat_2(int dirfd, const char* path, int flags) {
  auto f = real().openat_2;
  return after_open(f ? f(dirfd, path, flags) : static_cast<int>(syscall(SYS_openat, dirfd, path, flags)), flags);
}
__attribute__((visibility("default"))) int __openat64_2(int dirfd, const char* path, int flags) {
  auto f = real().openat64_2;
  return after_open(f ? f(dirfd, path, flags) : static_cast<int>(syscall(SYS_openat, dirfd, path, flags)), flags);
}

__attribute__((visibility("default"))) ssize_t read(int fd, void* buf, size_t len) {
  return do_read(fd, buf, len, real().read);
}

__attribute__((visibility("default"))) ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) return real().read_chk(fd, buf, len, buflen);  // glibc reports the overflow
  return do_read(fd, buf, len, real().read);
}

__attribute__((visibility("default"))) ssize_t pread(int fd, void* buf, size_t len, off_t off) {
  return do_pread(fd, buf, len, off, real().pread);
}
__attribute__((visibility("default"))) ssize_t pread64(int fd, void* buf, size_t len, off_t off) {
  return do_pread(fd, buf, len, off, real().pread64);
}
__attribute__((visibility("default"))) ssize_t __pread_chk(int fd, void* buf, size_t len, off_t off, size_t buflen) {
  if (len > buflen) return real().pread_chk(fd, buf, len, off, buflen);
  return do_pread(fd, buf, len, off, real().pread);
}
__attribute__((visibility("default"))) ssize_t __pread64_chk(int fd, void* buf, size_t len, off_t off, size_t buflen) {
  if (len > buflen) return real().pread64_chk(fd, buf, len, off, buflen);
  return do_pread(fd, buf, len, off, real().pread64);
}

__attribute__((visibility("default"))) ssize_t readv(int fd, const iovec* iov, int count) {
  if (!t_inside && iov_ok(iov, count)) {
    FdState st = state_for_read(fd);
    if (st.kind == FdKind::kOurs) return read_at_offset(fd, st, iov, count);
  }
  auto f = real().readv;
  return f ? f(fd, iov, count) : syscall(SYS_readv, fd, iov, count);
}

__attribute__((visibility("default"))) ssize_t preadv(int fd, const iovec* iov, int count, off_t off) {
  auto f = real().preadv;
  if (off < 0) return f ? f(fd, iov, count, off) : syscall(SYS_preadv, fd, iov, count, off, 0L);
  return do_preadv(fd, iov, count, off, 0, nullptr);
}
__attribute__((visibility("default"))) ssize_t preadv64(int fd, const iovec* iov, int count, off_t off) {
  auto f = real().preadv64;
  if (off < 0) return f ? f(fd, iov, count, off) : syscall(SYS_preadv, fd, iov, count, off, 0L);
  return do_preadv(fd, iov, count, off, 0, nullptr);
}
__attribute__((visibility("default"))) ssize_t preadv2(int fd, const iovec* iov, int count, off_t off, int flags) {
  return do_preadv(fd, iov, count, off, flags, real().preadv2);
}
__attribute__((visibility("default"))) ssize_t preadv64v2(int fd, const iovec* iov, int count, off_t off, int flags) {
  return do_preadv(fd, iov, count, off, flags, real().preadv64v2);
}

__attribute__((visibility("default"))) int close(int fd) {
  if (!t_inside && fd >= 0) table().forget(fd);
  auto f = real().close;
  return f ? f(fd) : static_cast<int>(syscall(SYS_close, fd));
}

__attribute__((visibility("default"))) int close_range(unsigned first, unsigned last, int flags) {
  if (!t_inside && (flags & CLOSE_RANGE_CLOEXEC) == 0) table().forget_range(first, last);
  auto f = real().close_range;
  return f ? f(first, last, flags) : static_cast<int>(syscall(SYS_close_range, first, last, flags));
}

__attribute__((visibility("default"))) void closefrom(int lowfd) {
  if (!t_inside && lowfd >= 0) table().forget_range(static_cast<unsigned>(lowfd), ~0u);
  if (auto f = real().closefrom) return f(lowfd);
  syscall(SYS_close_range, static_cast<unsigned>(lowfd), ~0u, 0);
}

__attribute__((visibility("default"))) FILE* fopen(const char* path, const char* mode) {
  return do_fopen(path, mode, real().fopen);
}
__attribute__((visibility("default"))) FILE* fopen64(const char* path, const char* mode) {
  return do_fopen(path, mode, real().fopen64 ? real().fopen64 : real().fopen);
}

// stdio closes its fd inside libc, where no wrapper sees it.
__attribute__((visibility("default"))) int fclose(FILE* stream) {
  if (!t_inside && stream != nullptr) {
    const int fd = fileno(stream);
    if (fd >= 0) table().forget(fd);
  }
  return real().fclose(stream);
}

__attribute__((visibility("default"))) int dup(int fd) {
  auto f = real().dup;
  return after_dup(fd, f ? f(fd) : static_cast<int>(syscall(SYS_dup, fd)));
}

__attribute__((visibility("default"))) int dup2(int from, int to) {
  auto f = real().dup2;
  const int r = f ? f(from, to) : static_cast<int>(syscall(SYS_dup2, from, to));
  return after_dup(from, r);
}

__attribute__((visibility("default"))) int dup3(int from, int to, int flags) {
  auto f = real().dup3;
  const int r = f ? f(from, to, flags) : static_cast<int>(syscall(SYS_dup3, from, to, flags));
  return after_dup(from, r);
}

// Every fcntl argument is an int or a pointer, both passed in one register on the ABIs glibc
// supports here, so it is forwarded as a pointer-sized value.
static int fcntl_common(int (*f)(int, int, ...), int fd, int cmd, void* arg) {
  const int r = f ? f(fd, cmd, arg) : static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
  if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0) after_dup(fd, r);
  return r;
}

__attribute__((visibility("default"))) int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(real().fcntl, fd, cmd, arg);
}

__attribute__((visibility("default"))) int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(real().fcntl64 ? real().fcntl64 : real().fcntl, fd, cmd, arg);
}

}  // extern "C"
