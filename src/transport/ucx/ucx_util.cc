#include "transport/ucx/ucx_util.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace seaweed::transport::ucx {

int errno_from_ucs(ucs_status_t status) {
  switch (status) {
    case UCS_OK:
      return 0;
    case UCS_ERR_TIMED_OUT:
      return ETIMEDOUT;
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_NOT_CONNECTED:
    case UCS_ERR_REJECTED:
      return ECONNREFUSED;
    case UCS_ERR_ENDPOINT_TIMEOUT:  // keepalive/peer failure: the connection is gone
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_CANCELED:
      return ECONNRESET;
    case UCS_ERR_NO_MEMORY:
      return ENOMEM;
    case UCS_ERR_BUSY:
      return EBUSY;
    default:
      return EIO;
  }
}

Error ucx_error(ucs_status_t status, const std::string& what) {
  return make_error(errno_from_ucs(status), what + ": " + ucs_status_string(status));
}

std::vector<std::pair<std::string, std::string>> recommended_ucx_defaults() {
  // Only meaningful when a shared-memory transport may be used; UCX warns about the unused
  // setting otherwise (e.g. UCX_TLS=tcp).
  if (const char* tls = std::getenv("UCX_TLS")) {
    const std::string t = tls;
    const bool shm = t.find("all") != std::string::npos || t.find("shm") != std::string::npos ||
                     t.find("sysv") != std::string::npos || t.find("posix") != std::string::npos ||
                     t.find("mm") != std::string::npos || t.rfind("^", 0) == 0;
    if (!shm) return {};
  }
  return {{"MM_ERROR_HANDLING", "y"}};
}

Result<ContextPtr> create_context(const ContextOptions& options) {
  ucp_config_t* config = nullptr;
  if (auto s = ucp_config_read(nullptr, nullptr, &config); s != UCS_OK) return ucx_error(s, "ucp_config_read");
  for (const auto& [name, value] : options.defaults) {
    if (std::getenv(("UCX_" + name).c_str())) continue;  // the operator's setting wins
    // Unknown names are ignored: an older/newer UCX may not have the knob.
    (void)ucp_config_modify(config, name.c_str(), value.c_str());
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = options.features;
  params.mt_workers_shared = options.workers_shared_across_threads ? 1 : 0;
  ucp_context_h ctx = nullptr;
  const ucs_status_t s = ucp_init(&params, config, &ctx);
  ucp_config_release(config);
  if (s != UCS_OK) return ucx_error(s, "ucp_init");
  return ContextPtr(ctx);
}

Result<WorkerPtr> create_worker(ucp_context_h context, ucs_thread_mode_t mode) {
  ucp_worker_params_t params{};
  params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  params.thread_mode = mode;
  ucp_worker_h worker = nullptr;
  if (auto s = ucp_worker_create(context, &params, &worker); s != UCS_OK) return ucx_error(s, "ucp_worker_create");
  return WorkerPtr(worker);
}

Result<sockaddr_storage> resolve_address(const std::string& host, uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return make_error(EHOSTUNREACH, "cannot resolve " + host + ": " + gai_strerror(rc));
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return out;
}

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address[0] == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return make_error(EINVAL, "bad address \"" + address + "\" (want [v6]:port)");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return make_error(EINVAL, "bad address \"" + address + "\" (want host:port)");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
    return make_error(EINVAL, "bad port in \"" + address + "\"");
  return std::make_pair(host, static_cast<uint16_t>(value));
}

std::string sockaddr_to_string(const sockaddr_storage& addr) {
  char ip[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    port = ntohs(in->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  return "?";
}

void close_endpoint(ucp_worker_h worker, ucp_ep_h ep, bool force, int timeout_ms) {
  if (!ep) return;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  ucs_status_ptr_t req = ucp_ep_close_nbx(ep, &param);
  if (req == nullptr || UCS_PTR_IS_ERR(req)) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (ucp_request_check_status(req) == UCS_INPROGRESS && std::chrono::steady_clock::now() < deadline)
    ucp_worker_progress(worker);
  ucp_request_free(req);
}

}  // namespace seaweed::transport::ucx
