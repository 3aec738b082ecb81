#include "transport/ucx/agent_client.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

#include "codec/codec.h"
#include "transport/http/jwt.h"
#include "transport/ucx/net_devices.h"
#include "transport/ucx/ucx_util.h"
#include "volume/crc32c.h"

namespace seaweed::transport::ucx {
namespace {

using Clock = std::chrono::steady_clock;
using SharedContext = std::shared_ptr<std::remove_pointer_t<ucp_context_h>>;

// One UCP context per set of network devices for all readers (a context is expensive: it opens
// every transport); it goes away with the last reader. Each context uses only the device that
// routes to its agents (net_devices.h): its tcp transport then listens there and nowhere else,
// on loopback for an agent on this host.
Result<SharedContext> shared_context(const std::optional<std::string>& net_devices) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<std::remove_pointer_t<ucp_context_h>>> contexts;
  static pid_t owner = 0;
  const std::string key = net_devices.value_or("");
  std::lock_guard lock(mu);
  // A forked child never uses its parent's contexts (the client library runs in application
  // processes that fork, docs/PRELOAD.md): it makes its own.
  if (owner != getpid()) {
    contexts.clear();
    owner = getpid();
  }
  if (auto ctx = contexts[key].lock()) return ctx;
  ContextOptions options;
  options.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  options.defaults = recommended_ucx_defaults();
  if (net_devices) options.defaults.emplace_back("NET_DEVICES", *net_devices);
  auto ctx = create_context(options);
  if (!ctx) return ctx.error();
  SharedContext shared(ctx->release(), ContextDeleter{});
  contexts[key] = shared;
  return shared;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool is_connection_error(int code) { return code == ECONNRESET || code == ECONNREFUSED || code == EPIPE; }

}  // namespace

// What one call is waiting for; filled by the callbacks on the calling thread.
struct AgentVolumeReader::Call {
  bool want_whole = false;        // payload goes to `whole` (read_whole, stat, ping)
  uint64_t requested_offset = 0;  // range reads: where dst starts in the needle
  uint64_t max_whole = 0;         // whole payloads larger than this are refused unread (0: no cap)
  std::span<char> dst;
  std::string whole;

  uint64_t request_id = 0;
  bool send_done = false;
  bool reply_seen = false;
  bool data_done = false;
  Reply reply;
  std::string error_text;
  int fail_code = 0;
  std::string fail_message;
  bool connection_lost = false;  // the endpoint failed (as opposed to a bad reply or a timeout)

  void fail(int code, std::string message) {
    if (fail_code == 0) {
      fail_code = code;
      fail_message = std::move(message);
    }
  }
  [[nodiscard]] bool finished() const { return fail_code != 0 || (send_done && reply_seen && data_done); }
};

class AgentVolumeReader::Channel {
 public:
  static Result<std::unique_ptr<Channel>> connect(
      const std::string& address, const AgentClientOptions& options,
      const std::function<std::optional<std::string>(const sockaddr_storage&)>& devices_for) {
    auto hp = split_host_port(address);
    if (!hp) return hp.error();
    auto sa = resolve_address(hp->first, hp->second, false);
    if (!sa) return sa.error();
    auto ctx = shared_context(devices_for(*sa));
    if (!ctx) return ctx.error();
    auto ch = std::make_unique<Channel>();
    ch->context_ = *ctx;
    auto worker = create_worker(ch->context_.get(), UCS_THREAD_MODE_SERIALIZED);
    if (!worker) return worker.error();
    ch->worker_ = std::move(*worker);

    ucp_am_handler_param_t am{};
    am.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG |
                    UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
    am.id = kReplyAmId;
    am.cb = &Channel::on_reply;
    am.arg = ch.get();
    am.flags = UCP_AM_FLAG_WHOLE_MSG;
    if (auto st = ucp_worker_set_am_recv_handler(ch->worker_.get(), &am); st != UCS_OK)
      return ucx_error(st, "ucp_worker_set_am_recv_handler");
    if (auto st = ucp_worker_get_efd(ch->worker_.get(), &ch->efd_); st != UCS_OK)
      return ucx_error(st, "ucp_worker_get_efd");

    ucp_ep_params_t params{};
    params.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                        UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
    params.sockaddr.addr = reinterpret_cast<const sockaddr*>(&*sa);
    params.sockaddr.addrlen = sa->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    params.err_mode = options.peer_error_handling ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
    params.err_handler.cb = &Channel::on_ep_error;
    params.err_handler.arg = ch.get();
    if (auto st = ucp_ep_create(ch->worker_.get(), &params, &ch->ep_); st != UCS_OK)
      return ucx_error(st, "connect to agent " + address);
    return ch;
  }

  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    // Force-close drops anything pending; destroying the worker guarantees nothing more is
    // written into a caller's buffer.
    if (ep_) close_endpoint(worker_.get(), ep_, /*force=*/true, 100);
    worker_.reset();
  }

