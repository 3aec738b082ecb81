#include "tools/agent_registration.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace seaweed::tools {

AgentRegistration::AgentRegistration(filer::FilerAddress filer, std::string key, std::string value,
                                     std::chrono::milliseconds initial_backoff, std::chrono::milliseconds max_backoff)
    : filer_(std::move(filer)),
      key_(std::move(key)),
      value_(std::move(value)),
      initial_backoff_(initial_backoff),
      max_backoff_(max_backoff),
      thread_([this] { run(); }) {}

AgentRegistration::~AgentRegistration() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!registered_) return;
  if (auto s = client_->kv_put(key_, ""); !s)
    spdlog::warn("could not remove {} from the filer: {}", key_, s.error().message);
  else
    spdlog::info("unregistered {} from the filer", key_);
}

bool AgentRegistration::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_; });
}

void AgentRegistration::run() {
  auto backoff = initial_backoff_;
  int failures = 0;  // of the current streak; logged once, at its first
  for (;;) {
    Status s;
    if (!client_) {
      auto client = filer::FilerClient::connect(filer_);
      if (client)
        client_ = std::move(*client);
      else
        s = client.error();
    }
    if (client_) s = client_->kv_put(key_, value_);
    if (s) {
      registered_ = true;
      if (failures > 0) spdlog::info("registered in filer {} after {} failed attempts", filer_.http(), failures);
      spdlog::info("registered in filer {} as {} -> {}", filer_.http(), key_, value_);
      return;
    }
    if (failures++ == 0)
      spdlog::warn("cannot register with the filer {} (retrying up to every {} s until it answers): {}", filer_.http(),
                   max_backoff_.count() / 1000, s.error().message);
    if (!wait(backoff)) return;
    backoff = std::min(max_backoff_, backoff * 2);
  }
}

}  // namespace seaweed::tools
