// The C API of libseaweed-rdma-read (seaweed_rdma_read.h). Every entry point catches everything:
// no C++ exception crosses into C callers. File descriptors are handled with raw system calls, so
// the preload library's wrappers of open/pread/close never see the library's own calls.
#include <fcntl.h>
#include <pthread.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "client/engine.h"
#include "client/layout_blob.h"
#include "client/mountinfo.h"
#include "client/seaweed_rdma_read.h"
#include "client/snapshot_fetch.h"
#include "client/stats.h"

using seaweed::Error;
using seaweed::Result;
using seaweed::client::count;
using seaweed::client::Engine;
using seaweed::client::LayoutSnapshot;
using seaweed::client::SnapshotReader;
using seaweed::client::stats;

struct swr_file {
  int fd = -1;
  bool owns_fd = true;
  LayoutSnapshot snapshot;
  std::unique_ptr<SnapshotReader> reader;
  uint64_t generation = 0;  // Engine::generation() the reader was made in
};

namespace {

// Library logs go to stderr, quiet unless SEAWEED_RDMA_LOG asks (the application owns stdout).
void setup_logging_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* level = std::getenv("SEAWEED_RDMA_LOG");
    try {
      auto logger = spdlog::stderr_logger_mt("seaweed-rdma-read");
      logger->set_level(spdlog::level::from_str(level && *level ? level : "error"));
      logger->set_pattern("seaweed-rdma[%P] %L %v");
      spdlog::set_default_logger(logger);
    } catch (...) {
      // The application registered a logger of that name itself: keep its setup.
    }
  });
}

int fail(int code) {
  errno = code;
  return -1;
}

template <class T>
T* fail_null(int code) {
  errno = code;
  return nullptr;
}

long raw_close(int fd) { return syscall(SYS_close, fd); }

// Declines are counted by reason; ENOTSUP to the caller (read it through FUSE).
swr_file* decline(std::atomic<uint64_t>& reason, const Error& why) {
  count(stats().opens_declined);
  count(reason);
  spdlog::info("not served by the library: {}", why.message);
  return fail_null<swr_file>(ENOTSUP);
}

swr_file* adopt(int fd, bool owns_fd) {
  setup_logging_once();
  if (!seaweed::client::on_fuse(fd)) return fail_null<swr_file>(ENOTSUP);
  struct stat st {};
  if (syscall(SYS_fstat, fd, &st) != 0) return fail_null<swr_file>(errno);
  if (!S_ISREG(st.st_mode)) return fail_null<swr_file>(ENOTSUP);  // directories and the like: FUSE's
  const long fl = syscall(SYS_fcntl, fd, F_GETFL);
  if (fl < 0) return fail_null<swr_file>(errno);
  auto blob = seaweed::client::fetch_snapshot_blob(fd);
  if (!blob.ok()) {
    const int code = blob.error().code;
    if (code == ENOTTY || code == EINVAL || code == ENOSYS) return fail_null<swr_file>(ENOTSUP);  // not ours
    if (code == ENODATA) return decline(stats().declined_inline, blob.error());
    if (code == EBADF || code == EISDIR) return decline(stats().declined_other, blob.error());
    return decline(stats().declined_snapshot, blob.error());
  }
  if ((fl & O_ACCMODE) != O_RDONLY) return decline(stats().declined_other, Error{EROFS, "not opened read-only"});
  auto snapshot = seaweed::client::decode_snapshot(*blob);
  if (!snapshot.ok()) return decline(stats().declined_snapshot, snapshot.error());
  auto file = std::make_unique<swr_file>();
  file->fd = fd;
  file->owns_fd = owns_fd;
  file->snapshot = std::move(snapshot.value());
  Engine& engine = Engine::get(file->snapshot);
  file->generation = Engine::generation();
  auto reader = engine.open(file->snapshot, fd);
  if (!reader.ok()) {
    // Read tokens are asked of the daemon per fid through this fd (client/read_tokens.h); only a
    // process whose first file needed none cannot take them (docs/PRELOAD.md, limits).
    auto& reason = reader.error().code == EPERM ? stats().declined_tokens : stats().declined_snapshot;
    return decline(reason, reader.error());
  }
  file->reader = std::move(reader.value());
  count(stats().opens_served);
  return file.release();
}

