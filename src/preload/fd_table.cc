#include "preload/fd_table.h"

#include <new>

namespace seaweed::preload {

FdTable::~FdTable() {
  for (auto& c : chunks_) std::unique_ptr<Slot[]> owned(c.load());
}

FdTable::Slot* FdTable::slot(int fd, bool create) const {
  if (fd < 0 || fd >= kMaxFd) return nullptr;
  auto& chunk = chunks_[static_cast<size_t>(fd / kChunkSlots)];
  Slot* slots = chunk.load(std::memory_order_acquire);
  if (slots == nullptr) {
    if (!create) return nullptr;
    std::lock_guard lock(grow_mu_);
    slots = chunk.load(std::memory_order_acquire);
    if (slots == nullptr) {
      slots = std::make_unique<Slot[]>(kChunkSlots).release();  // owned by chunks_, freed in ~FdTable
      chunk.store(slots, std::memory_order_release);
    }
  }
  return &slots[fd % kChunkSlots];
}

FdState FdTable::get(int fd) const {
  Slot* s = slot(fd, false);
  if (s == nullptr) return {};
  std::lock_guard lock(stripe(fd));
  return FdState{s->kind, s->description};
}

void FdTable::set_ours(int fd, std::shared_ptr<OpenDescription> description) {
  Slot* s = slot(fd, true);
  if (s == nullptr) return;
  std::shared_ptr<OpenDescription> old;
  std::lock_guard lock(stripe(fd));
  old = std::move(s->description);  // destroyed after the lock is released
  s->kind = FdKind::kOurs;
  s->description = std::move(description);
}

FdState FdTable::claim(int fd, FdKind kind, std::shared_ptr<OpenDescription> description) {
  Slot* s = slot(fd, true);
  if (s == nullptr) return {};
  std::lock_guard lock(stripe(fd));
  if (s->kind == FdKind::kUnknown) {
    s->kind = kind;
    s->description = kind == FdKind::kOurs ? std::move(description) : nullptr;
  }
  return FdState{s->kind, s->description};
}

void FdTable::set_not_ours(int fd) {
  Slot* s = slot(fd, true);
  if (s == nullptr) return;
  std::shared_ptr<OpenDescription> old;
  std::lock_guard lock(stripe(fd));
  old = std::move(s->description);
  s->kind = FdKind::kNotOurs;
}

void FdTable::forget(int fd) {
  Slot* s = slot(fd, false);
  if (s == nullptr) return;
  std::shared_ptr<OpenDescription> old;
  {
    std::lock_guard lock(stripe(fd));
    old = std::move(s->description);
    s->kind = FdKind::kUnknown;
  }
}

void FdTable::duplicate(int from, int to) {
  if (from == to) return;
  const FdState state = get(from);
  Slot* s = slot(to, state.kind != FdKind::kUnknown);
  if (s == nullptr) return;
  std::shared_ptr<OpenDescription> old;
  std::lock_guard lock(stripe(to));
  old = std::move(s->description);
  s->kind = state.kind;
  s->description = state.description;
}

void FdTable::forget_range(unsigned first, unsigned last) {
  const unsigned end = last >= static_cast<unsigned>(kMaxFd) ? static_cast<unsigned>(kMaxFd) - 1 : last;
  for (unsigned fd = first; fd <= end && fd >= first; ++fd) {
    if (chunks_[fd / kChunkSlots].load(std::memory_order_acquire) == nullptr) {
      fd = (fd / kChunkSlots + 1) * kChunkSlots - 1;  // skip a chunk never used
      continue;
    }
    forget(static_cast<int>(fd));
  }
}

void FdTable::reinit_locks_after_fork() {
  // Only the forking thread runs in the child; another parent thread may have held any of these.
  new (&grow_mu_) std::mutex;  // NOLINT: re-initialised in place
  for (auto& m : stripes_) new (&m) std::mutex;
  for (auto& c : chunks_) {
    Slot* slots = c.load();
    if (slots == nullptr) continue;
    for (int i = 0; i < kChunkSlots; ++i)
      if (slots[i].description) new (&slots[i].description->offset_mu) std::mutex;
  }
}

}  // namespace seaweed::preload
