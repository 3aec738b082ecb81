#include "client/read_tokens.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

namespace seaweed::client {
namespace {

using namespace std::chrono_literals;

// A fake daemon: counts the ioctls per fd and hands out numbered tokens of a fixed lifetime.
struct FakeDaemon {
  int32_t lifetime_sec = 10;
  std::map<int, int> calls;
  std::map<int, int> fail_with;  // fd -> errno
  int minted = 0;
  ReadTokens::Clock::time_point now{};

  ReadTokens tokens() {
    return ReadTokens(
        [this](int fd, const std::string& fid) -> Result<ReadToken> {
          ++calls[fd];
          if (auto it = fail_with.find(fd); it != fail_with.end()) return make_error(it->second, "fake ioctl");
          return ReadToken{fid + "#" + std::to_string(++minted), lifetime_sec};
        },
        [this] { return now; });
  }
};

TEST(ReadTokens, NoSourceIsEnokey) {
  FakeDaemon d;
  auto t = d.tokens();
  auto got = t.token_for("3,01637037d6");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ENOKEY);
  EXPECT_EQ(t.fetches(), 0u);
}

TEST(ReadTokens, CachedUntilHalfLifeThenRefreshed) {
  FakeDaemon d;
  auto t = d.tokens();
  t.add_source(7, {"3,01", "3,02"});
  EXPECT_EQ(*t.token_for("3,01"), "3,01#1");
  d.now += 4900ms;
  EXPECT_EQ(*t.token_for("3,01"), "3,01#1");  // 4.9 s of 10: still fresh
  EXPECT_EQ(*t.token_for("3,02"), "3,02#2");  // per fid
  d.now += 200ms;
  EXPECT_EQ(*t.token_for("3,01"), "3,01#3");  // past half life: asked again
  EXPECT_EQ(d.calls[7], 3);
}

TEST(ReadTokens, ClosedFdHandsOverToAnotherOpenFile) {
  FakeDaemon d;
  auto t = d.tokens();
  t.add_source(7, {"3,01"});
  t.add_source(9, {"3,01"});
  d.fail_with[7] = EBADF;  // closed under us
  EXPECT_EQ(*t.token_for("3,01"), "3,01#1");
  EXPECT_EQ(d.calls[7], 1);
  EXPECT_EQ(d.calls[9], 1);
  t.remove_source(7, {"3,01"});
  t.remove_source(9, {"3,01"});
  EXPECT_EQ(t.token_for("3,01").error().code, ENOKEY);  // no file holds it any more
}

TEST(ReadTokens, DaemonRefusalIsReturned) {
  FakeDaemon d;
  auto t = d.tokens();
  t.add_source(7, {"3,01"});
  d.fail_with[7] = EPERM;
  auto got = t.token_for("3,01");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, EPERM);
}

TEST(ReadTokens, ZeroLifetimeIsNeverCached) {
  FakeDaemon d;
  d.lifetime_sec = 0;
  auto t = d.tokens();
  t.add_source(7, {"3,01"});
  EXPECT_EQ(*t.token_for("3,01"), "3,01#1");
  EXPECT_EQ(*t.token_for("3,01"), "3,01#2");
}

}  // namespace
}  // namespace seaweed::client