// The handle's reader; in a forked child, a new one on the child's engine (the parent's is left
// untouched: its stream may be mid-read on a thread that does not exist here).
SnapshotReader* reader_of(swr_file* file) {
  const uint64_t generation = Engine::generation();
  if (file->generation == generation) return file->reader.get();
  Engine& engine = Engine::get(file->snapshot);
  std::lock_guard lock(engine.rebuild_mutex());
  if (file->generation != generation) {
    (void)file->reader.release();  // the parent's, abandoned on purpose
    auto reader = engine.open(file->snapshot, file->fd);
    if (!reader.ok()) return nullptr;
    file->reader = std::move(reader.value());
    file->generation = generation;
  }
  return file->reader.get();
}

ssize_t fallback_pread(swr_file* file, void* buf, size_t len, uint64_t offset, const Error& why) {
  count(stats().reads_fallback);
  count(stats().fallback_read_error);
  spdlog::warn("read through FUSE instead: {}", why.message);
  const long n = syscall(SYS_pread64, file->fd, buf, len, static_cast<off_t>(offset));
  if (n > 0) count(stats().bytes_fallback, static_cast<uint64_t>(n));
  return n;
}

ssize_t pread_impl(swr_file* file, void* buf, size_t len, uint64_t offset) {
  if (offset > static_cast<uint64_t>(INT64_MAX)) return fail(EINVAL);
  SnapshotReader* reader = reader_of(file);
  if (reader == nullptr) return fallback_pread(file, buf, len, offset, Error{EIO, "no reader after fork"});
  auto n = reader->pread(offset, std::span<char>(static_cast<char*>(buf), len));
  if (!n.ok()) return fallback_pread(file, buf, len, offset, n.error());
  count(stats().reads_served);
  count(stats().bytes_served, *n);
  return static_cast<ssize_t>(*n);
}

template <class Body>
auto guarded(Body&& body, decltype(body()) on_error) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  } catch (...) {
    errno = EIO;
  }
  return on_error;
}

// Forked children drop the parent's engine without touching it (client/engine.h).
[[maybe_unused]] const int kAtforkRegistered = pthread_atfork(nullptr, nullptr, [] { Engine::abandon_after_fork(); });

std::mutex& registered_mu() {
  static std::mutex mu;
  return mu;
}
std::set<void*>& registered() {
  static std::set<void*> buffers;
  return buffers;
}

}  // namespace

extern "C" {

int swr_api_version(void) { return SWR_API_VERSION; }

swr_file* swr_open(const char* path) {
  if (path == nullptr) return fail_null<swr_file>(EFAULT);
  return guarded(
      [&]() -> swr_file* {
        const long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return nullptr;
        swr_file* file = adopt(static_cast<int>(fd), true);
        if (file == nullptr) {
          const int saved = errno;
          raw_close(static_cast<int>(fd));
          errno = saved;
        }
        return file;
      },
      nullptr);
}

swr_file* swr_open_filer_path(const char* filer, const char* filer_path) {
  if (filer_path == nullptr || filer_path[0] != '/') return fail_null<swr_file>(EINVAL);
  return guarded(
      [&]() -> swr_file* {
        std::ifstream in("/proc/self/mountinfo");
        std::stringstream text;
        text << in.rdbuf();
        auto mounts = seaweed::client::parse_seaweed_mounts(text.str());
        auto local = seaweed::client::local_path_of(mounts, filer ? filer : "", filer_path);
        if (!local) return fail_null<swr_file>(ENOENT);
        return swr_open(local->c_str());
      },
      nullptr);
}

swr_file* swr_open_fd(int fd, int flags) {
  return guarded([&]() -> swr_file* { return adopt(fd, (flags & SWR_ADOPT_BORROW) == 0); }, nullptr);
}

ssize_t swr_pread(swr_file* file, void* buf, size_t len, uint64_t offset) {
  if (file == nullptr) return fail(EBADF);
  if (len == 0) return 0;
  return guarded([&]() -> ssize_t { return pread_impl(file, buf, len, offset); }, ssize_t{-1});
}

int swr_pread_batch(swr_file* file, swr_read_request* requests, size_t n) {
  if (file == nullptr) return fail(EBADF);
  if (n == 0) return 0;
  return guarded(
      [&]() -> int {
        auto run = [&](size_t i) {
          auto& r = requests[i];
          const ssize_t got = r.len == 0 ? 0 : pread_impl(file, r.buf, r.len, r.offset);
          r.result = got < 0 ? -static_cast<ssize_t>(errno ? errno : EIO) : got;
        };
        if (n == 1 || reader_of(file) == nullptr) {
          for (size_t i = 0; i < n; ++i) run(i);
        } else {
          // All but the first on the engine's pool, the first here; then wait for the rest.
          std::mutex mu;
          std::condition_variable cv;
          size_t left = n - 1;
          Engine& engine = Engine::get(file->snapshot);
          for (size_t i = 1; i < n; ++i) {
            engine.pool().submit([&, i] {
              run(i);
              std::lock_guard lock(mu);
              if (--left == 0) cv.notify_one();
            });
          }
          run(0);
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return left == 0; });
        }
        int ok = 0;
        for (size_t i = 0; i < n; ++i) ok += requests[i].result >= 0 ? 1 : 0;
        return ok;
      },
      -1);
}

