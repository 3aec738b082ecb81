// The agent's UCX side: a listener on -ip:-port, one endpoint per mount connection, and a single
// progress thread that answers READ/STAT/PING active messages from the VolumeStore. Replies go
// out with ucp_am_send_nbx straight from the mapped .dat (rendezvous for large payloads).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/dat_mapping.h"
#include "agent/volume_store.h"
#include "common/result.h"
#include "transport/ucx/agent_protocol.h"
#include "transport/ucx/ucx_util.h"

namespace seaweed {
class Counter;
class Histogram;
}  // namespace seaweed

namespace seaweed::agent {

struct UcxServerOptions {
  std::string ip = "127.0.0.1";
  uint16_t port = 0;                       // 0: pick a free port (see port())
  size_t max_in_flight_per_endpoint = 64;  // beyond this a request gets BUSY
  size_t max_connections = 1024;
  // Spin this long after the last event before sleeping. 0 by default: readahead traffic does not
  // pay for it (1 GiB via the agent: same 1.9-2.0 GB/s, agent CPU 0.26 -> 0.21 s; with cma
  // 0.15 -> 0.05 s); requests a client waits on get busy_poll_waited below.
  std::chrono::microseconds busy_poll{0};
  // ... and this long after a request a client is blocked on (kRequestWaited): its next request
  // usually follows within microseconds, and a wakeup costs 10-50 us here.
  std::chrono::microseconds busy_poll_waited{1000};
  // UCX_NET_DEVICES for this context (the interface of `ip`, net_devices.h); nullopt: UCX's
  // default, every device. UCX_NET_DEVICES in the environment wins.
  std::optional<std::string> net_devices;
  // Peer error handling lets a dead client be detected; UCX 1.13 then needs
  // MM_ERROR_HANDLING=y to keep shared memory (set by default, src/agent/README.md "UCX settings").
  bool peer_error_handling = true;
  std::string info_json = "{}";  // PING payload
  // jwt.signing.read.key of the volume server: when set, READ and STAT need a valid read token
  // for their fid (docs/seaweedfs/read-jwt.md); refusals answer AUTH and are counted.
  std::string jwt_read_key;
  // Requests taken from UCX per progress round before they are answered: bounds the queue
  // however fast clients send.
  size_t max_requests_per_round = 256;
  // A connection that alone supplies this many requests of one round floods (the mount keeps
  // one request per channel in flight) and is disconnected; its queued requests are dropped.
  size_t max_queued_per_connection = 256;
};

class UcxServer {
 public:
  // Creates the UCP context and worker and starts listening. A restarted agent can only listen
  // on its port while old connections sit in TIME_WAIT with UCX_TCP_CM_REUSEADDR=y in the
  // environment (ucp_config_modify does not reach connection-manager settings in UCX 1.13);
  // call allow_listener_port_reuse() first, while the process is still single-threaded.
  static void allow_listener_port_reuse();
  static Result<std::unique_ptr<UcxServer>> create(const UcxServerOptions& options);
  ~UcxServer();
  UcxServer(const UcxServer&) = delete;
  UcxServer& operator=(const UcxServer&) = delete;

  // Registers .dat mappings with this server's UCP context (hand to the VolumeStore).
  MappingRegistrar registrar();

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] std::string listen_address() const { return listen_address_; }

  // Runs the progress loop on the calling thread until stop(). The store must outlive it.
  void run(VolumeStore& store);
  // Thread-safe; run() returns soon after.
  void stop();

  struct Key {  // passkey: construct through create()
   private:
    Key() = default;
    friend class UcxServer;
  };
  UcxServer(Key, const UcxServerOptions& options);

  void set_info_json(std::string info) { options_.info_json = std::move(info); }
  [[nodiscard]] size_t connection_count() const { return connection_count_.load(); }

 private:
  struct Connection;
  struct SendSlot;
  struct PendingRequest {
    ucp_ep_h ep;
    std::vector<uint8_t> bytes;
    size_t payload_length;
    std::chrono::steady_clock::time_point arrived;
  };

  Status listen();

  // UCX callbacks (C ABI; never throw).
  static void on_connection_request(ucp_conn_request_h request, void* arg);
  static void on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status);
  static ucs_status_t on_request_am(void* arg, const void* header, size_t header_length, void* data, size_t length,
                                    const ucp_am_recv_param_t* param);
  static void on_send_complete(void* request, ucs_status_t status, void* user_data);

  // Loop steps; return the amount of work done.
  size_t accept_connections();
  size_t handle_requests(VolumeStore& store);
  size_t reap();
  void handle_one(VolumeStore& store, Connection& conn, const PendingRequest& req);
  void send_reply(Connection& conn, std::unique_ptr<SendSlot> slot, const uint8_t* payload, size_t length);
  void send_error(Connection& conn, uint64_t request_id, transport::ucx::ReplyStatus status, const std::string& text,
                  bool counted = false);
  // The store's error for a READ/STAT as a reply: a cookie mismatch answers like a missing
  // needle (same status, same text) and is only counted apart; corruption is logged.
  void send_lookup_error(Connection& conn, const transport::ucx::Request& r, const Error& error);
  // Checks the request's read token; false (and an AUTH reply sent) when refused.
  bool authorized(Connection& conn, const transport::ucx::Request& r);
  void close_connection(Connection& conn, const char* why);
  void wait_for_events();

  UcxServerOptions options_;
  // Shared with every .dat registration, which must be released before the context.
  std::shared_ptr<std::remove_pointer_t<ucp_context_h>> context_;
  transport::ucx::WorkerPtr worker_;
  transport::ucx::ListenerPtr listener_;
  int efd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  std::string listen_address_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> connection_count_{0};

  // Filled by callbacks during ucp_worker_progress, drained by the loop (same thread).
  std::vector<ucp_conn_request_h> new_connections_;
  std::vector<PendingRequest> requests_;
  std::vector<SendSlot*> completed_;
  std::unordered_map<ucp_ep_h, std::unique_ptr<Connection>> connections_;
  std::unordered_map<SendSlot*, std::unique_ptr<SendSlot>> in_flight_slots_;
  uint64_t next_connection_id_ = 1;
  std::chrono::steady_clock::time_point last_waited_request_{};

  // Metrics (process-wide registry).
  Counter* served_bytes_ = nullptr;
  Counter* bad_requests_ = nullptr;
  Counter* dropped_requests_ = nullptr;
  Counter* cookie_mismatches_ = nullptr;  // answered NOT_FOUND, counted as result="cookie_mismatch"
  std::vector<Counter*> requests_by_status_;
  std::vector<Counter*> auth_failures_;  // by transport::http::JwtRefusal
  std::chrono::steady_clock::time_point last_corrupt_log_{};
  uint64_t corrupt_unlogged_ = 0;
  // seaweed_agent_request_duration_seconds{op,result}: arrival to reply posted, created on first
  // use. current_*: the request handle_one is answering (one server thread).
  Histogram& request_seconds(uint16_t op, transport::ucx::ReplyStatus status);
  std::array<std::array<Histogram*, transport::ucx::kMaxReplyStatus + 1>, 4> request_seconds_{};  // [op][status]
  uint16_t current_op_ = 0;  // 0: not decoded; else transport::ucx::Op
  std::chrono::steady_clock::time_point current_arrival_{};
};

}  // namespace seaweed::agent
