#include "transport/agent_gauges.h"

#include <algorithm>

#include "common/metric_names.h"

namespace seaweed::transport {

std::vector<Metrics::Registration> register_agent_gauges(AgentMap& agents, FallbackVolumeReader& reader,
                                                         Metrics& registry) {
  // How many known agents are backing off, and how many are not.
  auto count = [&agents, &reader](bool up) {
    const auto known = agents.volume_servers();
    const auto down = reader.agents_down();
    const auto n_down = std::count_if(known.begin(), known.end(), [&down](const std::string& server) {
      return std::find(down.begin(), down.end(), server) != down.end();
    });
    return static_cast<double>(up ? static_cast<std::ptrdiff_t>(known.size()) - n_down : n_down);
  };
  const char* help = "Volume servers with an RDMA agent, by state (down: backing off after a failure)";
  std::vector<Metrics::Registration> out;
  out.push_back(registry.callback(metric_names::kAgents, help, render_labels({{"state", "up"}}), MetricType::gauge,
                                  [count] { return count(true); }));
  out.push_back(registry.callback(metric_names::kAgents, help, render_labels({{"state", "down"}}), MetricType::gauge,
                                  [count] { return count(false); }));
  return out;
}

}  // namespace seaweed::transport