uint64_t swr_size(const swr_file* file) { return file ? file->snapshot.file_size : 0; }
uint64_t swr_snapshot_id(const swr_file* file) { return file ? file->snapshot.snapshot_id : 0; }
int swr_fd(const swr_file* file) { return file ? file->fd : -1; }

int swr_close(swr_file* file) {
  if (file == nullptr) return fail(EBADF);
  std::unique_ptr<swr_file> owned(file);
  if (owned->generation != Engine::generation()) (void)owned->reader.release();  // the parent's
  const int fd = owned->fd;
  const bool close_fd = owned->owns_fd;
  owned.reset();
  if (close_fd && raw_close(fd) != 0) return -1;
  return 0;
}

int swr_register_buffer(void* buf, size_t len) {
  if (buf == nullptr || len == 0) return fail(EINVAL);
  return guarded(
      [&]() -> int {
        std::lock_guard lock(registered_mu());
        registered().insert(buf);
        return 0;
      },
      -1);
}

int swr_unregister_buffer(void* buf) {
  return guarded(
      [&]() -> int {
        std::lock_guard lock(registered_mu());
        return registered().erase(buf) ? 0 : fail(ENOENT);
      },
      -1);
}

int swr_get_stats(swr_stats* out, size_t size) {
  if (out == nullptr) return fail(EFAULT);
  return guarded(
      [&]() -> int {
        auto& s = stats();
        auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
        swr_stats all{};
        all.opens_served = v(s.opens_served);
        all.opens_declined = v(s.opens_declined);
        all.reads_served = v(s.reads_served);
        all.reads_fallback = v(s.reads_fallback);
        all.bytes_served = v(s.bytes_served);
        all.bytes_fallback = v(s.bytes_fallback);
        all.bytes_rdma = seaweed::client::transport_bytes("rdma");
        all.bytes_http = seaweed::client::transport_bytes("http");
        all.declined_inline = v(s.declined_inline);
        all.declined_tokens = v(s.declined_tokens);
        all.declined_snapshot = v(s.declined_snapshot);
        all.declined_other = v(s.declined_other);
        all.fallback_read_error = v(s.fallback_read_error);
        const size_t n = std::min(size, sizeof(all));
        std::memcpy(out, &all, n);
        return static_cast<int>(n);
      },
      -1);
}

int swr_format_stats(char* buf, size_t size) {
  return guarded(
      [&]() -> int {
        const std::string line = "seaweed-rdma: " + seaweed::client::format_stats();
        if (buf != nullptr && size > 0) {
          const size_t n = std::min(size - 1, line.size());
          std::memcpy(buf, line.data(), n);
          buf[n] = '\0';
        }
        return static_cast<int>(line.size());
      },
      -1);
}

void swr_atfork_child(void) { Engine::abandon_after_fork(); }

}  // extern "C"
