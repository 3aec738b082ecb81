#include "web/http_server.h"

#include <civetweb.h>

#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "common/metrics.h"

namespace seaweed::web {
namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::once_flag init_once;

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(const char* qs) {
  std::map<std::string, std::string> out;
  if (!qs) return out;
  std::stringstream ss(qs);
  std::string pair;
  while (std::getline(ss, pair, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key = pair.substr(0, eq), value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    std::vector<char> buf(std::max(key.size(), value.size()) + 1);
    mg_url_decode(key.c_str(), static_cast<int>(key.size()), buf.data(), static_cast<int>(buf.size()), 1);
    std::string k = buf.data();
    mg_url_decode(value.c_str(), static_cast<int>(value.size()), buf.data(), static_cast<int>(buf.size()), 1);
    out[k] = buf.data();
  }
  return out;
}

HttpServer::~HttpServer() {
  if (ctx_) mg_stop(ctx_);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& address, int port, int threads) {
  if (port <= 0 || port > 65535) return make_error(EINVAL, "invalid HTTP port " + std::to_string(port));
  std::call_once(init_once, [] { mg_init_library(0); });
  std::unique_ptr<HttpServer> server(new HttpServer());  // private constructor
  const std::string listen = address + ":" + std::to_string(port);
  const std::string nthreads = std::to_string(threads);
  const char* options[] = {"listening_ports",   listen.c_str(), "num_threads", nthreads.c_str(),
                           "enable_keep_alive", "yes",          nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const ::mg_connection*, const char*) -> int { return 1; };  // quiet: we log ourselves
  server->ctx_ = mg_start(&callbacks, nullptr, options);
  if (!server->ctx_) return make_error(EADDRINUSE, "cannot listen on " + listen + " (port in use or bad address)");
  mg_set_request_handler(server->ctx_, "/", &HttpServer::dispatch, server.get());
  return server;
}

void HttpServer::route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }

int HttpServer::dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  Request req{info->request_method ? info->request_method : "", info->local_uri ? info->local_uri : "",
              parse_query(info->query_string).value_or(std::map<std::string, std::string>{})};
  Response resp;
  auto it = self->routes_.find(req.path);
  if (it == self->routes_.end()) {
    resp.status = 404;
    resp.body = "not found: " + req.path + "\n";
  } else {
    try {
      resp = it->second(req);
    } catch (const std::exception& e) {
      resp = Response{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n", {}};
    } catch (...) {
      resp = Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
  }
  std::ostringstream head;
  head << "HTTP/1.1 " << resp.status << " " << reason(resp.status) << "\r\nContent-Type: " << resp.content_type
       << "\r\nContent-Length: " << resp.body.size() << "\r\n";
  for (const auto& [k, v] : resp.headers) head << k << ": " << v << "\r\n";
  head << "\r\n";
  const std::string h = head.str();
  mg_write(conn, h.data(), h.size());
  if (req.method != "HEAD" && !resp.body.empty()) mg_write(conn, resp.body.data(), resp.body.size());
  return static_cast<int>(resp.status);
}

Result<std::unique_ptr<HttpServer>> start_metrics_server(const std::string& address, int port) {
  auto server = HttpServer::start(address, port, 2);
  if (!server.ok()) return server.error().context("metrics server");
  (*server)->route("/metrics", [](const Request&) {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", Metrics::global().render(), {}};
  });
  return server;
}

}  // namespace seaweed::web
