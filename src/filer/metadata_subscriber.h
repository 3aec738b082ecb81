// Keeps a gRPC SubscribeMetadata stream open on the mount's path prefix and hands every event to
// the mount. Reconnects with backoff after the filer goes away (probing it at most every second)
// and resumes from the last applied ts_ns; since events in the gap may be lost (a filer restart
// loses its in-memory log), every reconnect also asks the mount to drop its caches. With several
// filers, a probe that fails moves on to the next one (each filer serves its peers' events too).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "filer.grpc.pb.h"
#include "filer/filer_address.h"
#include "filer/metadata_source.h"

namespace seaweed::filer {

class MetadataSubscriber final : public Subscription {
 public:
  using OnEvent = MetadataSource::OnEvent;
  using OnGap = MetadataSource::OnGap;

  // credentials: as for FilerClient (null: plain text).
  MetadataSubscriber(const FilerAddress& address, std::string path_prefix, int32_t signature, OnEvent on_event,
                     OnGap on_gap, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  // Starts with addresses[0].
  MetadataSubscriber(const std::vector<FilerAddress>& addresses, std::string path_prefix, int32_t signature,
                     OnEvent on_event, OnGap on_gap, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  ~MetadataSubscriber() override;
  MetadataSubscriber(const MetadataSubscriber&) = delete;
  MetadataSubscriber& operator=(const MetadataSubscriber&) = delete;

  // Starts the stream thread with events newer than since_ns.
  void start(int64_t since_ns);
  void stop() override;

  [[nodiscard]] int64_t last_ts_ns() const { return last_ts_ns_.load(); }
  [[nodiscard]] uint64_t reconnects() const { return reconnects_.load(); }
  [[nodiscard]] uint64_t events() const { return events_.load(); }
  [[nodiscard]] Progress progress() const override { return {last_ts_ns(), events(), reconnects()}; }

 private:
  void run();

  std::string prefix_;
  int32_t signature_;
  OnEvent on_event_;
  OnGap on_gap_;
  struct Endpoint {
    std::string name;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<filer_pb::SeaweedFiler::Stub> stub;
  };
  std::vector<Endpoint> endpoints_;
  size_t current_ = 0;  // used by the stream thread only

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the running call, to cancel it on stop
  std::thread thread_;
  std::atomic<int64_t> last_ts_ns_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> events_{0};
};

}  // namespace seaweed::filer
