// What this binary was built from: the project version, the git commit (`git describe --always
// --dirty` at build time; "unknown" outside a git checkout), the compiler and the build type.
#pragma once

#include <string>

namespace seaweed {

struct BuildInfo {
  std::string version;
  std::string git;
  std::string compiler;
  std::string build_type;
};

const BuildInfo& build_info();

// "0.1.0 (git 7ceab6e, RelWithDebInfo)", for -version.
std::string version_line();

}  // namespace seaweed
