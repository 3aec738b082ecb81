// seaweed-rdma-mount: flag parsing and wiring only.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/flags.h"
#include "common/logging.h"
#include "filer/filer_client.h"
#include "fuse/filesystem.h"
#include "fuse/session.h"
#include "transport/http/http_volume_reader.h"

#ifndef SEAWEED_VERSION
#define SEAWEED_VERSION "0.1.0"
#endif

namespace {

constexpr char kSynopsis[] = "-filer=HOST:PORT[.GRPCPORT] [-filer.path=/] [flags] [-dir=]MOUNTPOINT";

int fail(const seaweed::Error& e) {
  spdlog::error("{}", e.message);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  seaweed::fuse::MountOptions opt;
  std::string dir, log_level = "info", verbosity;
  bool version = false, read_only = true;
  seaweed::FlagSet flags("seaweed-rdma-mount");
  flags.add_string("filer", &opt.filer, "filer address HOST:PORT (gRPC at PORT+10000) or HOST:PORT.GRPCPORT");
  flags.add_string("filer.path", &opt.filer_path, "filer directory to mount");
  flags.add_string("dir", &dir, "mountpoint (or give it as the last argument)");
  flags.add_bool("readOnly", &read_only, "read-only mount (the only mode for now)");
  flags.add_bool("allowOthers", &opt.allow_others, "let other users access the mount (allow_other)");
  flags.add_int("cacheCapacityMB", &opt.cache_capacity_mb, "memory for decoded chunks shared by all files");
  flags.add_int("cacheMetaTtlSec", &opt.cache_meta_ttl_sec, "seconds the kernel and the mount keep attributes");
  flags.add_int("readAheadKB", &opt.read_ahead_kb, "kernel readahead for the mount (0 keeps the kernel default)");
  flags.add_int("volumeTimeoutMs", &opt.http_timeout_ms, "timeout of one volume server request");
  flags.add_string("jwt.signing.read.key", &opt.jwt_read_key, "HMAC key for volume server read JWTs, if required");
  flags.add_bool("debug.fuse", &opt.debug_fuse, "log every FUSE request (libfuse -d)");
  flags.add_string("logLevel", &log_level, "log level: trace, debug, info, warn, error");
  flags.add_string("v", &verbosity, "verbosity 0-4 like weed's -v (overrides -logLevel)");
  flags.add_bool("version", &version, "print the version and exit");

  if (auto s = flags.parse(argc, argv); !s) {
    std::cerr << "seaweed-rdma-mount: " << s.error().message << "\n" << flags.usage(kSynopsis);
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.usage(kSynopsis);
    return 0;
  }
  if (version) {
    std::cout << "seaweed-rdma-mount " << SEAWEED_VERSION << "\n";
    return 0;
  }
  if (auto s = seaweed::setup_logging("mount", verbosity.empty() ? log_level : verbosity); !s) {
    std::cerr << "seaweed-rdma-mount: " << s.error().message << "\n";
    return 2;
  }
  if (!read_only) {
    std::cerr << "seaweed-rdma-mount: -readOnly=false is not supported yet: this mount is read-only\n";
    return 2;
  }
  const auto& pos = flags.positional();
  if (pos.size() > 1 || (pos.size() == 1 && !dir.empty())) {
    std::cerr << "seaweed-rdma-mount: too many arguments\n" << flags.usage(kSynopsis);
    return 2;
  }
  if (pos.size() == 1) dir = pos[0];
  if (dir.empty()) {
    std::cerr << "seaweed-rdma-mount: no mountpoint given\n" << flags.usage(kSynopsis);
    return 2;
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(dir, ec);
  opt.mountpoint = ec ? dir : absolute.lexically_normal().string();
  if (opt.mountpoint.size() > 1 && opt.mountpoint.back() == '/') opt.mountpoint.pop_back();
  if (opt.filer_path.empty() || opt.filer_path.front() != '/') opt.filer_path = "/" + opt.filer_path;
  while (opt.filer_path.size() > 1 && opt.filer_path.back() == '/') opt.filer_path.pop_back();

  if (auto s = seaweed::fuse::check_mountpoint(opt.mountpoint); !s) return fail(s.error());
  auto address = seaweed::filer::FilerAddress::parse(opt.filer);
  if (!address.ok()) return fail(address.error());
  auto filer = seaweed::filer::FilerClient::connect(*address);
  if (!filer.ok()) return fail(filer.error());
  spdlog::info("filer {} (version {}, cipher {})", address->http(), (*filer)->configuration().version(),
               (*filer)->configuration().cipher());

  seaweed::transport::HttpOptions http_options;
  http_options.request_timeout_ms = opt.http_timeout_ms;
  http_options.jwt_read_key = opt.jwt_read_key;
  seaweed::transport::HttpVolumeReader http(http_options);

  seaweed::fuse::FileSystem fs(opt, **filer, http);
  if (auto s = fs.check_root(); !s) return fail(s.error());
  if (auto s = seaweed::fuse::run_session(fs, opt); !s) return fail(s.error());
  return 0;
}
