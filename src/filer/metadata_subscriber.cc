#include "filer/metadata_subscriber.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace seaweed::filer {

MetadataSubscriber::MetadataSubscriber(const FilerAddress& address, std::string path_prefix, int32_t signature,
                                       OnEvent on_event, OnGap on_gap,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials)
    : MetadataSubscriber(std::vector<FilerAddress>{address}, std::move(path_prefix), signature, std::move(on_event),
                         std::move(on_gap), std::move(credentials)) {}

MetadataSubscriber::MetadataSubscriber(const std::vector<FilerAddress>& addresses, std::string path_prefix,
                                       int32_t signature, OnEvent on_event, OnGap on_gap,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials)
    : prefix_(std::move(path_prefix)),
      signature_(signature),
      on_event_(std::move(on_event)),
      on_gap_(std::move(on_gap)) {
  // Its own connection: a long-lived stream should not share fate (or flow control) with lookups.
  for (const auto& a : addresses) {
    Endpoint e{a.http(), make_filer_channel(a, /*purpose=*/1, credentials), nullptr};
    e.stub = filer_pb::SeaweedFiler::NewStub(e.channel);
    endpoints_.push_back(std::move(e));
  }
}

MetadataSubscriber::~MetadataSubscriber() { stop(); }

void MetadataSubscriber::start(int64_t since_ns) {
  last_ts_ns_ = since_ns;
  thread_ = std::thread([this] { run(); });
}

void MetadataSubscriber::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (active_) active_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MetadataSubscriber::run() {
  using namespace std::chrono_literals;
  auto backoff = 100ms;
  bool lost = false;  // the previous stream ended: the filer must answer before we resubscribe
  const auto wait = [this](std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  };
  for (;;) {
    if (lost) {
      // Probe with a cheap unary call; caches stay as they are while the filer is away, so cached
      // reads keep working. Once it answers, events in the gap may be lost: drop the caches.
      grpc::ClientContext probe;
      probe.set_deadline(std::chrono::system_clock::now() + 2s);
      probe.set_wait_for_ready(true);  // ride the channel's own reconnect instead of failing fast
      filer_pb::GetFilerConfigurationRequest req;
      filer_pb::GetFilerConfigurationResponse resp;
      if (!endpoints_[current_].stub->GetFilerConfiguration(&probe, req, &resp).ok()) {
        if (endpoints_.size() > 1) {
          const size_t next = (current_ + 1) % endpoints_.size();
          spdlog::info("filer {} does not answer; trying filer {} for the metadata stream", endpoints_[current_].name,
                       endpoints_[next].name);
          current_ = next;
        }
        if (!wait(backoff)) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      reconnects_++;
      spdlog::info("filer {} answers: resubscribing from ts {} and dropping cached metadata", endpoints_[current_].name,
                   last_ts_ns_.load());
      if (on_gap_) on_gap_();
      lost = false;
      backoff = 100ms;
    }
    grpc::ClientContext ctx;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      active_ = &ctx;
    }
    filer_pb::SubscribeMetadataRequest request;
    request.set_client_name("seaweed-rdma-mount");
    request.set_path_prefix(prefix_);
    request.set_since_ns(last_ts_ns_.load());
    request.set_signature(signature_);
    request.set_client_id(signature_);
    auto reader = endpoints_[current_].stub->SubscribeMetadata(&ctx, request);
    filer_pb::SubscribeMetadataResponse response;
    while (reader->Read(&response)) {
      events_++;
      if (response.ts_ns() > last_ts_ns_.load()) last_ts_ns_ = response.ts_ns();
      try {
        on_event_(response);
      } catch (const std::exception& e) {
        spdlog::error("applying a metadata event for {} failed: {}", response.directory(), e.what());
      }
    }
    grpc::Status status = reader->Finish();
    {
      std::lock_guard lock(mu_);
      active_ = nullptr;
      if (stopping_) return;
    }
    spdlog::warn("metadata stream from the filer ended ({}); reconnecting with backoff", status.error_message());
    lost = true;
    if (!wait(backoff)) return;
  }
}

}  // namespace seaweed::filer
