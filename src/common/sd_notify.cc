#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace seaweed {

bool notify_socket_set() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  return path && *path;
}

Status sd_notify(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return {};
  const std::string path = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof(addr.sun_path))
    return make_error(EINVAL, "NOTIFY_SOCKET=" + path + " is neither an absolute path nor an abstract socket");
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errno, std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno));
  const ssize_t sent =
      ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  const int err = errno;
  ::close(fd);
  if (sent < 0) return make_error(err, "NOTIFY_SOCKET " + path + ": " + std::strerror(err));
  return {};
}

}  // namespace seaweed
