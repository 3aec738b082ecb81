// Which RDMA agent serves which volume server. Explicit entries (-rdma.agents=VS=AGENT,...) win;
// otherwise agents registered in the filer's KV store under kAgentKeyPrefix + "<volume server>"
// are found on first use and re-read periodically, so agents that start later are picked up.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "transport/volume_reader.h"

namespace seaweed::transport {

inline constexpr char kAgentKeyPrefix[] = "seaweed-rdma-agent/";

class AgentMap {
 public:
  using KvGet = std::function<Result<std::string>(const std::string& key)>;
  using Connect = std::function<std::shared_ptr<VolumeReader>(const std::string& agent_address)>;

  AgentMap(std::map<std::string, std::string> explicit_agents, KvGet kv_get, Connect connect,
           std::chrono::seconds refresh = std::chrono::seconds(30));

  // The agent reader for a volume server URL ("host:port"), or null when none serves it.
  std::shared_ptr<VolumeReader> agent_for(const std::string& volume_server);

  // Volume servers known to have an agent: the explicit ones, else those discovered so far.
  [[nodiscard]] std::vector<std::string> volume_servers();

  // Parses "VS=AGENT,VS2=AGENT2".
  static Result<std::map<std::string, std::string>> parse(const std::string& text);

 private:
  struct Known {
    std::string agent;  // empty: none
    std::chrono::steady_clock::time_point checked;
  };
  std::shared_ptr<VolumeReader> reader_for_locked(const std::string& agent);

  std::map<std::string, std::string> explicit_;
  KvGet kv_get_;
  Connect connect_;
  std::chrono::seconds refresh_;
  std::mutex mu_;
  std::unordered_map<std::string, Known> discovered_;
  std::unordered_map<std::string, std::shared_ptr<VolumeReader>> readers_;  // by agent address
};

}  // namespace seaweed::transport
