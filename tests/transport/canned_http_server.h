// A tiny HTTP/1.1 server on 127.0.0.1 for unit tests of the HTTP client: every request goes to a
// responder that returns the raw response bytes, or nothing to leave the request unanswered.
// Keeps connections open (keep-alive) and records what it saw.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace seaweed::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                                                         // "/3,01637037d6?readDeleted=true"
  std::map<std::string, std::string> headers;                                 // lowercase names
  [[nodiscard]] std::string header(const std::string& lowercase_name) const;  // "" if absent
};

// Raw response bytes to send, or std::nullopt to never answer this request.
using Responder = std::function<std::optional<std::string>(const RecordedRequest&)>;

// "HTTP/1.1 <status> <reason>\r\n" + headers + Content-Length + body.
std::string http_response(int status, std::string_view body = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_ = -1;
};

class CannedHttpServer {
 public:
  explicit CannedHttpServer(Responder responder);
  ~CannedHttpServer();
  CannedHttpServer(const CannedHttpServer&) = delete;
  CannedHttpServer& operator=(const CannedHttpServer&) = delete;

  // "127.0.0.1:<port>", the form volume server urls take.
  [[nodiscard]] std::string address() const;
  [[nodiscard]] std::vector<RecordedRequest> requests() const;
  [[nodiscard]] int connections_accepted() const;

 private:
  struct Connection {
    UniqueFd fd;
    std::string pending;  // bytes of a request head not yet complete
    bool hung = false;    // an unanswered request is pending: ignore the rest
  };

  void serve();
  bool serve_readable(Connection& connection);  // false when the connection is done

  Responder responder_;
  UniqueFd listener_;
  UniqueFd wake_read_;
  UniqueFd wake_write_;
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  int connections_accepted_ = 0;
  std::thread thread_;
};

// "127.0.0.1:<port>" where nothing listens (connection refused).
std::string refused_address();

}  // namespace seaweed::testing
