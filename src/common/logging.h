// One place to configure spdlog for both binaries.
#pragma once

#include <string>

#include "common/result.h"

namespace seaweed {

// level: "trace".."off", or a glog-style verbosity number ("0".."4", as -v=N).
Status setup_logging(const std::string& program, const std::string& level);

}  // namespace seaweed