  [[nodiscard]] bool broken() const { return ep_failed_ != UCS_OK; }
  std::string describe() const {
    char* buf = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    if (!f) return {};
    ucp_ep_print_info(ep_, f);
    std::fclose(f);
    std::string out(buf, len);
    std::free(buf);
    return out;
  }
  [[nodiscard]] bool used() const { return next_id_ > 0; }

  // Sends `request` (request_id assigned here) and progresses until the call finishes, fails
  // or the deadline passes.
  void run(Request request, Call& call, Clock::time_point deadline, int busy_poll_us) {
    request.request_id = ++next_id_;
    call.request_id = request.request_id;
    call_ = &call;
    const size_t size = request_wire_size(request);
    encode_request(request, std::span<uint8_t>(send_buf_.data(), size));
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
    param.cb.send = &Channel::on_send_done;
    param.user_data = &call;
    param.flags = UCP_AM_SEND_FLAG_REPLY;  // the agent answers on the endpoint the request came from
    ucs_status_ptr_t st = ucp_am_send_nbx(ep_, kRequestAmId, send_buf_.data(), size, nullptr, 0, &param);
    if (st == nullptr) {
      call.send_done = true;
    } else if (UCS_PTR_IS_ERR(st)) {
      call.fail(errno_from_ucs(UCS_PTR_STATUS(st)), std::string("send: ") + ucs_status_string(UCS_PTR_STATUS(st)));
    }
    wait(call, deadline, busy_poll_us);
    call_ = nullptr;
  }

