#include "fuse/session.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "fuse/lowlevel_ops.h"

namespace seaweed::fuse {
namespace {

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
// fuse_session_new() rebuilds the arguments into a heap copy (fuse_opt_parse), which the caller frees.
struct ArgsDeleter {
  void operator()(fuse_args* args) const { fuse_opt_free_args(args); }
};
struct LoopConfigDeleter {
  void operator()(fuse_loop_config* c) const { fuse_loop_cfg_destroy(c); }
};

// True when something other than an autofs trigger is mounted on path: systemd's automount (and
// autofs) mount an autofs file system there and run mount(8) on first access, which runs us.
bool is_mountpoint(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    // fields: id parent major:minor root mountpoint ... - fstype source options
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    const size_t end = line.find(' ', pos + 1);
    if (line.substr(pos + 1, end - pos - 1) != path) continue;
    if (line.find(" - autofs ") != std::string::npos) continue;
    return true;
  }
  return false;
}

// Buffered readers get 1 MiB READs only when the bdi readahead allows it (the kernel caps a
// buffered READ at the bdi's read_ahead_kb).
void raise_readahead(const std::string& mountpoint, int64_t kb) {
  struct stat st {};
  if (kb <= 0 || ::stat(mountpoint.c_str(), &st) != 0) return;
  const std::string path =
      "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ofstream out(path);
  out << kb;
  if (!out) spdlog::debug("could not set {} (needs root); kernel default readahead stays", path);
}

// fsname is shown in /proc/mounts. libfuse and fusermount3 split options at ',' and both read
// '\\' as an escape: escaping ',' and '\\' keeps a filer list ("a:8888,b:8888") or a path one
// value that can never end the option (",allow_other") or add another, and /proc/mounts shows the
// value as given, so `mount -a` recognises a multi-filer fstab line as mounted.
std::string escape_fsname(std::string_view text) {
  constexpr size_t kMaxBytes = 512;  // the whole option string must fit in one page
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxBytes) break;
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string fuse_mount_options(const MountOptions& options) {
  // subtype: /proc/mounts says fuse.seaweed-rdma-mount, the type fstab and mount -t use.
  std::string o =
      "fsname=" +
      escape_fsname(options.fsname.empty() ? "seaweedfs:" + options.filer + ":" + options.filer_path : options.fsname) +
      ",subtype=seaweed-rdma-mount";
  if (options.default_permissions) o += ",default_permissions";
  if (options.read_only) o += ",ro";
  if (options.allow_others) o += ",allow_other";
  o += options.suid ? ",suid" : ",nosuid";
  o += options.dev ? ",dev" : ",nodev";
  for (const auto& extra : options.fuse_options) o += "," + extra;  // checked by tools/mount_args
  return o;
}

Status check_mountpoint(const std::string& mountpoint) {
  if (mountpoint.empty()) return make_error(EINVAL, "no mountpoint given");
  if (mountpoint.front() != '/') return make_error(EINVAL, "mountpoint must be an absolute path: " + mountpoint);
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOTCONN)
      return make_error(err, "mountpoint " + mountpoint + " is a stale FUSE mount; run: fusermount3 -u " + mountpoint);
    return make_error(err, "mountpoint " + mountpoint + ": " + std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "mountpoint " + mountpoint + " is not a directory");
  if (is_mountpoint(mountpoint))
    return make_error(EBUSY, "mountpoint " + mountpoint + " is busy: something is already mounted there");
  return {};
}

Status run_session(FileSystem& fs, const MountOptions& options, const SessionHooks& hooks) {
  std::string fuse_opts = fuse_mount_options(options);
  std::vector<std::string> words = {"seaweed-rdma-mount", "-o", fuse_opts};
  if (options.debug_fuse) words.emplace_back("-d");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const std::unique_ptr<fuse_args, ArgsDeleter> free_args(&args);  // after the session (declared before it)

  const fuse_lowlevel_ops ops = make_lowlevel_ops();
  std::unique_ptr<fuse_session, SessionDeleter> se(fuse_session_new(&args, &ops, sizeof(ops), &fs));
  if (!se) return make_error(EINVAL, "could not create the FUSE session (bad options: " + fuse_opts + ")");
  if (fuse_set_signal_handlers(se.get()) != 0) return make_error(EIO, "could not install signal handlers");
  if (fuse_session_mount(se.get(), options.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se.get());
    return make_error(EIO,
                      "mounting on " + options.mountpoint + " failed (is /dev/fuse usable and fusermount3 installed?)");
  }
  spdlog::info("mounted {}{} on {}", options.filer, options.filer_path, options.mountpoint);
  fs.set_session(se.get());
  if (hooks.mounted) hooks.mounted();

  // Needs the loop running (stat goes through FUSE), so it runs beside it.
  // Detached: if the loop ends first, the process exit ends it too instead of a join blocking on a stat
  // that nobody will answer.
  std::thread([mp = options.mountpoint, kb = options.read_ahead_kb] { raise_readahead(mp, kb); }).detach();

  std::unique_ptr<fuse_loop_config, LoopConfigDeleter> cfg(fuse_loop_cfg_create());
  fuse_loop_cfg_set_max_threads(cfg.get(), 16);
  fuse_loop_cfg_set_idle_threads(cfg.get(), 4);
  const int rc = fuse_session_loop_mt(se.get(), cfg.get());
  if (hooks.stopping) hooks.stopping();
  fs.set_session(nullptr);
  fuse_session_unmount(se.get());
  fuse_remove_signal_handlers(se.get());
  spdlog::info("unmounted {}", options.mountpoint);
  if (rc < 0) return make_error(-rc, "FUSE loop failed");
  return {};
}

}  // namespace seaweed::fuse
