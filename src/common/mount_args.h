// How mount(8), mount.fuse3 and fstab hand a FUSE file system its arguments, and what the
// standard mount options mean for this mount (docs/MOUNTING.md tells the whole story):
//   mount(8) with the helper link:  mount.fuse.seaweed-rdma-mount SOURCE DIR [-f] [-n] [-s] [-v] [-o OPTS] [-t TYPE]
//   mount.fuse3 (fuse.TYPE types):  seaweed-rdma-mount SOURCE DIR -o OPTS
//   by hand:                         seaweed-rdma-mount -filer=HOST:PORT [flags] DIR
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace seaweed {

// True when argv[0]'s file name is mount.fuse.NAME or mount.NAME: mount(8) runs the program as
// its helper.
bool invoked_as_mount_helper(const std::string& argv0);

struct HelperSwitches {
  std::vector<std::string> args;  // argv without mount(8)'s own switches (argv[0] kept)
  bool fake = false;              // -f: check everything, mount nothing
  bool verbose = false;           // -v
};
// Removes the switches mount(8) gives a helper: -f (fake), -n (no mtab), -s (sloppy),
// -v (verbose), -t TYPE and -N NAMESPACE (refused: not supported). -o stays.
Result<HelperSwitches> strip_helper_switches(const std::vector<std::string>& argv);

// SOURCE of a mount: "HOST:PORT[,HOST:PORT...][:/path]". A word without a colon ("fuse",
// "seaweedfs", "none", as in weed's fstab lines) names nothing: filer= and filer.path= come
// from the options then.
struct MountSource {
  std::string filers;  // "a:8888,b:8888"; empty when the source names none
  std::string path;    // "/data"; empty when not given
};
Result<MountSource> parse_mount_source(const std::string& source);

// The standard mount(8) and FUSE options, as they arrive in -o. Every one is either honoured
// (mapped onto the mount) or ignored as mount(8) expects (it handled them already).
struct StandardOptions {
  std::optional<bool> read_only;            // ro / rw
  std::optional<bool> suid, dev, exec;      // (no)suid, (no)dev, (no)exec
  bool allow_other = false;                 // allow_other
  bool allow_root = false;                  // allow_root
  std::optional<bool> default_permissions;  // default_permissions
  std::vector<std::string> kernel_flags;    // atime family, sync/async/dirsync: passed to the kernel
  std::vector<std::string> ignored;         // auto, noauto, user(s), _netdev, nofail, defaults, x-*, ...
};

// Consumes name (value: nullptr for a bare word) when it is a standard option. Errors for a
// standard option with a value it cannot take (e.g. "ro=1").
Result<bool> apply_standard_option(const std::string& name, const std::string* value, StandardOptions& out);

}  // namespace seaweed