 private:
  void wait(Call& call, Clock::time_point deadline, int busy_poll_us) {
    auto last_event = Clock::now();
    while (!call.finished()) {
      if (broken()) {
        call.connection_lost = true;
        call.fail(errno_from_ucs(ep_failed_), std::string("connection: ") + ucs_status_string(ep_failed_));
        break;
      }
      const bool progressed = ucp_worker_progress(worker_.get()) != 0;
      const auto now = Clock::now();
      // The deadline holds even while the worker keeps reporting progress (events of other
      // endpoints, or a transport retrying a dead peer): a call never outlives -rdma.timeoutMs.
      if (progressed && now < deadline) {
        last_event = now;
        continue;
      }
      if (now >= deadline) {
        call.fail(ETIMEDOUT, "no reply in time");
        break;
      }
      // Spin a little before sleeping (wakeups cost 10-50 us here). Spinning longer through the
      // payload phase did not pay: 1 MiB reads were as fast without it (4.7-4.9 GB/s), and with
      // several calls in flight the spinners took the CPUs the transfers needed.
      if (now - last_event < std::chrono::microseconds(busy_poll_us)) continue;
      const ucs_status_t arm = ucp_worker_arm(worker_.get());
      if (arm == UCS_ERR_BUSY) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      if (arm == UCS_OK) {
        pollfd pfd{efd_, POLLIN, 0};
        (void)::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 100)));
      }
      last_event = Clock::now();
    }
  }

  static void on_ep_error(void* arg, ucp_ep_h, ucs_status_t status) {
    static_cast<Channel*>(arg)->ep_failed_ = status == UCS_OK ? UCS_ERR_CONNECTION_RESET : status;
  }

  static void on_send_done(void* request, ucs_status_t status, void* user_data) {
    auto* call = static_cast<Call*>(user_data);
    if (status == UCS_OK)
      call->send_done = true;
    else
      call->fail(errno_from_ucs(status), std::string("send: ") + ucs_status_string(status));
    ucp_request_free(request);
  }

  static void on_data_received(void* request, ucs_status_t status, size_t, void* user_data) {
    auto* call = static_cast<Call*>(user_data);
    if (status == UCS_OK)
      call->data_done = true;
    else
      call->fail(errno_from_ucs(status), std::string("receive: ") + ucs_status_string(status));
    ucp_request_free(request);
  }

  static ucs_status_t on_reply(void* arg, const void* header, size_t header_length, void* data, size_t length,
                               const ucp_am_recv_param_t* param) {
    auto* self = static_cast<Channel*>(arg);
    try {
      return self->handle_reply(header, header_length, data, length, param);
    } catch (...) {
      if (self->call_) self->call_->fail(ENOMEM, "out of memory receiving the reply");
      return UCS_OK;
    }
  }

  ucs_status_t handle_reply(const void* header, size_t header_length, void* data, size_t length,
                            const ucp_am_recv_param_t* param) {
    Call* call = call_;
    auto rep = decode_reply(std::span<const uint8_t>(static_cast<const uint8_t*>(header), header_length));
    if (!rep) {
      if (call) call->fail(EPROTO, rep.error().message);
      return UCS_OK;
    }
    // A reply to an earlier, abandoned request: drop it (a rendezvous payload is declined).
    if (!call || rep->request_id != call->request_id || call->reply_seen) return UCS_OK;
    call->reply = *rep;
    call->reply_seen = true;
    const bool rndv = param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV;
    if (rep->status != ReplyStatus::kOk) {
      if (!rndv && length <= kMaxErrorText) call->error_text.assign(static_cast<const char*>(data), length);
      call->data_done = true;
      return UCS_OK;
    }
    if (length != rep->data_length) {
      call->fail(EPROTO, "reply payload is " + std::to_string(length) + " bytes, header says " +
                             std::to_string(rep->data_length));
      return UCS_OK;
    }
    char* dst = nullptr;
    if (call->want_whole || (rep->needle_flags & kNeedleCompressed)) {
      // Checked before a byte is allocated: a reply can claim any size up to 4 GiB.
      if (call->max_whole != 0 && length > call->max_whole) {
        call->fail(EIO, "reply of " + std::to_string(length) + " bytes exceeds the chunk's stored size bound " +
                            std::to_string(call->max_whole));
        return UCS_OK;
      }
      call->whole.resize(length);
      dst = call->whole.data();
    } else {
      // A slice cannot be checked here: only bytes the agent verified against the needle's CRC
      // are taken (an agent run with -verifyCrc=false answers without the flag).
      if (!(rep->reply_flags & kReplyCrcVerified)) {
        call->fail(EIO, "the agent did not verify the needle's CRC-32C (-verifyCrc=false?); not using its bytes");
        return UCS_OK;
      }
      const uint64_t expect_offset = std::min(call->requested_offset, rep->needle_data_size);
      if (rep->data_offset != expect_offset || length > call->dst.size()) {
        call->fail(EPROTO, "reply range does not match the request");
        return UCS_OK;
      }
      dst = call->dst.data();
    }
    if (length == 0) {
      call->data_done = true;
      return UCS_OK;
    }
    if (!rndv) {
      std::memcpy(dst, data, length);
      call->data_done = true;
      return UCS_OK;
    }
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.recv_am = &Channel::on_data_received;
    p.user_data = call;
    ucs_status_ptr_t st = ucp_am_recv_data_nbx(worker_.get(), data, dst, length, &p);
    if (st == nullptr) {
      call->data_done = true;
    } else if (UCS_PTR_IS_ERR(st)) {
      call->fail(errno_from_ucs(UCS_PTR_STATUS(st)), std::string("receive: ") + ucs_status_string(UCS_PTR_STATUS(st)));
    }
    return UCS_INPROGRESS;  // UCP owns the descriptor once the receive was started
  }

  SharedContext context_;
  WorkerPtr worker_;
  ucp_ep_h ep_ = nullptr;
  int efd_ = -1;
  ucs_status_t ep_failed_ = UCS_OK;
  uint64_t next_id_ = 0;
  Call* call_ = nullptr;
  std::array<uint8_t, kRequestHeaderSize + kMaxTokenLength> send_buf_{};
};

namespace {
AgentClientOptions sanitized(AgentClientOptions o) {
  if (o.max_in_flight == 0) o.max_in_flight = 1;
  if (o.timeout_ms <= 0) o.timeout_ms = 1;
  return o;
}
}  // namespace

AgentVolumeReader::AgentVolumeReader(std::string address, AgentClientOptions options)
    : address_(std::move(address)), options_(sanitized(options)) {}

AgentVolumeReader::~AgentVolumeReader() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

