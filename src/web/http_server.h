// A small embedded HTTP server (civetweb) for the mount's and the agent's /metrics and the
// agent's sidecar API. Handlers are plain functions from a request to a response; they run on
// civetweb's worker threads and must not throw (exceptions become a 500).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

struct mg_context;
struct mg_connection;

namespace seaweed::web {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::map<std::string, std::string> headers;
};

using Handler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on address:port (port 0 is refused: callers pick a port) with a few worker threads.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& address, int port, int threads = 4);

  // Exact-path routes; register before traffic arrives.
  void route(const std::string& path, Handler handler);

 private:
  HttpServer() = default;
  static int dispatch(::mg_connection* conn, void* self);

  mg_context* ctx_ = nullptr;
  std::map<std::string, Handler> routes_;
};

// Serves Metrics::global() as Prometheus text on http://address:port/metrics.
Result<std::unique_ptr<HttpServer>> start_metrics_server(const std::string& address, int port);

// Decodes a query string ("a=1&b=%41"). Exposed for tests (tests/fuzz/query_fuzz.cc).
std::optional<std::map<std::string, std::string>> parse_query(const char* query_string);

}  // namespace seaweed::web
