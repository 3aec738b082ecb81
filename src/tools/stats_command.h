// `seaweed-rdma-mount stats MOUNTPOINT [-json]`: the live stats of a running mount.
#pragma once

namespace seaweed::tools {

// argv[0] is "stats". Exit codes: 0 printed, 1 not a live seaweed-rdma-mount mount, 2 usage.
int run_stats_command(int argc, char** argv);

}  // namespace seaweed::tools
