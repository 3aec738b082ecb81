#include "common/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace seaweed {
namespace {

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    if (name[0] == '/') ::unlink(name.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0;
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  [[nodiscard]] bool bound() const { return bound_; }
  std::string receive() {
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SdNotify, PathSocket) {
  NotifySocket sock(::testing::TempDir() + "/sd_notify_test.sock");
  ASSERT_TRUE(sock.bound());
  EXPECT_TRUE(notify_socket_set());
  ASSERT_TRUE(sd_notify("READY=1").ok());
  EXPECT_EQ(sock.receive(), "READY=1");
  ASSERT_TRUE(sd_notify("STOPPING=1").ok());
  EXPECT_EQ(sock.receive(), "STOPPING=1");
}

TEST(SdNotify, AbstractSocket) {
  NotifySocket sock("@seaweed-sd-notify-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(sock.bound());
  ASSERT_TRUE(sd_notify("READY=1\nSTATUS=mounted").ok());
  EXPECT_EQ(sock.receive(), "READY=1\nSTATUS=mounted");
}

TEST(SdNotify, WithoutSocketNothingHappens) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify_socket_set());
  EXPECT_TRUE(sd_notify("READY=1").ok());
}

TEST(SdNotify, Errors) {
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_EQ(sd_notify("READY=1").error().code, EINVAL);
  ::setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify.sock", 1);
  EXPECT_FALSE(sd_notify("READY=1").ok());
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace seaweed
