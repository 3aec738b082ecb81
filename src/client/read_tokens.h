// Read tokens of a process that reads a read-JWT cluster's files without the signing key
// (docs/PRELOAD.md, "Read tokens"). The mount daemon mints a token for a fid of an open file's
// snapshot through that file's fd (SWR_IOC_TOKEN); this class keeps, per fid, the token and when
// it goes stale, and which open fds may ask for it. The transports call token_for for every
// request (transport/read_token_provider.h): a cached token is returned while more than half its
// lifetime is left, otherwise a fresh one is asked for through one of the fds.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/snapshot_fetch.h"
#include "common/result.h"

namespace seaweed::client {

class ReadTokens {
 public:
  using Clock = std::chrono::steady_clock;
  using Fetch = std::function<Result<ReadToken>(int fd, const std::string& fid)>;
  using Now = std::function<Clock::time_point()>;

  explicit ReadTokens(Fetch fetch = fetch_read_token, Now now = Clock::now);

  // fd (an open mount file) may ask the daemon for tokens of these fids (its snapshot's chunks).
  void add_source(int fd, const std::vector<std::string>& fids);
  // fd is closing: it asks for nothing any more. Tokens it fetched stay cached until stale.
  void remove_source(int fd, const std::vector<std::string>& fids);

  // A token for fid valid for at least half the lifetime the daemon gave it. ENOKEY when no
  // open fd can ask for fid; the daemon's errno otherwise.
  Result<std::string> token_for(const std::string& fid);

  // ioctls made (first tokens and refreshes), for tests and stats.
  [[nodiscard]] uint64_t fetches() const;

 private:
  struct Entry {
    std::vector<int> fds;  // open fds whose snapshot holds the fid (a fid may be in several files)
    std::string token;
    Clock::time_point fresh_until{};
  };

  const Fetch fetch_;
  const Now now_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t fetches_ = 0;
};

}  // namespace seaweed::client
