// FilerClient: the filer's gRPC service (filer_pb.SeaweedFiler) as the mount and agent use it.
// Every call has a deadline; errors come back as Result with the RPC and path as context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "filer.grpc.pb.h"
#include "filer/filer_address.h"
#include "filer/metadata_source.h"

namespace seaweed::filer {

// weed mount's -volumeServerAccess: which address of a volume server reads go to
// (docs/seaweedfs/volume-server-access.md).
enum class VolumeAccess {
  kDirect,      // its url, as LookupVolume gives it
  kPublicUrl,   // its publicUrl (the url when none is set)
  kFilerProxy,  // none: every read goes through the filer (lookup_volumes answers the filer's address)
};
Result<VolumeAccess> parse_volume_access(const std::string& text);

struct FilerClientOptions {
  // From filer_channel_credentials(): mutual TLS per security.toml; null dials in plain text.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  VolumeAccess volume_access = VolumeAccess::kDirect;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds call_timeout{15000};
  uint32_t list_page_size = 1024;  // explicit ListEntries limit; never rely on the server default
};

// Several filers (weed mount's -filer=a,b): every call goes to the current one; when it cannot be
// reached (UNAVAILABLE, or no answer within the deadline) the call is made on the next ones in
// turn, and the first that answers becomes current.
class FilerClient final : public MetadataSource {
 public:
  // Connects and proves the filer answers (GetFilerConfiguration) within connect_timeout; with
  // several, the first that answers becomes current. When the TLS settings of the two sides
  // differ the error says so in one line.
  static Result<std::unique_ptr<FilerClient>> connect(const FilerAddress& address, FilerClientOptions options = {});
  static Result<std::unique_ptr<FilerClient>> connect(const std::vector<FilerAddress>& addresses,
                                                      FilerClientOptions options = {});

  // The filer calls go to now.
  [[nodiscard]] FilerAddress address() const { return endpoints_[current_.load()].address; }
  [[nodiscard]] std::vector<FilerAddress> addresses() const;
  [[nodiscard]] uint64_t failovers() const { return failovers_.load(); }
  [[nodiscard]] const filer_pb::GetFilerConfigurationResponse& configuration() const { return configuration_; }

  // nullopt when the entry does not exist.
  Result<std::optional<filer_pb::Entry>> lookup(const std::string& directory, const std::string& name) override;

  // Calls on_entry for every entry of directory in filer order, paging with an explicit limit.
  // on_entry returns false to stop early.
  Status list(const std::string& directory, const std::function<bool(filer_pb::Entry&&)>& on_entry) override;

  // Volume id -> volume server URLs ("host:port"), as options.volume_access says; with
  // kFilerProxy the current filer's HTTP address for every id, without a call. Unknown ids are
  // absent from the map.
  Result<std::map<uint32_t, std::vector<std::string>>> lookup_volumes(const std::vector<uint32_t>& volume_ids) override;

  Result<filer_pb::StatisticsResponse> statistics() override;
  // A SubscribeMetadata stream on its own connection (filer/metadata_subscriber.h).
  std::unique_ptr<Subscription> subscribe(const std::string& path_prefix, int64_t since_ns, OnEvent on_event,
                                          OnGap on_gap) override;
  Result<std::string> kv_get(const std::string& key);               // empty when missing
  Status kv_put(const std::string& key, const std::string& value);  // empty value deletes

  [[nodiscard]] uint64_t rpc_count() const override { return rpc_count_.load(); }

 private:
  struct Endpoint {
    FilerAddress address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<filer_pb::SeaweedFiler::Stub> stub;
  };
  FilerClient(const std::vector<FilerAddress>& addresses, FilerClientOptions options);
  std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds timeout, const char* rpc) const;
  // Makes call(stub, context) on the current filer, then on the others while a filer cannot be
  // reached; returns the last status.
  template <class Call>
  grpc::Status with_failover(std::chrono::milliseconds timeout, const char* rpc, Call&& call);
  void switch_to(size_t index, const std::string& why);

  FilerClientOptions options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> current_{0};
  std::atomic<uint64_t> failovers_{0};
  filer_pb::GetFilerConfigurationResponse configuration_;
  mutable std::atomic<uint64_t> rpc_count_{0};
};

// Joins a directory and a name the way the filer spells full paths ("/" root, no double slash).
std::string join_path(const std::string& directory, const std::string& name);

}  // namespace seaweed::filer
