// One place to configure spdlog for both binaries.
#pragma once

#include <string>

#include "common/result.h"

namespace seaweed {

// level: "trace".."off", or a glog-style verbosity number ("0".."4", as -v=N). Logs go to stderr.
Status setup_logging(const std::string& program, const std::string& level);

// From now on logs go to syslog (journald reads it) instead of stderr, for a mount in the
// background; with stderr_warnings, warnings and errors still go to stderr too (while whoever ran
// mount waits for it). Safe while other threads log.
void log_to_syslog(const std::string& program, bool stderr_warnings = false);

}  // namespace seaweed
