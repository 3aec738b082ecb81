#include "agent/ucx_server.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>

#include "common/file_id.h"
#include "common/metric_names.h"
#include "common/metrics.h"
#include "transport/http/jwt.h"
#include "volume/needle.h"

namespace seaweed::agent {

using transport::ucx::Op;
using transport::ucx::Reply;
using transport::ucx::ReplyStatus;
namespace proto = transport::ucx;

struct UcxServer::Connection {
  uint64_t id = 0;
  ucp_ep_h ep = nullptr;
  std::string peer;
  size_t queued = 0;          // requests taken from UCX, not answered yet
  size_t in_flight = 0;       // replies not completed yet
  size_t data_in_flight = 0;  // of which READ/STAT answers (the BUSY limit applies to these)
  bool failed = false;        // error callback fired or protocol abuse: close it
  // The last read token this connection presented and had accepted: a mount reads a chunk in
  // runs with one token, and the same bytes for the same fid need no second MAC until they expire.
  std::string accepted_token, accepted_fid;
  double accepted_until = 0;
  ucs_status_ptr_t close_request = nullptr;
  bool close_started = false;
  UcxServer* server = nullptr;
};

// One reply in flight. The header (and the payload's mapping) must stay valid until UCX reports
// completion: UCX 1.13 has no flag to copy the AM header.
struct UcxServer::SendSlot {
  std::array<uint8_t, proto::kReplyHeaderSize> header{};
  NeedleRead needle;  // keeps the payload's .dat mapping alive
  std::string text;   // payload for PING replies and error texts
  Connection* conn = nullptr;
  ucs_status_t status = UCS_OK;
  size_t payload_bytes = 0;
  bool data_reply = false;  // counts toward the per-endpoint BUSY limit
  bool counted = false;     // the request's result was counted already (cookie mismatches)
};

namespace {

// A registration of a .dat mapping with the UCP context; keeps the context alive.
struct MemRegistration {
  std::shared_ptr<std::remove_pointer_t<ucp_context_h>> context;
  ucp_mem_h memh = nullptr;
  ~MemRegistration() {
    if (memh) ucp_mem_unmap(context.get(), memh);
  }
};

constexpr size_t kMaxControlRepliesInFlight = 4096;

const char* result_label(ReplyStatus s) {
  switch (s) {
    case ReplyStatus::kOk:
      return "ok";
    case ReplyStatus::kNotFound:
      return "not_found";
    case ReplyStatus::kVolumeNotHere:
      return "volume_not_here";
    case ReplyStatus::kBadRequest:
      return "bad_request";
    case ReplyStatus::kBusy:
      return "busy";
    case ReplyStatus::kAuth:
      return "auth";
    case ReplyStatus::kInternal:
      return "internal";
    case ReplyStatus::kRetry:
      return "retry";
    case ReplyStatus::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

constexpr transport::http::JwtRefusal kAllRefusals[] = {
    transport::http::JwtRefusal::kMissing,   transport::http::JwtRefusal::kMalformed,
    transport::http::JwtRefusal::kAlgorithm, transport::http::JwtRefusal::kSignature,
    transport::http::JwtRefusal::kExpired,   transport::http::JwtRefusal::kNotYetValid,
    transport::http::JwtRefusal::kWrongFid};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void UcxServer::allow_listener_port_reuse() { ::setenv("UCX_TCP_CM_REUSEADDR", "y", /*overwrite=*/0); }

UcxServer::UcxServer(Key, const UcxServerOptions& options) : options_(options) {}

Result<std::unique_ptr<UcxServer>> UcxServer::create(const UcxServerOptions& options) {
  auto s = std::make_unique<UcxServer>(Key{}, options);
  proto::ContextOptions copts;
  copts.features = UCP_FEATURE_AM | UCP_FEATURE_RMA | UCP_FEATURE_WAKEUP;
  copts.workers_shared_across_threads = true;  // ucp_mem_map is called from store threads
  copts.defaults = proto::recommended_ucx_defaults();
  if (options.net_devices) copts.defaults.emplace_back("NET_DEVICES", *options.net_devices);
  auto ctx = proto::create_context(copts);
  if (!ctx) return ctx.error();
  s->context_ = std::shared_ptr<std::remove_pointer_t<ucp_context_h>>(ctx->release(), proto::ContextDeleter{});
  auto worker = proto::create_worker(s->context_.get(), UCS_THREAD_MODE_SINGLE);
  if (!worker) return worker.error();
  s->worker_ = std::move(*worker);

  ucp_am_handler_param_t am{};
  am.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG |
                  UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
  am.id = proto::kRequestAmId;
  am.cb = &UcxServer::on_request_am;
  am.arg = s.get();
  am.flags = UCP_AM_FLAG_WHOLE_MSG;
  if (auto st = ucp_worker_set_am_recv_handler(s->worker_.get(), &am); st != UCS_OK)
    return proto::ucx_error(st, "ucp_worker_set_am_recv_handler");

  if (auto st = ucp_worker_get_efd(s->worker_.get(), &s->efd_); st != UCS_OK)
    return proto::ucx_error(st, "ucp_worker_get_efd");
  s->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (s->epoll_fd_ < 0) return make_error(errno, std::string("epoll_create1: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s->efd_;
  if (::epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->efd_, &ev) != 0)
    return make_error(errno, std::string("epoll_ctl: ") + std::strerror(errno));

  auto& metrics = Metrics::global();
  s->served_bytes_ = &metrics.counter("seaweed_agent_served_bytes_total", "Needle bytes sent to clients over UCX");
  s->bad_requests_ = &metrics.counter("seaweed_agent_bad_messages_total", "Malformed messages received");
  s->dropped_requests_ = &metrics.counter("seaweed_agent_dropped_requests_total",
                                          "UCX requests dropped unanswered (a flooding connection, closed)");
  const char* requests_help = "UCX requests answered, by result";
  for (uint16_t st = 0; st <= proto::kMaxReplyStatus; ++st) {
    const char* label = st == 2 ? "cookie_mismatch" : result_label(static_cast<ReplyStatus>(st));
    s->requests_by_status_.push_back(
        &metrics.counter("seaweed_agent_requests_total", requests_help, std::string("result=\"") + label + "\""));
  }
  s->cookie_mismatches_ = s->requests_by_status_[2];  // status 2 is never sent: its slot counts cookies
  for (auto refusal : kAllRefusals) {
    s->auth_failures_.push_back(
        &metrics.counter("seaweed_agent_auth_failures_total", "Read tokens refused, by path and reason",
                         std::string("path=\"ucx\",reason=\"") + transport::http::jwt_refusal_name(refusal) + "\""));
  }

  if (auto st = s->listen(); !st) return st.error();
  return s;
}

UcxServer::~UcxServer() {
  // Close every endpoint (dropping pending replies), release their slots, then the worker; the
  // context itself goes when the last .dat registration does.
  for (auto& [ep, conn] : connections_) {
    if (!conn->close_started) proto::close_endpoint(worker_.get(), ep, /*force=*/true, 200);
  }
  for (int i = 0; i < 100 && worker_ && ucp_worker_progress(worker_.get()); ++i) {
  }
  completed_.clear();
  in_flight_slots_.clear();
  connections_.clear();
  listener_.reset();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  worker_.reset();
}

Status UcxServer::listen() {
  auto addr = proto::resolve_address(options_.ip, options_.port, /*passive=*/true);
  if (!addr) return addr.error();
  ucp_listener_params_t params{};
  params.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
  params.sockaddr.addr = reinterpret_cast<const sockaddr*>(&*addr);
  params.sockaddr.addrlen = addr->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  params.conn_handler.cb = &UcxServer::on_connection_request;
  params.conn_handler.arg = this;
  ucp_listener_h listener = nullptr;
  if (auto st = ucp_listener_create(worker_.get(), &params, &listener); st != UCS_OK)
    return proto::ucx_error(st, "listen on " + options_.ip + ":" + std::to_string(options_.port));
  listener_.reset(listener);
  ucp_listener_attr_t attr{};
  attr.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR;
  if (auto st = ucp_listener_query(listener, &attr); st != UCS_OK) return proto::ucx_error(st, "ucp_listener_query");
  listen_address_ = proto::sockaddr_to_string(attr.sockaddr);
  port_ = attr.sockaddr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&attr.sockaddr)->sin6_port)
                                              : ntohs(reinterpret_cast<const sockaddr_in*>(&attr.sockaddr)->sin_port);
  return {};
}

MappingRegistrar UcxServer::registrar() {
  auto context = context_;
  return [context](const void* addr, size_t length) -> std::shared_ptr<void> {
    ucp_mem_map_params_t params{};
    params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
    params.address = const_cast<void*>(addr);
    params.length = length;
    ucp_mem_h memh = nullptr;
    if (auto st = ucp_mem_map(context.get(), &params, &memh); st != UCS_OK) {
      spdlog::warn("ucp_mem_map of a {}-byte .dat mapping failed ({}); replies will not be zero-copy", length,
                   ucs_status_string(st));
      return nullptr;
    }
    auto reg = std::make_shared<MemRegistration>();
    reg->context = context;
    reg->memh = memh;
    return reg;
  };
}

void UcxServer::stop() {
  stop_.store(true);
  if (worker_) ucp_worker_signal(worker_.get());
}

// ---- callbacks (run inside ucp_worker_progress on the loop thread) ----

void UcxServer::on_connection_request(ucp_conn_request_h request, void* arg) {
  auto* self = static_cast<UcxServer*>(arg);
  try {
    self->new_connections_.push_back(request);
  } catch (...) {
    ucp_listener_reject(self->listener_.get(), request);
  }
}

void UcxServer::on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* conn = static_cast<Connection*>(arg);
  if (!conn->failed) spdlog::debug("connection {} ({}): {}", conn->id, conn->peer, ucs_status_string(status));
  conn->failed = true;
}

ucs_status_t UcxServer::on_request_am(void* arg, const void* header, size_t header_length, void* data, size_t length,
                                      const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxServer*>(arg);
  try {
    if (!(param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) || param->reply_ep == nullptr) {
      self->bad_requests_->add();  // cannot answer a message without its endpoint
      return UCS_OK;
    }
    auto conn = self->connections_.find(param->reply_ep);
    if (conn != self->connections_.end()) {
      if (conn->second->failed) return UCS_OK;
      if (++conn->second->queued >= self->options_.max_queued_per_connection) {
        self->dropped_requests_->add();
        if (conn->second->queued == self->options_.max_queued_per_connection)
          spdlog::warn("connection {} ({}) floods: {} requests in one round; closing it", conn->second->id,
                       conn->second->peer, conn->second->queued);
        conn->second->failed = true;  // closed by the loop's reap(); its queued requests are skipped
        return UCS_OK;
      }
    }
    PendingRequest req{param->reply_ep, {}, length, std::chrono::steady_clock::now()};
    // Oversized headers are truncated to what is needed to reject them with their request id.
    const size_t keep = std::min(header_length, proto::kRequestHeaderSize + proto::kMaxTokenLength + 1);
    const auto* h = static_cast<const uint8_t*>(header);
    req.bytes.assign(h, h + (header_length ? keep : 0));
    self->requests_.push_back(std::move(req));
  } catch (...) {
    // Out of memory: drop the message; the client times out and falls back.
  }
  return UCS_OK;  // never keep payloads (requests carry none); a rendezvous payload is declined
}

void UcxServer::on_send_complete(void* request, ucs_status_t status, void* user_data) {
  auto* slot = static_cast<SendSlot*>(user_data);
  slot->status = status;
  try {
    slot->conn->server->completed_.push_back(slot);
  } catch (...) {
    slot->conn->failed = true;  // cannot record it; the slot is reclaimed when the connection goes
  }
  ucp_request_free(request);
}

// ---- loop ----

void UcxServer::run(VolumeStore& store) {
  spdlog::info("UCX agent listening on {}", listen_address_);
  auto last_activity = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    size_t work = 0;
    // Take at most one round of requests from UCX before answering them, however fast clients
    // send: the queue (and the memory behind it) stays bounded.
    while (requests_.size() < options_.max_requests_per_round && ucp_worker_progress(worker_.get()) != 0) ++work;
    work += accept_connections();
    work += handle_requests(store);
    work += reap();
    const auto now = std::chrono::steady_clock::now();
    if (work) {
      last_activity = now;
      continue;
    }
    // Short spin before sleeping: wakeups cost 10-50 us here. Not longer while replies are in
    // flight: the transports wake us for every fragment, and a 2 ms spin per reply took a whole
    // core from the mounts on 2-core hosts (1 MiB QD1 reads: 4.6 GB/s either way).
    if (now - last_activity < options_.busy_poll || now - last_waited_request_ < options_.busy_poll_waited) continue;
    wait_for_events();
    last_activity = std::chrono::steady_clock::now();
  }
  spdlog::info("UCX agent stopping: {} connections", connections_.size());
}

void UcxServer::wait_for_events() {
  const ucs_status_t st = ucp_worker_arm(worker_.get());
  if (st == UCS_ERR_BUSY) return;  // events pending: progress again
  if (st != UCS_OK) {
    spdlog::warn("ucp_worker_arm: {}", ucs_status_string(st));
    ::usleep(1000);
    return;
  }
  epoll_event ev{};
  // The timeout bounds how long a stop() could go unnoticed if a signal were lost.
  (void)::epoll_wait(epoll_fd_, &ev, 1, 1000);
}

size_t UcxServer::accept_connections() {
  if (new_connections_.empty()) return 0;
  auto pending = std::exchange(new_connections_, {});
  for (ucp_conn_request_h request : pending) {
    if (connections_.size() >= options_.max_connections) {
      spdlog::warn("rejecting a connection: {} connections open", connections_.size());
      ucp_listener_reject(listener_.get(), request);
      continue;
    }
    auto conn = std::make_unique<Connection>();
    conn->id = next_connection_id_++;
    conn->server = this;
    ucp_conn_request_attr_t attr{};
    attr.field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR;
    if (ucp_conn_request_query(request, &attr) == UCS_OK) conn->peer = proto::sockaddr_to_string(attr.client_address);
    ucp_ep_params_t params{};
    params.field_mask =
        UCP_EP_PARAM_FIELD_CONN_REQUEST | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.conn_request = request;
    params.err_mode = options_.peer_error_handling ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
    params.err_handler.cb = &UcxServer::on_endpoint_error;
    params.err_handler.arg = conn.get();
    ucp_ep_h ep = nullptr;
    if (auto st = ucp_ep_create(worker_.get(), &params, &ep); st != UCS_OK) {
      spdlog::warn("accepting connection from {} failed: {}", conn->peer, ucs_status_string(st));
      continue;
    }
    conn->ep = ep;
    spdlog::debug("connection {} from {}", conn->id, conn->peer);
    connections_.emplace(ep, std::move(conn));
    connection_count_.store(connections_.size());
  }
  return pending.size();
}

size_t UcxServer::handle_requests(VolumeStore& store) {
  if (requests_.empty()) return 0;
  auto batch = std::exchange(requests_, {});
  for (const auto& req : batch) {
    auto it = connections_.find(req.ep);
    if (it == connections_.end()) continue;
    if (it->second->queued > 0) --it->second->queued;
    if (it->second->failed) continue;
    current_op_ = 0;
    current_arrival_ = req.arrived;
    try {
      handle_one(store, *it->second, req);
    } catch (const std::exception& e) {
      spdlog::error("request on connection {} failed: {}", it->second->id, e.what());
      close_connection(*it->second, "internal error");
    }
  }
  return batch.size();
}

void UcxServer::handle_one(VolumeStore& store, Connection& conn, const PendingRequest& req) {
  auto decoded = proto::decode_request(req.bytes);
  if (!decoded) {
    bad_requests_->add();
    if (req.bytes.size() < 4 || std::memcmp(req.bytes.data(), &proto::kRequestMagic, 4) != 0) {
      close_connection(conn, "peer does not speak the agent protocol");
      return;
    }
    send_error(conn, proto::peek_request_id(req.bytes), ReplyStatus::kBadRequest, decoded.error().message);
    return;
  }
  if (decoded->flags & proto::kRequestWaited) last_waited_request_ = std::chrono::steady_clock::now();
  const proto::Request& r = *decoded;
  current_op_ = static_cast<uint16_t>(r.op);
  if (req.payload_length != 0) {
    send_error(conn, r.request_id, ReplyStatus::kBadRequest, "requests carry no payload");
    return;
  }
  // Small control replies (errors, BUSY) are not limited, but a client that never consumes
  // them cannot pile up memory here forever.
  if (conn.in_flight >= options_.max_in_flight_per_endpoint + kMaxControlRepliesInFlight) {
    close_connection(conn, "client does not consume replies");
    return;
  }
  if (r.op != Op::kPing && conn.data_in_flight >= options_.max_in_flight_per_endpoint) {
    send_error(conn, r.request_id, ReplyStatus::kBusy, "too many requests in flight");
    return;
  }

  auto slot = std::make_unique<SendSlot>();
  Reply reply;
  reply.request_id = r.request_id;
  if (r.op == Op::kPing) {
    slot->text = options_.info_json;
    reply.needle_data_size = slot->text.size();
    reply.data_length = slot->text.size();
    slot->header = proto::encode_reply(reply);
    const auto* payload = reinterpret_cast<const uint8_t*>(slot->text.data());
    const size_t n = slot->text.size();
    send_reply(conn, std::move(slot), payload, n);
    return;
  }

  if (!authorized(conn, r)) return;
  auto needle = store.lookup(r.volume_id, r.needle_id, r.cookie, (r.flags & proto::kRequestAllowDeleted) != 0);
  if (!needle) {
    send_lookup_error(conn, r, needle.error());
    return;
  }
  const auto& data = needle->data;
  reply.needle_flags = needle->flags;
  reply.crc32c = needle->crc;
  reply.needle_data_size = data.size();
  if (needle->deleted) reply.reply_flags |= proto::kReplyDeleted;
  if (needle->crc_verified) reply.reply_flags |= proto::kReplyCrcVerified;
  uint64_t offset = 0;
  uint64_t length = 0;
  if (r.op == Op::kRead) {
    // A gzip needle cannot be sliced here: the client gets it whole, inflates and slices.
    if ((needle->flags & volume::kFlagCompressed) || (r.flags & proto::kRequestWhole)) {
      length = data.size();
      reply.reply_flags |= proto::kReplyWhole;
    } else {
      offset = std::min<uint64_t>(r.offset, data.size());
      const uint64_t avail = data.size() - offset;
      length = r.length == 0 ? avail : std::min<uint64_t>(r.length, avail);
      if (offset == 0 && length == data.size()) reply.reply_flags |= proto::kReplyWhole;
    }
  }
  reply.data_offset = offset;
  reply.data_length = length;
  slot->header = proto::encode_reply(reply);
  slot->data_reply = true;
  const uint8_t* payload = data.data() + offset;
  slot->needle = std::move(*needle);
  send_reply(conn, std::move(slot), payload, length);
}

Histogram& UcxServer::request_seconds(uint16_t op, ReplyStatus status) {
  const size_t o = op < request_seconds_.size() ? op : 0;
  const size_t st = std::min<size_t>(static_cast<size_t>(status), proto::kMaxReplyStatus);
  Histogram*& h = request_seconds_[o][st];
  if (!h) {
    static constexpr const char* kOps[] = {"unknown", "read", "ping", "stat"};
    h = &Metrics::global().histogram(metric_names::kAgentRequestSeconds,
                                     "Time from a UCX request's arrival to its reply being posted, by op and result",
                                     render_labels({{"op", kOps[o]}, {"result", result_label(status)}}));
  }
  return *h;
}

bool UcxServer::authorized(Connection& conn, const proto::Request& r) {
  if (options_.jwt_read_key.empty()) return true;
  const std::string fid = FileId{r.volume_id, r.needle_id, r.cookie}.to_string();
  const int64_t now = unix_now();
  if (!r.token.empty() && r.token == conn.accepted_token && fid == conn.accepted_fid &&
      static_cast<double>(now) < conn.accepted_until)
    return true;
  const auto verdict = transport::http::verify_read_jwt(options_.jwt_read_key, r.token, fid, now);
  if (verdict.ok()) {
    conn.accepted_token.assign(r.token);
    conn.accepted_fid = fid;
    conn.accepted_until = verdict.expires.value_or(static_cast<double>(now) + 60);
    return true;
  }
  auth_failures_[static_cast<size_t>(*verdict.refusal)]->add();
  spdlog::debug("connection {} ({}): read of {} refused: {}", conn.id, conn.peer, fid, verdict.detail);
  send_error(conn, r.request_id, ReplyStatus::kAuth,
             std::string("read token refused (") + transport::http::jwt_refusal_name(*verdict.refusal) +
                 "): " + verdict.detail);
  return false;
}

void UcxServer::send_lookup_error(Connection& conn, const proto::Request& r, const Error& error) {
  const ReplyStatus status = proto::status_from_errno(error.code);
  if (status == ReplyStatus::kNotFound) {
    // Missing, deleted, expired and wrong-cookie needles look the same from outside: the same
    // status and the same text, so a client cannot tell which keys exist.
    spdlog::trace("connection {}: {}", conn.id, error.message);
    if (error.code == EACCES) cookie_mismatches_->add();
    send_error(conn, r.request_id, status,
               "needle " + FileId{r.volume_id, r.needle_id, r.cookie}.to_string() + " not found",
               /*counted=*/error.code == EACCES);
    return;
  }
  if (status == ReplyStatus::kCorrupt) {
    // One line per second at most: a client retrying a bad needle must not flood the log.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_corrupt_log_ >= std::chrono::seconds(1)) {
      spdlog::warn("volume {} needle {:x}: not served, corrupt on disk: {}{}", r.volume_id, r.needle_id, error.message,
                   corrupt_unlogged_ ? " (" + std::to_string(corrupt_unlogged_) + " more since the last line)" : "");
      last_corrupt_log_ = now;
      corrupt_unlogged_ = 0;
    } else {
      ++corrupt_unlogged_;
    }
  }
  send_error(conn, r.request_id, status, error.message);
}

