#include "tools/stats_command.h"

#include <iostream>

#include "common/flags.h"
#include "stats/mount_stats.h"
#include "stats/stats_client.h"

namespace seaweed::tools {

int run_stats_command(int argc, char** argv) {
  constexpr char kSynopsis[] = "stats MOUNTPOINT [-json]";
  bool as_json = false;
  FlagSet flags("seaweed-rdma-mount");
  flags.add_bool("json", &as_json, "print the stats as JSON (the same fields as the table, for scripts)");
  if (auto s = flags.parse(argc, argv); !s) {
    std::cerr << "seaweed-rdma-mount stats: " << s.error().message << "\n" << flags.usage(kSynopsis);
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.usage(kSynopsis);
    return 0;
  }
  if (flags.positional().size() != 1) {
    std::cerr << "seaweed-rdma-mount stats: give one MOUNTPOINT\n" << flags.usage(kSynopsis);
    return 2;
  }
  auto stats = stats::fetch_mount_stats(flags.positional()[0]);
  if (!stats.ok()) {
    std::cerr << "seaweed-rdma-mount stats: " << stats.error().message << "\n";
    return 1;
  }
  if (as_json)
    std::cout << stats->dump(2) << "\n";
  else
    std::cout << stats::format_table(*stats);
  return 0;
}

}  // namespace seaweed::tools