Result<std::unique_ptr<AgentVolumeReader::Channel>> AgentVolumeReader::acquire() {
  {
    std::unique_lock lock(mu_);
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    while (idle_.empty() && open_channels_ >= options_.max_in_flight) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_channels_ >= options_.max_in_flight)
        return make_error(ETIMEDOUT, "all " + std::to_string(options_.max_in_flight) + " agent channels stayed busy");
    }
    if (!idle_.empty()) {
      auto ch = std::move(idle_.back());
      idle_.pop_back();
      return ch;
    }
    ++open_channels_;
  }
  auto ch = Channel::connect(address_, options_, [this](const sockaddr_storage& agent) {
    std::lock_guard lock(mu_);
    if (!net_devices_known_) {
      net_devices_ = net_devices_toward(agent);
      net_devices_known_ = true;
    }
    return net_devices_;
  });
  if (!ch) {
    std::lock_guard lock(mu_);
    --open_channels_;
    cv_.notify_one();
  }
  return ch;
}

void AgentVolumeReader::release(std::unique_ptr<Channel> channel) {
  std::lock_guard lock(mu_);
  if (channel && !channel->broken()) {
    idle_.push_back(std::move(channel));
  } else {
    channel.reset();
    --open_channels_;
  }
  cv_.notify_one();
}

Status AgentVolumeReader::execute(Request request, Call& call) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  for (int attempt = 0;; ++attempt) {
    auto ch = acquire();
    if (!ch) return ch.error().context("agent " + address_);
    const bool reused = (*ch)->used();
    // Readahead calls neither spin here nor ask the agent to: nobody is waiting on them yet.
    const bool waited = !is_background_thread();
    if (waited) request.flags |= kRequestWaited;
    (*ch)->run(request, call, deadline, waited ? options_.busy_poll_us : 0);
    if (call.fail_code == 0) {
      release(std::move(*ch));
      break;
    }
    // Destroy the channel before returning: nothing may write into the caller's buffer later.
    ch->reset();
    release(nullptr);
    // A pooled channel whose agent restarted fails on first use: retry once on a fresh one.
    if (attempt == 0 && reused && (call.connection_lost || is_connection_error(call.fail_code)) && !call.reply_seen &&
        Clock::now() < deadline) {
      Call fresh;
      fresh.want_whole = call.want_whole;
      fresh.requested_offset = call.requested_offset;
      fresh.max_whole = call.max_whole;
      fresh.dst = call.dst;
      call = std::move(fresh);
      continue;
    }
    return make_error(call.fail_code, "agent " + address_ + ": " + call.fail_message);
  }
  if (call.reply.status != ReplyStatus::kOk) {
    std::string msg = "agent " + address_ + ": " + status_name(call.reply.status);
    if (!call.error_text.empty()) msg += ": " + call.error_text;
    return make_error(errno_from_status(call.reply.status), msg);
  }
  return {};
}

namespace {
Request needle_request(Op op, const FileId& fid) {
  Request r;
  r.op = op;
  r.volume_id = fid.volume_id;
  r.needle_id = fid.key;
  r.cookie = fid.cookie;
  return r;
}

// A whole payload must match the CRC-32C in its reply header (raw, or the legacy value a needle
// written by weed < 3.09 stores: docs/seaweedfs/needle-integrity.md).
Status check_whole_crc(const Reply& reply, std::string_view payload) {
  const uint32_t computed = codec::crc32c(payload);
  if (volume::crc_matches(reply.crc32c, computed)) return {};
  char text[96];
  std::snprintf(text, sizeof text, "payload CRC-32C %08x does not match the reply's %08x", computed, reply.crc32c);
  // The agent vouched for the CRC (CRC_VERIFIED) yet the bytes differ: the transfer or the agent
  // is wrong, read elsewhere. Unverified and wrong: the stored copy is corrupt.
  if (reply.reply_flags & kReplyCrcVerified) return make_error(EIO, text);
  return make_error(EBADMSG, std::string(text) + " (stored data is corrupt)");
}
}  // namespace

