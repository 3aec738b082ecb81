#include "transport/agent_map.h"

#include <spdlog/spdlog.h>

#include <sstream>

namespace seaweed::transport {

AgentMap::AgentMap(std::map<std::string, std::string> explicit_agents, KvGet kv_get, Connect connect,
                   std::chrono::seconds refresh)
    : explicit_(std::move(explicit_agents)),
      kv_get_(std::move(kv_get)),
      connect_(std::move(connect)),
      refresh_(refresh) {}

namespace {
// Volume servers are keyed "host:port" as the filer's LookupVolume spells them; accept URLs too.
std::string strip_scheme(std::string s) {
  for (const char* scheme : {"http://", "https://", "ucx://"})
    if (s.rfind(scheme, 0) == 0) s = s.substr(std::string(scheme).size());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}
}  // namespace

Result<std::map<std::string, std::string>> AgentMap::parse(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      return make_error(EINVAL, "bad -rdma.agents entry \"" + item + "\": want VOLUMESERVER=AGENTHOST:PORT");
    const std::string server = strip_scheme(item.substr(0, eq)), agent = strip_scheme(item.substr(eq + 1));
    if (server.find(':') == std::string::npos || agent.find(':') == std::string::npos)
      return make_error(EINVAL, "bad -rdma.agents entry \"" + item + "\": want VOLUMESERVER=AGENTHOST:PORT");
    out[server] = agent;
  }
  return out;
}

std::vector<std::string> AgentMap::volume_servers() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [server, agent] : explicit_) out.push_back(server);
  for (const auto& [server, known] : discovered_)
    if (!known.agent.empty()) out.push_back(server);
  return out;
}

std::shared_ptr<VolumeReader> AgentMap::reader_for_locked(const std::string& agent) {
  auto& reader = readers_[agent];
  if (!reader) reader = connect_(agent);
  return reader;
}

std::shared_ptr<VolumeReader> AgentMap::agent_for(const std::string& volume_server) {
  std::unique_lock lock(mu_);
  if (auto it = explicit_.find(volume_server); it != explicit_.end()) return reader_for_locked(it->second);
  if (!explicit_.empty() || !kv_get_) return nullptr;  // an explicit map means: only these
  const auto now = std::chrono::steady_clock::now();
  Known* known = &discovered_[volume_server];  // entries are never erased: stays valid unlocked
  const bool first = known->checked.time_since_epoch().count() == 0;
  if (first || now - known->checked > refresh_) {
    known->checked = now;
    // A refresh asks the filer without the lock: every read passes here, and a slow or absent
    // filer must not stall reads meanwhile (they use the last answer). The first lookup of a
    // volume server keeps the lock, so concurrent first reads wait for the answer.
    if (!first) lock.unlock();
    auto value = kv_get_(kAgentKeyPrefix + volume_server);
    if (!first) lock.lock();
    if (value.ok() && value.value() != known->agent) {  // keep the last answer if the filer hiccups
      spdlog::info("volume server {}: agent {}", volume_server, value->empty() ? "none" : *value);
      known->agent = value.value();
    }
  }
  return known->agent.empty() ? nullptr : reader_for_locked(known->agent);
}

}  // namespace seaweed::transport
