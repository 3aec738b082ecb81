// Small RAII layer over UCP objects shared by the agent's server and the client.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <ucp/api/ucp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace seaweed::transport::ucx {

// errno for a UCS status: timeouts ETIMEDOUT, unreachable/refused ECONNREFUSED, peer failures
// ECONNRESET, no memory ENOMEM, everything else EIO.
int errno_from_ucs(ucs_status_t status);
Error ucx_error(ucs_status_t status, const std::string& what);

struct ContextDeleter {
  void operator()(ucp_context_h c) const { ucp_cleanup(c); }
};
struct WorkerDeleter {
  void operator()(ucp_worker_h w) const { ucp_worker_destroy(w); }
};
struct ListenerDeleter {
  void operator()(ucp_listener_h l) const { ucp_listener_destroy(l); }
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<ucp_context_h>, ContextDeleter>;
using WorkerPtr = std::unique_ptr<std::remove_pointer_t<ucp_worker_h>, WorkerDeleter>;
using ListenerPtr = std::unique_ptr<std::remove_pointer_t<ucp_listener_h>, ListenerDeleter>;

struct ContextOptions {
  uint64_t features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  bool workers_shared_across_threads = true;
  // UCX configuration overrides applied to this context only (name without the UCX_ prefix).
  // A variable set in the environment wins over these defaults.
  std::vector<std::pair<std::string, std::string>> defaults;
};

// The defaults this project runs with on one host (src/agent/README.md "UCX settings"): keep shared-memory transports
// in listener mode with peer error handling (MM_ERROR_HANDLING=y).
std::vector<std::pair<std::string, std::string>> recommended_ucx_defaults();

Result<ContextPtr> create_context(const ContextOptions& options);
Result<WorkerPtr> create_worker(ucp_context_h context, ucs_thread_mode_t mode);

// Resolves "host" (name or literal) and port into a sockaddr for ucp (IPv4 or IPv6).
Result<sockaddr_storage> resolve_address(const std::string& host, uint16_t port, bool passive);
// Splits "host:port" ("[v6]:port" accepted).
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& address);
std::string sockaddr_to_string(const sockaddr_storage& addr);

// Closes an endpoint and progresses the worker until the close completes (bounded by
// timeout_ms). force=true drops pending operations (they complete with an error).
void close_endpoint(ucp_worker_h worker, ucp_ep_h ep, bool force, int timeout_ms = 1000);

}  // namespace seaweed::transport::ucx
