// The standard process_* metrics of Prometheus clients (resident and virtual memory, CPU
// seconds, open and maximum file descriptors, start time) plus process_threads, read from
// /proc/self at scrape time, and seaweed_build_info.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"

namespace seaweed {

struct ProcessStat {
  double cpu_seconds = 0;  // user + system
  uint64_t threads = 0;
  uint64_t virtual_bytes = 0;
  uint64_t resident_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Parses the text of /proc/<pid>/stat (proc(5)): fields after the parenthesised command name,
// which may itself hold spaces and parentheses. ticks_per_second = sysconf(_SC_CLK_TCK), boot_time
// = the btime line of /proc/stat.
std::optional<ProcessStat> parse_proc_stat(std::string_view text, double ticks_per_second, uint64_t page_size,
                                           uint64_t boot_time_seconds);

// Adds the process_* series to registry, as long as the registrations live.
[[nodiscard]] std::vector<Metrics::Registration> add_process_metrics(Metrics& registry);
// The same in Metrics::global() for the life of the process (once; later calls do nothing).
void register_process_metrics();

// Registers `seaweed_build_info{program,version,git,compiler,build_type} 1` (see build_info.h).
void register_build_info(const std::string& program, Metrics& registry = Metrics::global());

}  // namespace seaweed
