#include "preload/fd_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace seaweed::preload {
namespace {

std::shared_ptr<OpenDescription> description(int* closed) {
  return std::make_shared<OpenDescription>(std::shared_ptr<void>(closed, [](void* p) { ++*static_cast<int*>(p); }));
}

TEST(FdTable, UnknownUntilToldThenRemembered) {
  FdTable t;
  EXPECT_EQ(t.get(5).kind, FdKind::kUnknown);
  t.set_not_ours(5);
  EXPECT_EQ(t.get(5).kind, FdKind::kNotOurs);
  t.forget(5);
  EXPECT_EQ(t.get(5).kind, FdKind::kUnknown);
  EXPECT_EQ(t.get(-1).kind, FdKind::kUnknown);
  EXPECT_EQ(t.get(FdTable::kMaxFd).kind, FdKind::kUnknown);
  t.set_not_ours(FdTable::kMaxFd + 3);  // beyond the table: ignored
}

TEST(FdTable, DupsShareOneDescriptionClosedWithTheLastFd) {
  FdTable t;
  int closed = 0;
  t.set_ours(3, description(&closed));
  t.duplicate(3, 7);      // dup
  t.duplicate(3, 70000);  // fcntl(F_DUPFD) to a high fd
  EXPECT_EQ(t.get(3).description, t.get(7).description);
  EXPECT_EQ(t.get(3).description, t.get(70000).description);
  t.forget(3);
  t.forget(70000);
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(t.get(7).kind, FdKind::kOurs);
  t.forget(7);
  EXPECT_EQ(closed, 1);
}

TEST(FdTable, Dup2OverAServedFdReplacesIt) {
  FdTable t;
  int a = 0, b = 0;
  t.set_ours(3, description(&a));
  t.set_ours(4, description(&b));
  t.duplicate(4, 3);  // dup2(4, 3): 3's old description goes
  EXPECT_EQ(a, 1);
  EXPECT_EQ(t.get(3).description, t.get(4).description);
  t.set_not_ours(9);
  t.duplicate(9, 4);  // dup2 of a file of another file system over 4
  EXPECT_EQ(t.get(4).kind, FdKind::kNotOurs);
  t.duplicate(12, 3);  // an unknown fd over 3: unknown again (probed on first read)
  EXPECT_EQ(t.get(3).kind, FdKind::kUnknown);
  EXPECT_EQ(b, 1);
  t.duplicate(9, 9);  // dup2(fd, fd) changes nothing
  EXPECT_EQ(t.get(9).kind, FdKind::kNotOurs);
}

TEST(FdTable, CloseRangeForgetsEveryFdInIt) {
  FdTable t;
  int closed = 0;
  for (int fd : {3, 4, 5, 2000, 5000}) t.set_ours(fd, description(&closed));
  t.forget_range(4, 2000);
  EXPECT_EQ(t.get(3).kind, FdKind::kOurs);
  EXPECT_EQ(t.get(4).kind, FdKind::kUnknown);
  EXPECT_EQ(t.get(2000).kind, FdKind::kUnknown);
  EXPECT_EQ(t.get(5000).kind, FdKind::kOurs);
  t.forget_range(0, ~0u);
  EXPECT_EQ(closed, 5);
}

TEST(FdTable, ConcurrentLookupsAndDupsAreSafe) {
  FdTable t;
  int closed = 0;
  t.set_ours(10, description(&closed));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 20000; ++k) {
        const int fd = 100 + i;
        t.duplicate(10, fd);
        auto st = t.get(fd);
        ASSERT_EQ(st.kind, FdKind::kOurs);
        std::lock_guard lock(st.description->offset_mu);
        t.forget(fd);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(closed, 0);
  t.forget(10);
  EXPECT_EQ(closed, 1);
}

TEST(FdTable, LocksStartFreeAfterFork) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "re-initialising a held mutex in place is what a forked child does; TSan cannot follow it";
#endif
  FdTable t;
  int closed = 0;
  t.set_ours(3, description(&closed));
  auto st = t.get(3);
  st.description->offset_mu.lock();  // as if another thread of the parent held it at fork
  t.reinit_locks_after_fork();
  EXPECT_TRUE(st.description->offset_mu.try_lock());
  st.description->offset_mu.unlock();
}

}  // namespace
}  // namespace seaweed::preload

namespace seaweed::preload {
namespace {

TEST(FdTable, FirstClaimOfAnUnknownFdWins) {
  FdTable t;
  int a = 0, b = 0;
  auto first = t.claim(5, FdKind::kOurs, description(&a));
  auto second = t.claim(5, FdKind::kOurs, description(&b));  // a racing probe of the same fd
  EXPECT_EQ(first.description, second.description);
  EXPECT_EQ(b, 1);  // the loser's handle is closed at once
  EXPECT_EQ(t.claim(6, FdKind::kNotOurs, nullptr).kind, FdKind::kNotOurs);
  EXPECT_EQ(t.claim(6, FdKind::kOurs, description(&b)).kind, FdKind::kNotOurs);
  first = second = {};  // the copies above hold the description too
  t.forget(5);
  EXPECT_EQ(a, 1);
}

}  // namespace
}  // namespace seaweed::preload
