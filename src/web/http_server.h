// A small embedded HTTP server (civetweb) for the mount's and the agent's /metrics and the
// agent's sidecar API. Handlers are plain functions from a request to a response; they run on
// civetweb's worker threads and must not throw (exceptions become a 500).
//
// Idle clients: civetweb gives each connection a worker thread until its request is read. The
// server runs more workers than a handful of idle connections can hold, and a connection that
// sends no complete request within request_timeout_ms is dropped, so /health answers at once
// while 16 idle connections are open (integration/agent/test_agent_security.py).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct mg_context;
struct mg_connection;

namespace seaweed::web {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;    // decoded; a value never contains NUL (refused: 400)
  std::map<std::string, std::string> headers;  // names lowercased
};

// Writes one piece of a streamed body; false once the client is gone.
using BodyWriter = std::function<bool(std::string_view piece)>;

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::map<std::string, std::string> headers;
  // A body produced while it is sent (large needles, inflated gzip): called once with a writer
  // after the head, which announces content_length. `body` is ignored when this is set.
  std::function<void(const BodyWriter& write)> stream;
  uint64_t content_length = 0;  // of the streamed body
};

using Handler = std::function<Response(const Request&)>;

struct HttpServerOptions {
  int threads = 32;  // workers; each idle connection holds one until request_timeout_ms
  int request_timeout_ms = 2000;
  int keep_alive_timeout_ms = 1000;
};

class HttpServer {
 public:
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on address:port (port 0 is refused: callers pick a port).
  static Result<std::unique_ptr<HttpServer>> start(const std::string& address, int port,
                                                   const HttpServerOptions& options = {});

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

// Decodes a query string ("a=1&b=%41"); nullopt when a name or value decodes to a NUL byte or
// is not valid percent-encoding. Exposed for tests.
std::optional<std::map<std::string, std::string>> parse_query(const char* query_string);

}  // namespace seaweed::web
