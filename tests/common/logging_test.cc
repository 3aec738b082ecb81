#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace seaweed {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "seaweed-logging-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls until the file holds text (the level-change line comes from another thread).
bool eventually_contains(const fs::path& p, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(p).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(Logging, ParsesLevelsAndVerbosities) {
  EXPECT_EQ(*parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(*parse_log_level("warning"), spdlog::level::warn);
  EXPECT_EQ(*parse_log_level("off"), spdlog::level::off);
  EXPECT_EQ(*parse_log_level(""), spdlog::level::info);
  EXPECT_EQ(*parse_log_level("0"), spdlog::level::info);
  EXPECT_EQ(*parse_log_level("3"), spdlog::level::debug);
  EXPECT_EQ(*parse_log_level("4"), spdlog::level::trace);
  auto bad = parse_log_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, EINVAL);
  EXPECT_THAT(bad.error().message, HasSubstr("trace, debug, info"));
}

TEST(Logging, Sigusr1StepsTowardsTraceAndSigusr2ReturnsToTheConfiguredLevel) {
  using L = spdlog::level::level_enum;
  EXPECT_EQ(level_after_signal(L::info, L::info, SIGUSR1), L::debug);
  EXPECT_EQ(level_after_signal(L::debug, L::info, SIGUSR1), L::trace);
  EXPECT_EQ(level_after_signal(L::trace, L::info, SIGUSR1), L::trace);
  EXPECT_EQ(level_after_signal(L::err, L::err, SIGUSR1), L::warn);
  EXPECT_EQ(level_after_signal(L::off, L::off, SIGUSR1), L::critical);
  EXPECT_EQ(level_after_signal(L::trace, L::warn, SIGUSR2), L::warn);
}

TEST(Logging, RefusesContradictoryOutputs) {
  LogOptions o;
  o.to = "syslog";
  o.file = "/tmp/x.log";
  EXPECT_EQ(setup_logging("t", o).error().code, EINVAL);
  o = {};
  o.to = "file";
  EXPECT_THAT(setup_logging("t", o).error().message, HasSubstr("-logFile"));
  o = {};
  o.to = "stderr";
  o.file = "/tmp/x.log";
  EXPECT_EQ(setup_logging("t", o).error().code, EINVAL);
  o = {};
  o.to = "journal";
  EXPECT_THAT(setup_logging("t", o).error().message, HasSubstr("stderr, syslog or file"));
  o = {};
  o.file = "/tmp/x.log";
  o.max_size_mb = 0;
  EXPECT_EQ(setup_logging("t", o).error().code, EINVAL);
  o = {};
  o.level = "loud";
  EXPECT_EQ(setup_logging("t", o).error().code, EINVAL);
}

TEST(Logging, AFileThatCannotBeOpenedIsAnErrorWithItsName) {
  LogOptions o;
  o.file = "/proc/self/no-such-dir/m.log";
  auto s = setup_logging("t", o);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("/proc/self/no-such-dir/m.log"));
}

TEST(Logging, FileRotatesBySizeAndKeepsMaxFiles) {
  TempDir dir;
  LogOptions o;
  o.file = (dir.path() / "m.log").string();
  o.max_size_mb = 1;
  o.max_files = 2;
  ASSERT_TRUE(setup_logging("mount", o).ok());
  const std::string payload(1000, 'x');
  for (int i = 0; i < 3500; ++i) spdlog::info("line {} {}", i, payload);  // ~3.5 MiB
  spdlog::default_logger()->flush();
  EXPECT_TRUE(fs::exists(dir.path() / "m.log"));
  EXPECT_TRUE(fs::exists(dir.path() / "m.1.log"));
  EXPECT_TRUE(fs::exists(dir.path() / "m.2.log"));
  EXPECT_FALSE(fs::exists(dir.path() / "m.3.log"));
  for (const char* name : {"m.1.log", "m.2.log"}) EXPECT_LE(fs::file_size(dir.path() / name), 1u << 20);
  EXPECT_THAT(slurp(dir.path() / "m.log"), HasSubstr(" I [mount] line 3499 xxx"));
}

TEST(Logging, ToAFileErrorsAlsoReachStderr) {
  TempDir dir;
  LogOptions o;
  o.file = (dir.path() / "e.log").string();
  ASSERT_TRUE(setup_logging("mount", o).ok());
  testing::internal::CaptureStderr();
  spdlog::info("only in the file");
  spdlog::error("in both");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("in both"));
  EXPECT_THAT(err, Not(HasSubstr("only in the file")));
  const std::string file = slurp(dir.path() / "e.log");
  EXPECT_THAT(file, HasSubstr("only in the file"));
  EXPECT_THAT(file, HasSubstr(" E [mount] in both"));
}

TEST(Logging, SignalsChangeTheLevelAtRuntimeAndTheChangeIsLogged) {
  TempDir dir;
  const auto log = dir.path() / "s.log";
  LogOptions o;
  o.file = log.string();
  o.level = "info";
  ASSERT_TRUE(setup_logging("agent", o).ok());
  LogLevelSignals signals;
  spdlog::debug("hidden before");
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);  // the handler set it
  ASSERT_TRUE(eventually_contains(log, "log level debug (SIGUSR1; SIGUSR2 returns to info)"));
  spdlog::debug("shown at debug");
  ASSERT_EQ(::raise(SIGUSR1), 0);
  ASSERT_TRUE(eventually_contains(log, "log level trace (SIGUSR1"));
  ASSERT_EQ(::raise(SIGUSR2), 0);
  ASSERT_TRUE(eventually_contains(log, "log level info (SIGUSR2"));
  spdlog::debug("hidden after");
  spdlog::default_logger()->flush();
  const std::string text = slurp(log);
  EXPECT_THAT(text, Not(HasSubstr("hidden before")));
  EXPECT_THAT(text, HasSubstr(" D [agent] shown at debug"));
  EXPECT_THAT(text, Not(HasSubstr("hidden after")));
  EXPECT_EQ(configured_log_level(), spdlog::level::info);
}

// syslog(3) writes to /dev/log, which this machine may not have: a child process gets a mount
// namespace of its own with an empty /dev, listens on /dev/log there and checks what arrives.
TEST(Logging, SyslogLinesCarryTheProgramPidAndPriority) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/dev", "tmpfs", 0, nullptr) != 0)
      ::_exit(77);
    const int sock = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, "/dev/log");
    if (sock < 0 || ::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(2);
    timeval tv{5, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    LogOptions o;
    o.to = "syslog";
    if (!setup_logging("mount", o).ok()) ::_exit(3);
    spdlog::warn("hello syslog");
    char buf[512] = {};
    const ssize_t n = ::recv(sock, buf, sizeof buf - 1, 0);
    if (n <= 0) ::_exit(4);
    const std::string got(buf, static_cast<size_t>(n));
    // <28> = LOG_DAEMON (3) * 8 + LOG_WARNING (4)
    const bool ok = got.rfind("<28>", 0) == 0 &&
                    got.find("seaweed-rdma-mount[" + std::to_string(::getpid()) + "]: ") != std::string::npos &&
                    got.find("hello syslog") != std::string::npos;
    if (!ok) ::write(2, buf, static_cast<size_t>(n));
    ::_exit(ok ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no mount namespace for a private /dev/log (needs CAP_SYS_ADMIN)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace seaweed