void UcxServer::send_error(Connection& conn, uint64_t request_id, ReplyStatus status, const std::string& text,
                           bool counted) {
  auto slot = std::make_unique<SendSlot>();
  slot->counted = counted;
  slot->text = text.substr(0, proto::kMaxErrorText);
  Reply reply;
  reply.status = status;
  reply.request_id = request_id;
  reply.data_length = slot->text.size();
  slot->header = proto::encode_reply(reply);
  const auto* payload = reinterpret_cast<const uint8_t*>(slot->text.data());
  const size_t n = slot->text.size();
  send_reply(conn, std::move(slot), payload, n);
}

void UcxServer::send_reply(Connection& conn, std::unique_ptr<SendSlot> slot, const uint8_t* payload, size_t length) {
  const auto status = static_cast<ReplyStatus>(slot->header[6] | (slot->header[7] << 8));
  if (!slot->counted) requests_by_status_[static_cast<size_t>(status)]->add();
  request_seconds(current_op_, status).observe(std::chrono::steady_clock::now() - current_arrival_);
  slot->conn = &conn;
  slot->payload_bytes = status == ReplyStatus::kOk ? length : 0;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  param.cb.send = &UcxServer::on_send_complete;
  param.user_data = slot.get();
  param.flags = length >= proto::kRendezvousThreshold ? UCP_AM_SEND_FLAG_RNDV : 0;
  if (slot->needle.mapping) {
    if (auto* reg = static_cast<MemRegistration*>(slot->needle.mapping->registration())) {
      param.op_attr_mask |= UCP_OP_ATTR_FIELD_MEMH;
      param.memh = reg->memh;
    }
  }
  ucs_status_ptr_t st = ucp_am_send_nbx(conn.ep, proto::kReplyAmId, slot->header.data(), slot->header.size(),
                                        length ? payload : nullptr, length, &param);
  if (st == nullptr) {  // completed in place
    served_bytes_->add(slot->payload_bytes);
    return;
  }
  if (UCS_PTR_IS_ERR(st)) {
    spdlog::debug("reply on connection {} failed: {}", conn.id, ucs_status_string(UCS_PTR_STATUS(st)));
    conn.failed = true;
    return;
  }
  ++conn.in_flight;
  if (slot->data_reply) ++conn.data_in_flight;
  SendSlot* key = slot.get();
  in_flight_slots_.emplace(key, std::move(slot));
}

