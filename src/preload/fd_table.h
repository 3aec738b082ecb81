// Which file descriptors the preload serves, and the state they share. dup'ed fds (dup, dup2,
// dup3, fcntl F_DUPFD*) refer to the same open file description in the kernel, so they share one
// OpenDescription here: the same client handle and the same lock around read's
// lseek / pread / lseek, so concurrent reads through any of them advance one kernel offset.
//
// Three states per fd: unknown (never seen opened: inherited through exec, or opened behind our
// back; probed once on first read), not ours (cached until close or dup2 over it), ours.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>

namespace seaweed::preload {

struct OpenDescription {
  explicit OpenDescription(std::shared_ptr<void> handle) : handle(std::move(handle)) {}
  std::mutex offset_mu;
  std::shared_ptr<void> handle;  // the client library's swr_file, closed with the last fd
};

enum class FdKind : unsigned char { kUnknown, kNotOurs, kOurs };

struct FdState {
  FdKind kind = FdKind::kUnknown;
  std::shared_ptr<OpenDescription> description;  // set when kind == kOurs
};

class FdTable {
 public:
  static constexpr int kChunkSlots = 1024;
  static constexpr int kChunks = 1024;
  static constexpr int kMaxFd = kChunkSlots * kChunks;  // fds above are never served

  FdTable() = default;
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  [[nodiscard]] FdState get(int fd) const;
  void set_ours(int fd, std::shared_ptr<OpenDescription> description);
  // The first classification of an unknown fd wins: two threads probing the same fd at once
  // must end up sharing one description (one offset lock). Returns the fd's state after.
  FdState claim(int fd, FdKind kind, std::shared_ptr<OpenDescription> description);
  void set_not_ours(int fd);
  // close(fd): back to unknown.
  void forget(int fd);
  // dup family: `to` now refers to what `from` refers to (to's old state is dropped).
  void duplicate(int from, int to);
  // close_range / closefrom: every fd in [first, last].
  void forget_range(unsigned first, unsigned last);
  // In a forked child (one thread): every lock starts unlocked again.
  void reinit_locks_after_fork();

 private:
  struct Slot {
    FdKind kind = FdKind::kUnknown;
    std::shared_ptr<OpenDescription> description;
  };
  Slot* slot(int fd, bool create) const;
  std::mutex& stripe(int fd) const { return stripes_[static_cast<size_t>(fd) % stripes_.size()]; }

  mutable std::array<std::atomic<Slot*>, kChunks> chunks_{};
  mutable std::mutex grow_mu_;
  mutable std::array<std::mutex, 64> stripes_;
};

}  // namespace seaweed::preload
