// seaweed_mount_agents{state="up"|"down"}: volume servers with a known agent (AgentMap) and
// whether the fallback policy is backing off from it (FallbackVolumeReader), read at scrape time.
#pragma once

#include <vector>

#include "common/metrics.h"
#include "transport/agent_map.h"
#include "transport/fallback_volume_reader.h"

namespace seaweed::transport {

// Keep the registrations no longer than agents and reader.
[[nodiscard]] std::vector<Metrics::Registration> register_agent_gauges(AgentMap& agents, FallbackVolumeReader& reader,
                                                                       Metrics& registry = Metrics::global());

}  // namespace seaweed::transport
