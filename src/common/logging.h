// One place to configure spdlog for both binaries.
#pragma once

#include <string>

#include "common/result.h"

namespace seaweed {

// level: "trace".."off", or a glog-style verbosity number ("0".."4", as -v=N). Logs go to stderr.
Status setup_logging(const std::string& program, const std::string& level);

// From now on logs go to syslog (journald reads it) instead of stderr: for a mount that went
// into the background and gave its stderr back. Safe while other threads log.
void log_to_syslog(const std::string& program);

}  // namespace seaweed
