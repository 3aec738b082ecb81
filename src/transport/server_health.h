// Which volume servers (or the agents beside them) failed lately: a server that timed out,
// refused or broke a connection is "down" for a backoff that doubles with each outage (200 ms to
// 5 s by default) and is forgotten at its first success. Used by FallbackVolumeReader (per agent)
// and HttpVolumeReader (per volume server). While nothing failed, the checks on the read path are
// one relaxed atomic load: no lock.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace seaweed::transport {

struct BackoffOptions {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{5000};
};

class ServerHealth {
 public:
  // what: "agent for" / "volume server", for the log lines.
  ServerHealth(const char* what, BackoffOptions options) : what_(what), options_(options) {}

  // True while server backs off. Once the backoff is over, false for one caller (the probe: its
  // outcome must be reported with mark_up or mark_down) and true for the others during another
  // backoff period. recovering: it has a record (it failed before), so a success must call mark_up.
  bool down(const std::string& server, bool& recovering);
  bool down(const std::string& server) {
    bool recovering = false;
    return down(server, recovering);
  }
  // One outage raises the backoff once: the requests that were in flight when the server went
  // away fail too and must not double it again.
  void mark_down(const std::string& server, const Error& why);
  // Forgets server's record (no-op, without a lock, when nothing has one).
  void mark_up(const std::string& server);
  // The servers backing off now.
  std::vector<std::string> backing_off();
  [[nodiscard]] bool any_record() const { return records_.load(std::memory_order_relaxed) != 0; }

 private:
  struct Record {
    std::chrono::steady_clock::time_point down_until{};
    std::chrono::milliseconds backoff{0};
    bool probing = false;  // one caller was let through after the backoff
  };
  const char* what_;
  BackoffOptions options_;
  std::atomic<size_t> records_{0};  // health_.size()
  std::mutex mu_;
  std::unordered_map<std::string, Record> health_;
};

}  // namespace seaweed::transport
