// VolumeReader that reads needles from a seaweed-rdma-agent over UCX active messages.
//
// Thread-safe: each call borrows a Channel (its own UCP worker + endpoint) from a small pool, so
// up to max_in_flight calls run in parallel without sharing UCX state; the calling thread
// progresses the worker itself (short spin, then the worker's event fd), as the design's
// "no hand-off" rule asks. Channels connect lazily; any UCX error or timeout destroys the
// channel (the next call reconnects), so a late reply can never land in a caller's buffer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/read_token_provider.h"
#include "transport/ucx/agent_protocol.h"
#include "transport/volume_reader.h"

namespace seaweed::transport::ucx {

struct AgentClientOptions {
  int timeout_ms = 5000;      // per call, including connecting
  size_t max_in_flight = 16;  // concurrent calls (= channels)
  int busy_poll_us = 100;     // spin before sleeping on the event fd
  bool peer_error_handling = true;
  // jwt.signing.read.key: when set, READ and STAT carry a read token for their fid, valid for
  // jwt_lifetime_sec (docs/seaweedfs/read-jwt.md).
  std::string jwt_read_key;
  int64_t jwt_lifetime_sec = 60;
  // A token sent as is with every READ/STAT instead of minting one (tools and tests).
  std::string read_token;
  // Without a key: tokens from this provider (per fid; client library, docs/PRELOAD.md).
  ReadTokenProvider read_tokens;
};

struct NeedleStat {
  uint32_t needle_flags = 0;
  uint64_t data_size = 0;  // stored bytes
  uint32_t crc32c = 0;
  bool deleted = false;
};

class AgentVolumeReader : public VolumeReader {
 public:
  // address: "host:port" of the agent. Nothing is connected until the first call.
  explicit AgentVolumeReader(std::string address, AgentClientOptions options = {});
  ~AgentVolumeReader() override;
  AgentVolumeReader(const AgentVolumeReader&) = delete;
  AgentVolumeReader& operator=(const AgentVolumeReader&) = delete;

  // Clear bytes [offset, offset+dst.size()). A gzip needle comes back whole, its CRC is checked
  // here and it is inflated only as far as offset+dst.size(). Errors (transport/volume_reader.h):
  // ENOENT (needle absent, deleted, wrong cookie, or volume not there), EBADMSG (the agent found
  // the stored data corrupt, or a whole payload fails its CRC), EPERM (token refused), EAGAIN
  // (busy/retry), ETIMEDOUT, ECONNREFUSED/ECONNRESET (agent unreachable), EIO (a ranged reply
  // the agent did not CRC-check, a reply larger than loc.max_stored_size; read over HTTP),
  // EPROTO (anything malformed).
  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override;
  // The whole stored data, checked against the reply's CRC-32C before it is returned.
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override;

  Result<NeedleStat> stat(const FileId& fid, bool allow_deleted = false);
  // Round trip to the agent; returns its info JSON.
  Result<std::string> ping();
  // ucp_ep_print_info of an idle connected channel (which transports/lanes UCX picked), or
  // empty when none is connected. Diagnostics only.
  std::string describe_transport();

  [[nodiscard]] const std::string& address() const { return address_; }

  class Channel;  // public for the C callbacks in the .cc

 private:
  struct Call;
  Result<std::unique_ptr<Channel>> acquire();
  void release(std::unique_ptr<Channel> channel);
  // Sends `request` and waits for its reply; the payload lands in call.dst or call.whole.
  Status execute(Request request, Call& call);
  // A read token for `fid` (empty without a key or provider); a minted one is reused while more
  // than half its life is left.
  Result<std::string> token_for(const std::string& fid);

  const std::string address_;
  const AgentClientOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Devices the channels' UCP context may use (net_devices.h): resolved on first connect.
  std::optional<std::string> net_devices_;
  bool net_devices_known_ = false;
  std::vector<std::unique_ptr<Channel>> idle_;
  size_t open_channels_ = 0;
};

}  // namespace seaweed::transport::ucx