Result<std::string> AgentVolumeReader::token_for(const std::string& fid) {
  if (!options_.read_token.empty()) return options_.read_token;
  if (options_.jwt_read_key.empty()) return options_.read_tokens ? options_.read_tokens(fid) : std::string();
  // Reads of one chunk come in runs (readahead, 4 KiB pieces): a token is reused while more than
  // half its life is left, so a run mints once (minting costs ~1 us, measured in
  // tests/transport/http_jwt_test.cc).
  struct Cached {
    std::string key, fid, token;
    int64_t fresh_until = 0;
  };
  thread_local std::array<Cached, 64> cache;
  const int64_t now = unix_now();
  Cached& slot = cache[std::hash<std::string>{}(fid) % cache.size()];
  if (slot.fresh_until > now && slot.fid == fid && slot.key == options_.jwt_read_key) return slot.token;
  auto token = http::mint_read_jwt(options_.jwt_read_key, fid, now + options_.jwt_lifetime_sec);
  if (!token) return token.error();
  slot = Cached{options_.jwt_read_key, fid, *token, now + options_.jwt_lifetime_sec / 2};
  return token;
}

Result<size_t> AgentVolumeReader::read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) {
  if (dst.empty()) return size_t{0};
  const std::string fid = loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text;
  auto token = token_for(fid);
  if (!token) return token.error().context("read " + fid);
  Request r = needle_request(Op::kRead, loc.fid);
  r.offset = offset;
  if (loc.allow_deleted) r.flags |= kRequestAllowDeleted;
  r.token = *token;
  if (dst.size() > kMaxReadLength) dst = dst.first(kMaxReadLength);
  r.length = dst.size();
  Call call;
  call.requested_offset = offset;
  call.dst = dst;
  call.max_whole = loc.max_stored_size;
  if (auto s = execute(r, call); !s) return s.error().context("read " + fid);
  if (!(call.reply.needle_flags & kNeedleCompressed)) return static_cast<size_t>(call.reply.data_length);

  // Stored as gzip: the agent sent it whole. Check it, then inflate only as far as the range
  // (as the volume server does for a ranged GET of a compressed needle).
  if (auto s = check_whole_crc(call.reply, call.whole); !s)
    return s.error().context("read " + fid + " from agent " + address_);
  if (!codec::is_gzip(call.whole)) {
    if (offset >= call.whole.size()) return size_t{0};
    const size_t n = std::min<size_t>(dst.size(), call.whole.size() - offset);
    std::memcpy(dst.data(), call.whole.data() + offset, n);
    return n;
  }
  auto n = codec::gunzip_range(call.whole, offset, dst);
  if (!n) return n.error().context("read " + fid + " from agent " + address_);
  return *n;
}

Result<StoredNeedle> AgentVolumeReader::read_whole(const NeedleLocator& loc) {
  const std::string fid = loc.fid_text.empty() ? loc.fid.to_string() : loc.fid_text;
  auto token = token_for(fid);
  if (!token) return token.error().context("read " + fid);
  Request r = needle_request(Op::kRead, loc.fid);
  r.flags = kRequestWhole;
  if (loc.allow_deleted) r.flags |= kRequestAllowDeleted;
  r.token = *token;
  Call call;
  call.want_whole = true;
  call.max_whole = loc.max_stored_size;
  if (auto s = execute(r, call); !s) return s.error().context("read " + fid);
  if (auto s = check_whole_crc(call.reply, call.whole); !s)
    return s.error().context("read " + fid + " from agent " + address_);
  StoredNeedle out;
  out.gzipped = (call.reply.needle_flags & kNeedleCompressed) && codec::is_gzip(call.whole);
  out.data = std::move(call.whole);
  return out;
}

Result<NeedleStat> AgentVolumeReader::stat(const FileId& fid, bool allow_deleted) {
  const std::string text = fid.to_string();
  auto token = token_for(text);
  if (!token) return token.error().context("stat " + text);
  Request r = needle_request(Op::kStat, fid);
  if (allow_deleted) r.flags |= kRequestAllowDeleted;
  r.token = *token;
  Call call;
  call.want_whole = true;
  if (auto s = execute(r, call); !s) return s.error().context("stat " + text);
  NeedleStat st;
  st.needle_flags = call.reply.needle_flags;
  st.data_size = call.reply.needle_data_size;
  st.crc32c = call.reply.crc32c;
  st.deleted = call.reply.reply_flags & kReplyDeleted;
  return st;
}

Result<std::string> AgentVolumeReader::ping() {
  Request r;
  r.op = Op::kPing;
  Call call;
  call.want_whole = true;
  if (auto s = execute(r, call); !s) return s.error().context("ping");
  return std::move(call.whole);
}

std::string AgentVolumeReader::describe_transport() {
  std::lock_guard lock(mu_);
  return idle_.empty() ? std::string() : idle_.back()->describe();
}

}  // namespace seaweed::transport::ucx