size_t UcxServer::reap() {
  size_t work = 0;
  if (!completed_.empty()) {
    auto done = std::exchange(completed_, {});
    for (SendSlot* slot : done) {
      auto it = in_flight_slots_.find(slot);
      if (it == in_flight_slots_.end()) continue;
      Connection* conn = slot->conn;
      --conn->in_flight;
      if (slot->data_reply) --conn->data_in_flight;
      if (slot->status == UCS_OK) {
        served_bytes_->add(slot->payload_bytes);
      } else {
        conn->failed = true;
      }
      in_flight_slots_.erase(it);  // drops the mapping reference
    }
    work += done.size();
  }
  // Close failed connections; free them once the close and all their replies have completed.
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& c = *it->second;
    if (c.failed && !c.close_started) {
      close_connection(c, "endpoint failed");
      ++work;
    }
    if (c.close_started) {
      const bool closed = c.close_request == nullptr || ucp_request_check_status(c.close_request) != UCS_INPROGRESS;
      if (closed && c.in_flight == 0) {
        if (c.close_request) ucp_request_free(c.close_request);
        spdlog::debug("connection {} ({}) closed", c.id, c.peer);
        it = connections_.erase(it);
        connection_count_.store(connections_.size());
        ++work;
        continue;
      }
    }
    ++it;
  }
  return work;
}

void UcxServer::close_connection(Connection& conn, const char* why) {
  if (conn.close_started) return;
  if (std::strcmp(why, "endpoint failed") != 0) spdlog::info("closing connection {} ({}): {}", conn.id, conn.peer, why);
  conn.failed = true;
  conn.close_started = true;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = UCP_EP_CLOSE_FLAG_FORCE;
  ucs_status_ptr_t req = ucp_ep_close_nbx(conn.ep, &param);
  conn.close_request = UCS_PTR_IS_PTR(req) ? req : nullptr;
}

}  // namespace seaweed::agent
