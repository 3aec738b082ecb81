#include "common/mount_args.h"

#include <array>
#include <string_view>

namespace seaweed {
namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Kernel mount flags that libfuse passes on (lib/mount.c of libfuse 3.14); the atime family
// beyond these means nothing on a read-only mount, so it is ignored.
constexpr std::array<std::string_view, 8> kKernelFlags = {"exec",    "noexec", "async",   "sync",
                                                          "dirsync", "atime",  "noatime", "auto_unmount"};
// Options mount(8) or mount.fuse3 already acted on, or that carry nothing for this mount.
constexpr std::array<std::string_view, 24> kIgnored = {
    "defaults", "auto",       "noauto",      "user",          "users",     "nouser",      "owner",    "noowner",
    "group",    "nogroup",    "_netdev",     "nofail",        "diratime",  "nodiratime",  "relatime", "norelatime",
    "lazytime", "nolazytime", "strictatime", "nostrictatime", "symfollow", "nosymfollow", "loud",     "silent"};
// Ignored with any value: mount(8)'s bookkeeping, SELinux labels, what libfuse sets itself.
constexpr std::array<std::string_view, 11> kIgnoredWithValue = {
    "comment=", "context=",  "fscontext=", "defcontext=", "rootcontext=", "fsname=",
    "subtype=", "max_read=", "blksize=",   "user_id=",    "group_id="};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  for (auto item : list)
    if (item == s) return true;
  return false;
}

}  // namespace

bool invoked_as_mount_helper(const std::string& argv0) { return starts_with(base_name(argv0), "mount."); }

Result<HelperSwitches> strip_helper_switches(const std::vector<std::string>& argv) {
  HelperSwitches out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (i == 0) {
      out.args.push_back(a);
      continue;
    }
    if (a == "-f") {
      out.fake = true;
    } else if (a == "-v") {
      out.verbose = true;
    } else if (a == "-n" || a == "-s") {
      // no mtab / sloppy: nothing to do (there is no mtab; unknown options are errors anyway)
    } else if (a == "-t") {
      if (++i == argv.size()) return make_error(EINVAL, "-t needs a file system type");
    } else if (a == "-N") {
      return make_error(EINVAL, "mounting into another namespace (-N) is not supported");
    } else {
      out.args.push_back(a);
    }
  }
  return out;
}

Result<MountSource> parse_mount_source(const std::string& source) {
  MountSource out;
  if (source.find(':') == std::string::npos) return out;  // "fuse", "seaweedfs", "none": nothing named
  std::string filers = source;
  if (const auto p = source.find(":/"); p != std::string::npos) {
    filers = source.substr(0, p);
    out.path = source.substr(p + 1);
  }
  if (filers.empty()) return make_error(EINVAL, "mount source " + source + " names no filer (HOST:PORT[:/path])");
  size_t start = 0;
  while (start <= filers.size()) {
    const auto comma = filers.find(',', start);
    const std::string one = filers.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (one.empty() || one.find(':') == std::string::npos)
      return make_error(EINVAL, "mount source " + source + ": \"" + one + "\" is not HOST:PORT");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  out.filers = filers;
  return out;
}

Result<bool> apply_standard_option(const std::string& name, const std::string* value, StandardOptions& out) {
  auto flag = [&](std::optional<bool>& field, bool on) -> Result<bool> {
    if (value) return make_error(EINVAL, "mount option " + name + " takes no value");
    field = on;
    return true;
  };
  if (name == "ro") return flag(out.read_only, true);
  if (name == "rw") return flag(out.read_only, false);
  if (name == "suid") return flag(out.suid, true);
  if (name == "nosuid") return flag(out.suid, false);
  if (name == "dev") return flag(out.dev, true);
  if (name == "nodev") return flag(out.dev, false);
  if (name == "default_permissions") return flag(out.default_permissions, true);
  if (name == "allow_other" || name == "allow_root") {
    if (value) return make_error(EINVAL, "mount option " + name + " takes no value");
    (name == "allow_other" ? out.allow_other : out.allow_root) = true;
    return true;
  }
  if (name == "setuid" || name == "drop_privileges")
    return make_error(EINVAL, "mount option " + name +
                                  " is mount.fuse3's: it works when mount.fuse3 starts this program (file system "
                                  "type fuse.seaweed-rdma-mount without the mount.fuse.seaweed-rdma-mount link)");
  if (contains(kKernelFlags, name)) {
    if (value) return make_error(EINVAL, "mount option " + name + " takes no value");
    if (name == "exec" || name == "noexec") out.exec = name == "exec";
    out.kernel_flags.push_back(name);
    return true;
  }
  if (starts_with(name, "x-") || (!value && contains(kIgnored, name)) ||
      (value && contains(kIgnoredWithValue, name + "="))) {
    out.ignored.push_back(value ? name + "=" + *value : name);
    return true;
  }
  return false;
}

}  // namespace seaweed
