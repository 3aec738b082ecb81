#include "filer/filer_client.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <random>

#include "common/metrics.h"
#include "filer/channel_credentials.h"
#include "filer/metadata_subscriber.h"

namespace seaweed::filer {
namespace {

constexpr char kNotFound[] = "no entry is found in filer store";

Error rpc_error(const grpc::Status& status, const std::string& what) {
  int code = EIO;
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = ETIMEDOUT;
      break;
    case grpc::StatusCode::UNAVAILABLE:
      code = EHOSTUNREACH;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = ENOENT;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = EACCES;
      break;
    default:
      break;
  }
  return make_error(code, what + ": " + status.error_message());
}

// Why a filer that did not answer did not: when its port speaks TLS and we do not (or the
// reverse) the gRPC error is a vague "unavailable"; a handshake probe tells which it is.
Error connect_error(const grpc::Status& status, const FilerAddress& address, bool tls,
                    std::chrono::milliseconds timeout) {
  const std::string who = "filer " + address.http() + " (gRPC " + address.grpc() + ")";
  const PortSpeaks speaks =
      probe_tls(address.host, address.grpc_port, std::min(timeout, std::chrono::milliseconds(2000)));
  if (speaks == PortSpeaks::kPlain && tls)
    return make_error(EPROTO, who +
                                  ": TLS handshake failed: the filer does not speak TLS ([grpc] in security.toml: "
                                  "the mount has TLS settings, the filer has none)");
  if (speaks == PortSpeaks::kTls && !tls)
    return make_error(EPROTO, who +
                                  ": the filer requires TLS: put the cluster's [grpc] ca and [grpc.client] "
                                  "cert/key in security.toml (or -security.config)");
  // Both speak TLS and the filer answered our probe, yet the call failed at once: one side
  // refused the other's certificate (ours: "certificate verify failed"; the filer's: the
  // connection is reset after the handshake).
  if (speaks == PortSpeaks::kTls && tls && status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
    return make_error(EACCES, who +
                                  ": TLS handshake failed: certificates not accepted (check [grpc] ca and "
                                  "[grpc.client] cert/key in security.toml): " +
                                  status.error_message());
  return rpc_error(status, who + " is not reachable");
}

// gRPC core writes its own lines to stderr (e.g. every failed TLS handshake); they go to our log
// at debug level instead, so a failure is the one line the caller reports.
void route_grpc_logs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpr_set_log_function([](gpr_log_func_args* args) {
      spdlog::debug("grpc {}:{}: {}", args->file ? args->file : "", args->line, args->message ? args->message : "");
    });
  });
}

// The filer did not answer at all: another one may.
bool unreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

Result<VolumeAccess> parse_volume_access(const std::string& text) {
  if (text == "direct") return VolumeAccess::kDirect;
  if (text == "publicUrl") return VolumeAccess::kPublicUrl;
  if (text == "filerProxy") return VolumeAccess::kFilerProxy;
  return make_error(EINVAL, "-volumeServerAccess=" + text + ": want direct, publicUrl or filerProxy");
}

std::string join_path(const std::string& directory, const std::string& name) {
  if (name.empty()) return directory;
  if (directory.empty() || directory == "/") return "/" + name;
  return directory + "/" + name;
}

FilerClient::FilerClient(const std::vector<FilerAddress>& addresses, FilerClientOptions options) : options_(options) {
  for (const auto& a : addresses) {
    Endpoint e{a, make_filer_channel(a, 0, options_.credentials), nullptr};
    e.stub = filer_pb::SeaweedFiler::NewStub(e.channel);
    endpoints_.push_back(std::move(e));
  }
}

std::vector<FilerAddress> FilerClient::addresses() const {
  std::vector<FilerAddress> out;
  for (const auto& e : endpoints_) out.push_back(e.address);
  return out;
}

std::unique_ptr<grpc::ClientContext> FilerClient::context(std::chrono::milliseconds timeout, const char* rpc) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  ++rpc_count_;
  Metrics::global()
      .counter("seaweed_mount_filer_rpcs_total", "gRPC calls made to the filer, by method",
               std::string("rpc=\"") + rpc + "\"")
      .add();
  return ctx;
}

void FilerClient::switch_to(size_t index, const std::string& why) {
  const size_t was = current_.exchange(index);
  if (was == index) return;
  ++failovers_;
  Metrics::global().counter("seaweed_mount_filer_failovers_total", "switches to another filer of -filer").add();
  spdlog::warn("filer {} {}: using filer {}", endpoints_[was].address.http(), why, endpoints_[index].address.http());
}

