// Where the mount's metadata comes from: the filer's entries, listings, volume locations and
// statistics, and its stream of metadata events. FilerClient implements it over gRPC; the unit
// tests of fuse/ implement it in memory (tests/fuse/fake_metadata_source.h), so the caching and
// coherence logic in fuse/ can be tested without a cluster.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "filer.pb.h"

namespace seaweed::filer {

// A running event subscription; destroying it (or stop()) ends it and waits for its callbacks.
class Subscription {
 public:
  // What the stream did so far (for the mount's metrics): the ts_ns of the last event applied
  // (or since_ns before any), events received, reconnects.
  struct Progress {
    int64_t last_ts_ns = 0;
    uint64_t events = 0;
    uint64_t reconnects = 0;
  };

  virtual ~Subscription() = default;
  virtual void stop() = 0;
  [[nodiscard]] virtual Progress progress() const { return {}; }
};

class MetadataSource {
 public:
  using OnEvent = std::function<void(const filer_pb::SubscribeMetadataResponse&)>;
  // Events may have been lost (the stream broke and resumed): every cached answer is suspect.
  using OnGap = std::function<void()>;

  virtual ~MetadataSource() = default;

  // The entry `name` in `directory`; nullopt when it does not exist.
  virtual Result<std::optional<filer_pb::Entry>> lookup(const std::string& directory, const std::string& name) = 0;
  // Calls on_entry for every entry of directory in filer order; on_entry returns false to stop.
  virtual Status list(const std::string& directory, const std::function<bool(filer_pb::Entry&&)>& on_entry) = 0;
  // Volume id -> volume server URLs ("host:port"). Unknown ids are absent from the map.
  virtual Result<std::map<uint32_t, std::vector<std::string>>> lookup_volumes(
      const std::vector<uint32_t>& volume_ids) = 0;
  virtual Result<filer_pb::StatisticsResponse> statistics() = 0;
  // Calls on_event (from one thread, in order) for every change under path_prefix newer than
  // since_ns, until the subscription is destroyed; on_gap after a break in the stream.
  virtual std::unique_ptr<Subscription> subscribe(const std::string& path_prefix, int64_t since_ns, OnEvent on_event,
                                                  OnGap on_gap) = 0;
  // Requests sent so far (for tests and metrics).
  [[nodiscard]] virtual uint64_t rpc_count() const = 0;
};

}  // namespace seaweed::filer
