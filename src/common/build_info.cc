#include "common/build_info.h"

#include "build_version.h"  // generated: SEAWEED_GIT (src/common/build_version.cmake)

namespace seaweed {

const BuildInfo& build_info() {
  static const BuildInfo info {
    SEAWEED_VERSION, SEAWEED_GIT,
#if defined(__clang__)
        std::string("clang ") + __clang_version__,
#elif defined(__GNUC__)
        std::string("gcc ") + __VERSION__,
#else
        "unknown",
#endif
        SEAWEED_BUILD_TYPE,
  };
  return info;
}

std::string version_line() {
  const auto& b = build_info();
  return b.version + " (git " + b.git + ", " + b.build_type + ")";
}

}  // namespace seaweed