template <class Call>
grpc::Status FilerClient::with_failover(std::chrono::milliseconds timeout, const char* rpc, Call&& call) {
  const size_t start = current_.load();
  grpc::Status status;
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    const size_t i = (start + attempt) % endpoints_.size();
    auto ctx = context(timeout, rpc);
    status = call(*endpoints_[i].stub, *ctx);
    if (!unreachable(status)) {
      if (i != start) switch_to(i, "did not answer " + std::string(rpc));
      return status;
    }
  }
  return status;
}

Result<std::unique_ptr<FilerClient>> FilerClient::connect(const FilerAddress& address, FilerClientOptions options) {
  return connect(std::vector<FilerAddress>{address}, options);
}

Result<std::unique_ptr<FilerClient>> FilerClient::connect(const std::vector<FilerAddress>& addresses,
                                                          FilerClientOptions options) {
  if (addresses.empty()) return make_error(EINVAL, "no filer address given");
  route_grpc_logs_once();
  std::unique_ptr<FilerClient> client(new FilerClient(addresses, options));  // private constructor
  std::string reasons;
  for (size_t i = 0; i < client->endpoints_.size(); ++i) {
    const auto& e = client->endpoints_[i];
    auto ctx = client->context(options.connect_timeout, "GetFilerConfiguration");
    filer_pb::GetFilerConfigurationRequest request;
    grpc::Status status = e.stub->GetFilerConfiguration(ctx.get(), request, &client->configuration_);
    if (status.ok()) {
      if (i > 0) spdlog::warn("filer(s) not reachable: {}; using filer {}", reasons, e.address.http());
      client->current_ = i;
      return client;
    }
    const auto err = connect_error(status, e.address, options.credentials != nullptr, options.connect_timeout);
    reasons += (reasons.empty() ? "" : "; ") + err.message;
    if (client->endpoints_.size() == 1) return err;
  }
  return make_error(EHOSTUNREACH, "no filer reachable: " + reasons);
}

Result<std::optional<filer_pb::Entry>> FilerClient::lookup(const std::string& directory, const std::string& name) {
  filer_pb::LookupDirectoryEntryRequest request;
  request.set_directory(directory);
  request.set_name(name);
  filer_pb::LookupDirectoryEntryResponse response;
  grpc::Status status = with_failover(options_.call_timeout, "LookupDirectoryEntry", [&](auto& stub, auto& ctx) {
    return stub.LookupDirectoryEntry(&ctx, request, &response);
  });
  if (!status.ok()) {
    if (status.error_message().find(kNotFound) != std::string::npos ||
        status.error_code() == grpc::StatusCode::NOT_FOUND)
      return std::optional<filer_pb::Entry>();
    return rpc_error(status, "LookupDirectoryEntry " + join_path(directory, name));
  }
  if (!response.has_entry()) return std::optional<filer_pb::Entry>();
  return std::optional<filer_pb::Entry>(std::move(*response.mutable_entry()));
}

Status FilerClient::list(const std::string& directory, const std::function<bool(filer_pb::Entry&&)>& on_entry) {
  std::string start_from;
  size_t failovers_left = endpoints_.size() - 1;
  for (;;) {
    const size_t i = current_.load();
    auto ctx = context(options_.call_timeout, "ListEntries");
    filer_pb::ListEntriesRequest request;
    request.set_directory(directory);
    request.set_startfromfilename(start_from);
    request.set_inclusivestartfrom(false);
    request.set_limit(options_.list_page_size);
    auto reader = endpoints_[i].stub->ListEntries(ctx.get(), request);
    filer_pb::ListEntriesResponse response;
    uint32_t received = 0;
    bool stopped = false;
    while (reader->Read(&response)) {
      ++received;
      start_from = response.entry().name();
      if (!on_entry(std::move(*response.mutable_entry()))) {
        stopped = true;
        ctx->TryCancel();
        break;
      }
    }
    grpc::Status status = reader->Finish();
    if (stopped) return {};
    if (!status.ok() && unreachable(status) && failovers_left > 0) {
      // The page goes on from the last name received, on the next filer.
      --failovers_left;
      switch_to((i + 1) % endpoints_.size(), "failed while listing " + directory);
      continue;
    }
    if (!status.ok()) return rpc_error(status, "ListEntries " + directory);
    if (received < options_.list_page_size) return {};
  }
}

