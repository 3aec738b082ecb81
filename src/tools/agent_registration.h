// The agent's entry in the filer's KV store (key kAgentKeyPrefix + volume server, value the
// agent's address), through which mounts find it. Registration runs on a thread of its own and
// retries with a doubling backoff until the filer takes it: an agent started before its filer, or
// while the filer restarts, serves as soon as it is registered instead of exiting.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "filer/filer_address.h"
#include "filer/filer_client.h"

namespace seaweed::tools {

class AgentRegistration {
 public:
  AgentRegistration(filer::FilerAddress filer, std::string key, std::string value,
                    std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(500),
                    std::chrono::milliseconds max_backoff = std::chrono::seconds(10));
  // Stops retrying; removes the entry if it was made.
  ~AgentRegistration();
  AgentRegistration(const AgentRegistration&) = delete;
  AgentRegistration& operator=(const AgentRegistration&) = delete;

 private:
  void run();
  // Waits up to d unless stopped; false when stopped.
  bool wait(std::chrono::milliseconds d);

  const filer::FilerAddress filer_;
  const std::string key_;
  const std::string value_;
  const std::chrono::milliseconds initial_backoff_;
  const std::chrono::milliseconds max_backoff_;
  std::unique_ptr<filer::FilerClient> client_;  // the registration thread's until it is joined
  bool registered_ = false;                     // likewise
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace seaweed::tools
