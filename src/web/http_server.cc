#include "web/http_server.h"

#include <civetweb.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "common/metrics.h"

namespace seaweed::web {
namespace {

// Percent-decoding of one name or value ('+' is a space); nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
        return std::nullopt;
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::once_flag init_once;

Response text_response(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body) + "\n", {}, {}, 0};
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(const char* qs) {
  std::map<std::string, std::string> out;
  if (!qs) return out;
  std::string_view rest(qs);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    auto value = url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    // A NUL would cut the value short in any C string use further on: refuse it outright.
    if (!key || !value || key->find('\0') != std::string::npos || value->find('\0') != std::string::npos)
      return std::nullopt;
    out[*key] = std::move(*value);
  }
  return out;
}

HttpServer::~HttpServer() {
  if (ctx_) mg_stop(ctx_);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& address, int port,
                                                      const HttpServerOptions& options) {
  if (port <= 0 || port > 65535) return make_error(EINVAL, "invalid HTTP port " + std::to_string(port));
  std::call_once(init_once, [] { mg_init_library(0); });
  std::unique_ptr<HttpServer> server(new HttpServer());  // private constructor
  // An IPv6 literal is bracketed in civetweb's listening_ports ("[::1]:8080").
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  const std::string listen = (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  const std::string threads = std::to_string(std::max(2, options.threads));
  const std::string request_timeout = std::to_string(options.request_timeout_ms);
  const std::string keep_alive_timeout = std::to_string(options.keep_alive_timeout_ms);
  const char* mg_options[] = {"listening_ports",
                              listen.c_str(),
                              "num_threads",
                              threads.c_str(),
                              "enable_keep_alive",
                              "yes",
                              "request_timeout_ms",
                              request_timeout.c_str(),
                              "keep_alive_timeout_ms",
                              keep_alive_timeout.c_str(),
                              "max_request_size",
                              "16384",
                              nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const ::mg_connection*, const char*) -> int { return 1; };  // quiet: we log ourselves
  server->ctx_ = mg_start(&callbacks, nullptr, mg_options);
  if (!server->ctx_) return make_error(EADDRINUSE, "cannot listen on " + listen + " (port in use or bad address)");
  mg_set_request_handler(server->ctx_, "/", &HttpServer::dispatch, server.get());
  return server;
}

void HttpServer::route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }

int HttpServer::dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  Request req{info->request_method ? info->request_method : "", info->local_uri ? info->local_uri : "", {}, {}};
  for (int i = 0; i < info->num_headers; ++i) {
    std::string name = info->http_headers[i].name ? info->http_headers[i].name : "";
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    req.headers[name] = info->http_headers[i].value ? info->http_headers[i].value : "";
  }
  auto query = parse_query(info->query_string);
  Response resp;
  auto it = self->routes_.find(req.path);
  if (!query) {
    resp = text_response(400, "bad query string (invalid percent-encoding, or a NUL byte)");
  } else if (it == self->routes_.end()) {
    resp = text_response(404, "not found: " + req.path);
  } else {
    req.query = std::move(*query);
    try {
      resp = it->second(req);
    } catch (const std::exception& e) {
      resp = text_response(500, std::string("internal error: ") + e.what());
    } catch (...) {
      resp = text_response(500, "internal error");
    }
  }
  const uint64_t length = resp.stream ? resp.content_length : resp.body.size();
  std::ostringstream head;
  head << "HTTP/1.1 " << resp.status << " " << reason(resp.status) << "\r\nContent-Type: " << resp.content_type
       << "\r\nContent-Length: " << length << "\r\n";
  for (const auto& [k, v] : resp.headers) head << k << ": " << v << "\r\n";
  head << "\r\n";
  const std::string h = head.str();
  mg_write(conn, h.data(), h.size());
  if (req.method != "HEAD") {
    if (resp.stream) {
      try {
        resp.stream([conn](std::string_view piece) {
          return piece.empty() || mg_write(conn, piece.data(), piece.size()) == static_cast<int>(piece.size());
        });
      } catch (...) {
        // Nothing more can be said to the client once the head is out; civetweb closes it.
      }
    } else if (!resp.body.empty()) {
      mg_write(conn, resp.body.data(), resp.body.size());
    }
  }
  return static_cast<int>(resp.status);
}

Result<std::unique_ptr<HttpServer>> start_metrics_server(const std::string& address, int port) {
  HttpServerOptions options;
  options.threads = 24;
  auto server = HttpServer::start(address, port, options);
  if (!server.ok()) return server.error().context("metrics server");
  (*server)->route("/metrics", [](const Request&) {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", Metrics::global().render(), {}, {}, 0};
  });
  return server;
}

}  // namespace seaweed::web