Result<std::map<uint32_t, std::vector<std::string>>> FilerClient::lookup_volumes(
    const std::vector<uint32_t>& volume_ids) {
  std::map<uint32_t, std::vector<std::string>> out;
  if (options_.volume_access == VolumeAccess::kFilerProxy) {
    // The filer finds the volume itself when it proxies (weed mount does not look up either).
    for (uint32_t vid : volume_ids) out[vid] = {address().http()};
    return out;
  }
  filer_pb::LookupVolumeRequest request;
  for (uint32_t vid : volume_ids) request.add_volume_ids(std::to_string(vid));
  filer_pb::LookupVolumeResponse response;
  grpc::Status status = with_failover(options_.call_timeout, "LookupVolume", [&](auto& stub, auto& ctx) {
    return stub.LookupVolume(&ctx, request, &response);
  });
  if (!status.ok()) {
    // One unknown id fails the whole request (the filer drops the partial map): retry ids one by one.
    if (volume_ids.size() > 1) {
      for (uint32_t vid : volume_ids) {
        auto one = lookup_volumes({vid});
        if (one.ok()) out.merge(one.value());
      }
      return out;
    }
    if (status.error_message().find("not found") != std::string::npos) return out;
    return rpc_error(status, "LookupVolume " + std::to_string(volume_ids.empty() ? 0 : volume_ids[0]));
  }
  for (const auto& [vid_text, locations] : response.locations_map()) {
    uint32_t vid = static_cast<uint32_t>(std::strtoul(vid_text.c_str(), nullptr, 10));
    auto& urls = out[vid];
    for (const auto& loc : locations.locations()) {
      const bool public_url = options_.volume_access == VolumeAccess::kPublicUrl && !loc.public_url().empty();
      urls.push_back(public_url ? loc.public_url() : loc.url());
    }
  }
  return out;
}

Result<filer_pb::StatisticsResponse> FilerClient::statistics() {
  filer_pb::StatisticsRequest request;
  filer_pb::StatisticsResponse response;
  grpc::Status status = with_failover(options_.call_timeout, "Statistics",
                                      [&](auto& stub, auto& ctx) { return stub.Statistics(&ctx, request, &response); });
  if (!status.ok()) return rpc_error(status, "Statistics");
  return response;
}

std::unique_ptr<Subscription> FilerClient::subscribe(const std::string& path_prefix, int64_t since_ns, OnEvent on_event,
                                                     OnGap on_gap) {
  // The filer skips events whose signature list holds the subscriber's own: a random non-zero
  // one per subscription, so nothing of ours is filtered out by accident.
  std::random_device random;
  const int32_t signature = static_cast<int32_t>(random() & 0x7fffffff) | 1;
  // The stream starts on the filer calls go to now and moves on through the others in turn.
  std::vector<FilerAddress> order;
  const size_t current = current_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) order.push_back(endpoints_[(current + i) % endpoints_.size()].address);
  auto subscriber = std::make_unique<MetadataSubscriber>(order, path_prefix, signature, std::move(on_event),
                                                         std::move(on_gap), options_.credentials);
  subscriber->start(since_ns);
  return subscriber;
}

Result<std::string> FilerClient::kv_get(const std::string& key) {
  filer_pb::KvGetRequest request;
  request.set_key(key);
  filer_pb::KvGetResponse response;
  grpc::Status status = with_failover(options_.call_timeout, "KvGet",
                                      [&](auto& stub, auto& ctx) { return stub.KvGet(&ctx, request, &response); });
  if (!status.ok()) return rpc_error(status, "KvGet " + key);
  if (!response.error().empty()) return make_error(EIO, "KvGet " + key + ": " + response.error());
  return response.value();
}

Status FilerClient::kv_put(const std::string& key, const std::string& value) {
  filer_pb::KvPutRequest request;
  request.set_key(key);
  request.set_value(value);
  filer_pb::KvPutResponse response;
  grpc::Status status = with_failover(options_.call_timeout, "KvPut",
                                      [&](auto& stub, auto& ctx) { return stub.KvPut(&ctx, request, &response); });
  if (!status.ok()) return rpc_error(status, "KvPut " + key);
  if (!response.error().empty()) return make_error(EIO, "KvPut " + key + ": " + response.error());
  return {};
}

}  // namespace seaweed::filer
