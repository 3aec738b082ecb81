#include "common/daemon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace seaweed {
namespace {

using ::testing::HasSubstr;

struct Run {
  int exit_code = -1;
  std::string stderr_text;
};

// Forks with fork_into_background; the child runs `child` and _exits (never returns to gtest).
Run run_background(const std::function<void(ReadinessPipe&)>& child) {
  ::testing::internal::CaptureStderr();
  auto forked = fork_into_background("prog");
  if (forked.ok() && !forked->is_parent) {
    child(forked->pipe);
    ::_exit(0);
  }
  Run r;
  r.stderr_text = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(forked.ok());
  if (forked.ok()) {
    r.exit_code = forked->exit_code;
    // A child that reported READY goes on running: end it and reap it (the others are reaped).
    if (r.exit_code == 0 && forked->child > 0) {
      ::kill(forked->child, SIGKILL);
      ::waitpid(forked->child, nullptr, 0);
    }
  }
  return r;
}

TEST(Daemon, ReadyMeansExitZero) {
  auto r = run_background([](ReadinessPipe& pipe) {
    EXPECT_TRUE(pipe.active());
    pipe.ready();
    ::pause();  // the parent must not wait for the child to end
  });
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stderr_text, "");
}

TEST(Daemon, FailurePrintsTheChildsLineAndItsStatus) {
  auto r = run_background([](ReadinessPipe& pipe) {
    pipe.fail("filer 127.0.0.1:1 unreachable\nsecond line");
    ::_exit(3);
  });
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stderr_text, "prog: filer 127.0.0.1:1 unreachable second line\n");
}

TEST(Daemon, ChildDyingSilently) {
  auto exited = run_background([](ReadinessPipe&) { ::_exit(5); });
  EXPECT_EQ(exited.exit_code, 5);
  EXPECT_THAT(exited.stderr_text, HasSubstr("exited with status 5 before the mount was live"));

  auto zero = run_background([](ReadinessPipe&) { ::_exit(0); });
  EXPECT_EQ(zero.exit_code, 1);  // exit 0 only once the mount is live

  auto killed = run_background([](ReadinessPipe&) { ::raise(SIGKILL); });
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_THAT(killed.stderr_text, HasSubstr("killed by signal 9"));
}

// Ctrl-C on `mount` reaches the waiting parent only (the child has its own session): it is
// passed on, so the half-started mount does not linger.
TEST(Daemon, SignalToTheParentReachesTheChild) {
  auto r = run_background([](ReadinessPipe&) {
    ::kill(::getppid(), SIGTERM);
    ::pause();  // ended by the forwarded SIGTERM
    ::_exit(0);
  });
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
}

TEST(Daemon, ChildHasItsOwnSession) {
  auto r = run_background([](ReadinessPipe& pipe) {
    if (::getsid(0) == ::getpid())
      pipe.ready();
    else
      pipe.fail("not a session leader");
  });
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
}

TEST(Daemon, RefusesToForkWithThreadsRunning) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer's own thread makes the count unreliable";
#endif
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread t([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  });
  auto forked = fork_into_background("prog");
  if (forked.ok() && !forked->is_parent) ::_exit(0);  // (a child must never run the test on)
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  t.join();
  ASSERT_FALSE(forked.ok());
  EXPECT_THAT(forked.error().message, HasSubstr("threads already run"));
}

TEST(Daemon, PipeWithoutParentIsNoOp) {
  ReadinessPipe none;
  EXPECT_FALSE(none.active());
  none.ready();
  none.fail("x");
}

}  // namespace
}  // namespace seaweed
