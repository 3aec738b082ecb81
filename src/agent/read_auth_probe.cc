#include "agent/read_auth_probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "agent/unique_fd.h"
#include "transport/http/jwt.h"
#include "transport/ucx/ucx_util.h"

namespace seaweed::agent {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Status wait_for(int fd, short events, Clock::time_point deadline, const std::string& what) {
  pollfd p{fd, events, 0};
  const int n = ::poll(&p, 1, remaining_ms(deadline));
  if (n < 0) return make_error(errno, what + ": " + std::strerror(errno));
  if (n == 0) return make_error(ETIMEDOUT, what + ": timed out");
  return {};
}

// A fid the probe names: the volume server checks the token before it looks at the volume.
constexpr const char* kProbeFid = "1,01ffffffff";

}  // namespace

Result<int> http_head_status(const std::string& host_port, const std::string& path,
                             const std::map<std::string, std::string>& headers, int timeout_ms) {
  auto hp = transport::ucx::split_host_port(host_port);
  if (!hp) return hp.error();
  auto addr = transport::ucx::resolve_address(hp->first, hp->second, false);
  if (!addr) return addr.error();
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  UniqueFd fd(::socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(errno, std::string("socket: ") + std::strerror(errno));
  const socklen_t len = addr->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), len) != 0 && errno != EINPROGRESS)
    return make_error(errno, "connect " + host_port + ": " + std::strerror(errno));
  if (auto s = wait_for(fd.get(), POLLOUT, deadline, "connect " + host_port); !s) return s.error();
  int err = 0;
  socklen_t err_len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len);
  if (err != 0) return make_error(err, "connect " + host_port + ": " + std::strerror(err));

  std::string request = "HEAD " + path + " HTTP/1.1\r\nHost: " + host_port + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return make_error(errno, "send: " + std::string(std::strerror(errno)));
    if (n < 0) {
      if (auto s = wait_for(fd.get(), POLLOUT, deadline, "send to " + host_port); !s) return s.error();
      continue;
    }
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  while (reply.find("\r\n") == std::string::npos && reply.size() < 512) {
    if (auto s = wait_for(fd.get(), POLLIN, deadline, "reply from " + host_port); !s) return s.error();
    char buf[256];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 401 Unauthorized"
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12)
    return make_error(EPROTO, host_port + " did not answer HTTP: \"" + reply.substr(0, 40) + "\"");
  return std::atoi(reply.c_str() + 9);
}

Result<ReadAuthProbe> probe_read_auth(const std::string& volume_server, const std::string& jwt_read_key,
                                      int timeout_ms) {
  const std::string path = std::string("/") + kProbeFid;
  auto bare = http_head_status(volume_server, path, {}, timeout_ms);
  if (!bare) return ReadAuthProbe::kUnreachable;
  if (*bare != 401) return ReadAuthProbe::kNotRequired;
  if (jwt_read_key.empty())
    return make_error(EPERM, "volume server " + volume_server +
                                 " requires a read JWT ([jwt.signing.read] key in its security.toml) and this agent "
                                 "has no key: it would serve what the volume server protects");
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto token = transport::http::mint_read_jwt(jwt_read_key, kProbeFid, now + 60);
  if (!token) return token.error();
  auto signed_probe = http_head_status(volume_server, path, {{"Authorization", "Bearer " + *token}}, timeout_ms);
  if (!signed_probe) return ReadAuthProbe::kUnreachable;
  if (*signed_probe == 401)
    return make_error(EACCES, "volume server " + volume_server +
                                  " refuses read tokens signed with this agent's key: the keys differ");
  return ReadAuthProbe::kRequired;
}

}  // namespace seaweed::agent
