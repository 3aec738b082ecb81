#include "canned_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <list>
#include <stdexcept>

namespace seaweed::testing {
namespace {

UniqueFd listen_on_loopback(uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd.get(), 64) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("bind/listen on 127.0.0.1:0 failed");
  }
  port = ntohs(address.sin_port);
  return fd;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

RecordedRequest parse_head(const std::string& head) {
  RecordedRequest request;
  size_t line_start = 0;
  bool first_line = true;
  while (line_start < head.size()) {
    size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string::npos) line_end = head.size();
    const std::string line = head.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    if (first_line) {
      first_line = false;
      const auto space = line.find(' ');
      request.method = line.substr(0, space);
      request.target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);
    } else if (const auto colon = line.find(':'); colon != std::string::npos) {
      request.headers[lowercase(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
  }
  return request;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 416:
      return "Requested Range Not Satisfiable";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Whatever";
  }
}

}  // namespace

std::string RecordedRequest::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? "" : it->second;
}

std::string http_response(int status, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  for (const auto& [name, value] : headers) response += name + ": " + value + "\r\n";
  response += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  response += body;
  return response;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

CannedHttpServer::CannedHttpServer(Responder responder) : responder_(std::move(responder)) {
  listener_ = listen_on_loopback(port_);
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  wake_read_ = UniqueFd(wake[0]);
  wake_write_ = UniqueFd(wake[1]);
  thread_ = std::thread([this] { serve(); });
}

CannedHttpServer::~CannedHttpServer() {
  const char stop = 'x';
  [[maybe_unused]] const ssize_t ignored = ::write(wake_write_.get(), &stop, 1);
  thread_.join();
}

std::string CannedHttpServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::vector<RecordedRequest> CannedHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int CannedHttpServer::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return connections_accepted_;
}

void CannedHttpServer::serve() {
  std::list<Connection> connections;
  for (;;) {
    std::vector<pollfd> polled = {{wake_read_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    for (const auto& connection : connections) polled.push_back({connection.fd.get(), POLLIN, 0});
    if (::poll(polled.data(), polled.size(), -1) < 0) continue;
    if (polled[0].revents != 0) return;  // stop requested; connections close with the list
    if (polled[1].revents & POLLIN) {
      UniqueFd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (accepted.get() >= 0) {
        connections.push_back(Connection{std::move(accepted), "", false});
        std::lock_guard lock(mutex_);
        ++connections_accepted_;
      }
    }
    auto it = connections.begin();
    for (size_t i = 2; i < polled.size(); ++i, ++it) {
      if (polled[i].revents == 0) continue;
      if (!serve_readable(*it)) it->fd = UniqueFd();  // closed below
    }
    connections.remove_if([](const Connection& connection) { return connection.fd.get() < 0; });
  }
}

bool CannedHttpServer::serve_readable(Connection& connection) {
  char buffer[16 * 1024];
  const ssize_t received = ::recv(connection.fd.get(), buffer, sizeof(buffer), 0);
  if (received <= 0) return false;
  if (connection.hung) return true;
  connection.pending.append(buffer, static_cast<size_t>(received));
  for (size_t head_end; (head_end = connection.pending.find("\r\n\r\n")) != std::string::npos;) {
    RecordedRequest request = parse_head(connection.pending.substr(0, head_end));
    connection.pending.erase(0, head_end + 4);  // GETs carry no body
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    const std::optional<std::string> response = responder_(request);
    if (!response) {
      connection.hung = true;
      return true;
    }
    if (!send_all(connection.fd.get(), *response)) return false;
  }
  return true;
}

std::string refused_address() {
  uint16_t port = 0;
  { UniqueFd listener = listen_on_loopback(port); }  // closed again: nothing listens there now
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace seaweed::testing
