// seaweed-rdma-mount: flag parsing and wiring only.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/build_info.h"
#include "common/daemon.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/metric_names.h"
#include "common/mount_args.h"
#include "common/process_metrics.h"
#include "common/sd_notify.h"
#include "common/security_config.h"
#include "common/weed_mount_flags.h"
#include "filer/channel_credentials.h"
#include "filer/filer_client.h"
#include "fuse/attribute_policy.h"
#include "fuse/filesystem.h"
#include "fuse/filesystem_metrics.h"
#include "fuse/mountpoint.h"
#include "fuse/session.h"
#include "fuse/snapshot_ioctl.h"
#include "tools/stats_command.h"
#include "transport/agent_gauges.h"
#include "transport/agent_map.h"
#include "transport/disk/disk_chunk_cache.h"
#include "transport/fallback_volume_reader.h"
#include "transport/http/http_volume_reader.h"
#include "transport/http/jwt.h"
#include "transport/ucx/agent_client.h"
#include "web/http_server.h"

namespace {

constexpr char kSynopsis[] =
    "-filer=HOST:PORT[.GRPCPORT][,HOST:PORT...] [-filer.path=/] [flags] [-dir=]MOUNTPOINT\n"
    "       seaweed-rdma-mount SOURCE MOUNTPOINT [-o OPTIONS]    (SOURCE = HOST:PORT[,HOST:PORT...][:/path], or\n"
    "                                                         \"fuse\" with filer= in OPTIONS; how mount(8) runs it)";

// The UCX client of one agent; it connects lazily, on the first read.
std::shared_ptr<seaweed::transport::VolumeReader> connect_agent(
    const std::string& address, const seaweed::transport::ucx::AgentClientOptions& options) {
  spdlog::info("reading through RDMA agent {}", address);
  return std::make_shared<seaweed::transport::ucx::AgentVolumeReader>(address, options);
}

// Where a startup failure goes: to the waiting parent in background mode (it prints the line),
// else to the log.
seaweed::ReadinessPipe* g_readiness = nullptr;

int fail(const seaweed::Error& e) {
  if (g_readiness && g_readiness->active())
    g_readiness->fail(e.message);
  else
    spdlog::error("{}", e.message);
  return 1;
}

// The -cacheDir subdirectory of a cluster: file ids are only unique within one. Mounts of the
// same cluster share it (entries are immutable and written by rename; each mount keeps it within
// its own bound), so a remount anywhere finds what an earlier mount fetched.
std::string disk_cache_name(const filer_pb::GetFilerConfigurationResponse& config) {
  std::string cluster = config.cluster_id();
  if (cluster.empty())
    for (const auto& m : config.masters()) cluster += m + ",";
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : cluster) h = (h ^ c) * 1099511628211ull;
  char name[48];
  std::snprintf(name, sizeof name, "seaweed-rdma-mount-%016llx", static_cast<unsigned long long>(h));
  return name;
}

int usage_error(const std::string& message, const seaweed::FlagSet& flags) {
  std::cerr << "seaweed-rdma-mount: " << message << "\n" << flags.usage(kSynopsis);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "stats") return seaweed::tools::run_stats_command(argc - 1, argv + 1);
  // mount(8) runs /sbin/mount.fuse.seaweed-rdma-mount SOURCE DIR [-f -n -s -v] [-o OPTS] [-t TYPE].
  std::vector<std::string> args(argv, argv + argc);
  const bool helper_name = seaweed::invoked_as_mount_helper(args[0]);
  bool fake = false;
  if (helper_name) {
    auto stripped = seaweed::strip_helper_switches(args);
    if (!stripped.ok()) {
      std::cerr << "seaweed-rdma-mount: " << stripped.error().message << "\n";
      return 2;
    }
    args = std::move(stripped->args);
    fake = stripped->fake;
  }

  seaweed::fuse::MountOptions opt;
  opt.allow_others = true;  // as weed mount
  std::string dir, log_level = "info", verbosity, security_config, jwt_read_key_flag;
  seaweed::LogOptions log_options;
  bool version = false, read_only = true, verify_reads = true, foreground = false;
  bool rdma_enabled = true, rdma_fallback = true;
  std::string rdma_agents, rdma_sidecar;
  bool subscribe = true, rdma_peer_errors = true;
  int64_t rdma_busy_poll_us = 100;
  int64_t rdma_max_concurrent = 64, rdma_timeout_ms = 5000, metrics_port = 0;
  std::string umask_text = "022", options_file, uid_map, gid_map, volume_server_access = "direct", cache_dir;
  int64_t cache_dir_size_mb = 1024;
  bool nonempty = false, dir_auto_create = false, autofs = false;
  seaweed::FlagSet flags("seaweed-rdma-mount");
  flags.add_string("filer", &opt.filer,
                   "filer address HOST:PORT (gRPC at PORT+10000) or HOST:PORT.GRPCPORT; several, comma separated, "
                   "are tried in turn");
  flags.add_string("filer.path", &opt.filer_path, "filer directory to mount");
  flags.add_string("dir", &dir, "mountpoint (or give it as the last argument)");
  flags.add_bool("readOnly", &read_only, "read-only mount (the only mode for now)");
  flags.add_bool("allowOthers", &opt.allow_others, "let other users access the mount (allow_other), as weed mount");
  flags.add_bool("defaultPermissions", &opt.default_permissions,
                 "the kernel checks permissions against the files' modes (default_permissions)");
  flags.add_bool("foreground", &foreground,
                 "stay in the foreground (default: in the background when run by mount(8)/mount.fuse3 as "
                 "SOURCE MOUNTPOINT, in the foreground otherwise)");
  flags.add_bool("dirAutoCreate", &dir_auto_create, "create the mountpoint if it does not exist");
  flags.add_bool("nonempty", &nonempty, "mount over a directory that is not empty without a warning");
  flags.add_bool("autofs", &autofs, "accepted for weed mount; an autofs trigger on the mountpoint is always accepted");
  flags.add_string("umask", &umask_text, "octal umask for the mode of the mount root, as weed mount");
  flags.add_string("map.uid", &uid_map, "local_uid:filer_uid,... : show files of filer_uid as local_uid (weed mount)");
  flags.add_string("map.gid", &gid_map, "local_gid:filer_gid,... : show files of filer_gid as local_gid (weed mount)");
  flags.add_string("volumeServerAccess", &volume_server_access,
                   "how reads reach volume servers: direct (their url), publicUrl, or filerProxy (through the filer, "
                   "for clients that cannot reach volume servers; RDMA agents are not used then)");
  flags.add_string("cacheDir", &cache_dir,
                   "directory for an on-disk chunk cache kept across remounts (CRC-checked; default: none)");
  flags.add_int("cacheDirSizeMB", &cache_dir_size_mb, "bound of the -cacheDir chunk cache");
  flags.add_string("options", &options_file, "a file of flags, one name=value a line (the command line wins)");
  flags.add_bool("suid", &opt.suid, "honour setuid/setgid bits (root only; default nosuid; also -o suid)");
  flags.add_bool("dev", &opt.dev, "honour device files (root only; default nodev; also -o dev)");
  flags.add_int("cacheCapacityMB", &opt.cache_capacity_mb, "memory for decoded chunks shared by all files");
  flags.add_int("cacheMetaTtlSec", &opt.cache_meta_ttl_sec, "seconds the kernel and the mount keep attributes");
  flags.add_int("cacheMetaMB", &opt.cache_meta_mb,
                "memory for cached metadata (entries, directory listings, file layouts; least recently used go)");
  flags.add_int("readAheadKB", &opt.read_ahead_kb, "kernel readahead for the mount (0 keeps the kernel default)");
  flags.add_int("prefetchMB", &opt.prefetch_mb, "memory for readahead of sequential readers, all files together");
  flags.add_int("prefetchBlocks", &opt.prefetch_blocks, "1 MiB blocks fetched ahead of one sequential reader (0: off)");
  flags.add_int("prefetchThreads", &opt.prefetch_threads, "threads fetching readahead blocks");
  flags.add_int("volumeTimeoutMs", &opt.http_timeout_ms, "timeout of one volume server request");
  flags.add_string("security.config", &security_config,
                   "security.toml to read (default: weed's search path ./, $HOME/.seaweedfs/, "
                   "/usr/local/etc/seaweedfs/, /etc/seaweedfs/; WEED_* environment variables override it)");
  flags.add_string("jwt.signing.read.key", &jwt_read_key_flag,
                   "deprecated: visible to every local user in /proc/PID/cmdline; use [jwt.signing.read] key in "
                   "security.toml or WEED_JWT_SIGNING_READ_KEY");
  flags.add_bool("verifyReads", &verify_reads,
                 "check every byte read over HTTP against the needle's CRC-32C; false only to measure its cost");
  flags.add_bool("subscribeMetadata", &subscribe, "follow the filer's metadata events to keep caches coherent");
  flags.add_bool("debug.fuse", &opt.debug_fuse, "log every FUSE request (libfuse -d)");
  flags.add_bool("rdma.enabled", &rdma_enabled, "read through RDMA agents where one serves the volume server");
  flags.add_string("rdma.agents", &rdma_agents,
                   "VOLSERVER=AGENTHOST:PORT,... (default: agents registered in the filer's KV store)");
  flags.add_bool("rdma.fallback", &rdma_fallback, "on any agent failure read the same bytes over HTTP");
  flags.add_int("rdma.maxConcurrent", &rdma_max_concurrent, "requests in flight per agent connection");
  flags.add_int("rdma.timeoutMs", &rdma_timeout_ms, "timeout of one agent request");
  flags.add_int("rdma.busyPollUs", &rdma_busy_poll_us, "microseconds to spin on the UCX worker before sleeping");
  flags.add_bool("rdma.peerErrorHandling", &rdma_peer_errors,
                 "UCX peer error handling on agent connections; must match the agent's -ucx.peerErrorHandling "
                 "(false lets UCX 1.13 use cma on one host: the mount pulls bytes, the agent's CPU stays idle)");
  flags.add_string("rdma.sidecar", &rdma_sidecar,
                   "accepted for compatibility with weed mount; agents are found via -rdma.agents or the filer");
  flags.add_int("metricsPort", &metrics_port, "serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: off)");
  flags.add_string("logLevel", &log_level, "log level: trace, debug, info, warn, error");
  flags.add_string("v", &verbosity, "verbosity 0-4 like weed's -v (overrides -logLevel)");
  seaweed::add_log_output_flags(flags, log_options);
  flags.add_bool("version", &version, "print the version and exit");
  seaweed::add_ignored_weed_mount_flags(flags);
  // mount(8)'s and FUSE's standard options (-o ro,noatime,allow_other,_netdev,...).
  seaweed::StandardOptions standard;
  flags.set_option_filter([&standard](const std::string& name, const std::string* value) {
    return seaweed::apply_standard_option(name, value, standard);
  });

  std::vector<char*> arg_ptrs;
  for (auto& a : args) arg_ptrs.push_back(a.data());
  if (auto s = flags.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data()); !s)
    return usage_error(s.error().message, flags);
  if (flags.help_requested()) {
    std::cout << flags.usage(kSynopsis);
    return 0;
  }
  if (version) {
    std::cout << "seaweed-rdma-mount " << seaweed::version_line() << "\n";
    return 0;
  }
  if (!options_file.empty()) {
    // As weed: names this program does not know are skipped, the command line wins.
    if (auto s = flags.parse_options_file(options_file, true); !s) return usage_error(s.error().message, flags);
  }
  if (!read_only) return usage_error("-readOnly=false is not supported yet: this mount is read-only", flags);

  // SOURCE MOUNTPOINT (mount(8), mount.fuse3, fstab) or MOUNTPOINT alone.
  const auto& pos = flags.positional();
  std::string source;
  if (pos.size() > 2 || (pos.size() == 2 && !dir.empty()) || (pos.size() == 1 && !dir.empty()))
    return usage_error("too many arguments", flags);
  if (pos.size() == 2) {
    source = pos[0];
    dir = pos[1];
  } else if (pos.size() == 1) {
    dir = pos[0];
  }
  if (dir.empty()) return usage_error("no mountpoint given", flags);
  const bool helper_form = helper_name || pos.size() == 2;
  if (!source.empty()) {
    auto parsed = seaweed::parse_mount_source(source);
    if (!parsed.ok()) return usage_error(parsed.error().message, flags);
    if (!parsed->filers.empty() && !flags.was_set("filer")) opt.filer = parsed->filers;
    if (!parsed->path.empty() && !flags.was_set("filer.path")) opt.filer_path = parsed->path;
    opt.fsname = source;  // /proc/mounts then shows what fstab says: `mount -a` sees it mounted
  }
  if (standard.allow_other) opt.allow_others = true;
  if (standard.allow_root) {
    opt.allow_others = false;  // libfuse: allow_root is allow_other checked for root only
    opt.fuse_options.emplace_back("allow_root");
  }
  if (standard.default_permissions) opt.default_permissions = true;
  if (standard.suid) opt.suid = *standard.suid;
  if (standard.dev) opt.dev = *standard.dev;
  for (const auto& f : standard.kernel_flags) opt.fuse_options.push_back(f);
  if ((opt.suid || opt.dev) && ::geteuid() != 0) return usage_error("-o suid and -o dev need root", flags);
  {
    char* end = nullptr;
    const unsigned long umask = std::strtoul(umask_text.c_str(), &end, 8);
    if (umask_text.empty() || *end != '\0' || umask > 0777)
      return usage_error("invalid -umask \"" + umask_text + "\": want an octal number such as 022", flags);
    opt.umask = static_cast<uint32_t>(umask);
  }
  for (const auto* map : {&uid_map, &gid_map}) {
    if (auto parsed = seaweed::fuse::IdMap::parse(*map); !parsed.ok())
      return usage_error((map == &uid_map ? "-map.uid: " : "-map.gid: ") + parsed.error().message, flags);
  }

  std::error_code ec;
  auto absolute = std::filesystem::absolute(dir, ec);
  opt.mountpoint = ec ? dir : absolute.lexically_normal().string();
  if (opt.mountpoint.size() > 1 && opt.mountpoint.back() == '/') opt.mountpoint.pop_back();
  if (opt.filer_path.empty() || opt.filer_path.front() != '/') opt.filer_path = "/" + opt.filer_path;
  while (opt.filer_path.size() > 1 && opt.filer_path.back() == '/') opt.filer_path.pop_back();
  auto explicit_agents = seaweed::transport::AgentMap::parse(rdma_agents);
  if (!explicit_agents.ok()) return usage_error(explicit_agents.error().message, flags);
  auto filer_addresses = seaweed::filer::FilerAddress::parse_list(opt.filer);
  if (!filer_addresses.ok()) return usage_error(filer_addresses.error().message, flags);
  auto volume_access = seaweed::filer::parse_volume_access(volume_server_access);
  if (!volume_access.ok()) return usage_error(volume_access.error().message, flags);
  const bool filer_proxy = *volume_access == seaweed::filer::VolumeAccess::kFilerProxy;
  if (!cache_dir.empty()) cache_dir = std::filesystem::absolute(cache_dir, ec).lexically_normal().string();
  // Logging starts no thread (stderr, syslog, file): it can be set up before the fork.
  log_options.level = verbosity.empty() ? log_level : verbosity;
  if (auto s = seaweed::setup_logging("mount", log_options); !s) return usage_error(s.error().message, flags);
  // A backgrounded mount that would log to stderr logs to syslog instead; -logTo/-logFile win.
  const bool logs_to_stderr = log_options.file.empty() && (log_options.to.empty() || log_options.to == "stderr");
  if (fake) return 0;  // mount -f: the arguments are fine, mount nothing

  // Background under mount(8)/mount.fuse3, unless told otherwise or supervised by systemd
  // (Type=notify wants its main process to stay). Fork now, before anything starts a thread.
  const bool background = flags.was_set("foreground") ? !foreground : helper_form && !seaweed::notify_socket_set();
  seaweed::ReadinessPipe readiness;
  if (background) {
    auto forked = seaweed::fork_into_background("seaweed-rdma-mount");
    if (!forked.ok()) {
      std::cerr << "seaweed-rdma-mount: " << forked.error().message << "\n";
      return 1;
    }
    if (forked->is_parent) return forked->exit_code;
    readiness = std::move(forked->pipe);
    g_readiness = &readiness;
  }

  // In the background the log goes to syslog; whoever runs mount sees warnings and the one-line
  // error (through the parent), as mount helpers are quiet when all is well.
  if (readiness.active() && logs_to_stderr) seaweed::log_to_syslog("mount", /*stderr_warnings=*/true);
  if (const auto warning = seaweed::ignored_flags_warning(flags); !warning.empty()) spdlog::warn("{}", warning);
  if (standard.read_only == false) spdlog::warn("mount option rw: this mount is read-only, mounting ro");
  if (!standard.ignored.empty()) {
    std::string ignored;
    for (const auto& o : standard.ignored) ignored += (ignored.empty() ? "" : ",") + o;
    spdlog::debug("mount options for mount(8), not for this program: {}", ignored);
  }

  if (dir_auto_create) {
    std::filesystem::create_directories(opt.mountpoint, ec);
    if (ec) return fail(seaweed::make_error(ec.value(), "creating mountpoint " + opt.mountpoint + ": " + ec.message()));
  }
  if (auto s = seaweed::fuse::check_mountpoint(opt.mountpoint); !s) return fail(s.error());
  if (!nonempty) seaweed::fuse::warn_if_not_empty(opt.mountpoint);
  auto policy = seaweed::fuse::weed_attribute_policy(opt.mountpoint, opt.umask, uid_map, gid_map);
  if (!policy.ok()) return fail(policy.error());
  seaweed::fuse::set_attribute_policy(std::move(policy.value()));
  // The cluster's security settings, found the way weed finds them.
  auto security = seaweed::load_security_config(security_config);
  if (!security.ok()) return fail(security.error());
  if (!jwt_read_key_flag.empty()) {
    spdlog::warn(
        "-jwt.signing.read.key is deprecated: every local user can read it in /proc/{}/cmdline; put it in "
        "security.toml ([jwt.signing.read] key) or WEED_JWT_SIGNING_READ_KEY",
        ::getpid());
    security->jwt_read_key = jwt_read_key_flag;
  }
  if (security->grpc_tls_partial())
    spdlog::warn(
        "security config {}: [grpc] ca, [grpc.client] cert and key must all be set for TLS; dialling the "
        "filer in plain text",
        security->source);
  auto credentials = seaweed::filer::filer_channel_credentials(*security);
  if (!credentials.ok()) return fail(credentials.error());
  seaweed::filer::FilerClientOptions filer_options;
  filer_options.credentials = *credentials;
  filer_options.volume_access = *volume_access;
  auto filer = seaweed::filer::FilerClient::connect(filer_addresses.value(), filer_options);
  if (!filer.ok()) return fail(filer.error());
  spdlog::info("filer {} (version {}, cipher {})", (*filer)->address().http(), (*filer)->configuration().version(),
               (*filer)->configuration().cipher());
  spdlog::info("security config: {} (read JWT {}, filer gRPC {})",
               security->source.empty() ? "none found" : security->source,
               security->jwt_read_key.empty() ? "off" : "on", security->grpc_tls() ? "mutual TLS" : "plain text");

  seaweed::transport::HttpOptions http_options;
  http_options.request_timeout_ms = opt.http_timeout_ms;
  http_options.jwt_read_key = security->jwt_read_key;
  http_options.jwt_read_expires_sec = security->jwt_read_expires_sec;
  http_options.verify = verify_reads;
  if (!verify_reads) spdlog::warn("-verifyReads=false: bytes read over HTTP are NOT checked (benchmark use only)");
  http_options.filer_proxy = filer_proxy;
  if (filer_proxy && rdma_enabled) {
    spdlog::info("-volumeServerAccess=filerProxy: chunks are read through the filer over HTTP, not from RDMA agents");
    rdma_enabled = false;
  }
  seaweed::transport::HttpVolumeReader http(http_options);

  seaweed::filer::FilerClient& filer_client = **filer;
  seaweed::transport::AgentMap agents(
      std::move(explicit_agents.value()), [&filer_client](const std::string& key) { return filer_client.kv_get(key); },
      [&](const std::string& address) {
        seaweed::transport::ucx::AgentClientOptions options;
        options.timeout_ms = static_cast<int>(rdma_timeout_ms);
        options.max_in_flight = static_cast<size_t>(std::max<int64_t>(1, rdma_max_concurrent));
        options.busy_poll_us = static_cast<int>(std::max<int64_t>(0, rdma_busy_poll_us));
        options.peer_error_handling = rdma_peer_errors;
        options.jwt_read_key = security->jwt_read_key;  // agents enforce the volume servers' read JWT too
        return connect_agent(address, options);
      });
  seaweed::transport::FallbackOptions fallback_options;
  fallback_options.fallback = rdma_fallback;
  seaweed::transport::FallbackVolumeReader transport(
      http, [&](const std::string& volume_server) { return rdma_enabled ? agents.agent_for(volume_server) : nullptr; },
      fallback_options);

  std::unique_ptr<seaweed::web::HttpServer> metrics;
  if (metrics_port > 0) {
    auto started = seaweed::web::start_metrics_server("127.0.0.1", static_cast<int>(metrics_port));
    if (!started.ok()) return fail(started.error());
    metrics = std::move(started.value());
  }
  // Always collected (the stats command reads them through the mount), served when -metricsPort.
  seaweed::register_build_info("mount");
  seaweed::register_process_metrics();
  seaweed::Metrics::global()
      .gauge(seaweed::metric_names::kMountInfo, "What this process mounts (always 1)",
             seaweed::render_labels(
                 {{"mountpoint", opt.mountpoint}, {"filer", opt.filer}, {"filer_path", opt.filer_path}}))
      .set(1);

  // -cacheDir: chunks on local disk in front of the network (agent or HTTP).
  std::unique_ptr<seaweed::transport::DiskChunkCache> disk_cache;
  std::vector<seaweed::Metrics::Registration> disk_cache_metrics;  // declared after the cache: gone first
  std::unique_ptr<seaweed::transport::DiskCachingVolumeReader> disk_reads;
  seaweed::transport::VolumeReader* reads = &transport;
  if (!cache_dir.empty() && cache_dir_size_mb > 0) {
    const std::string dir = cache_dir + "/" + disk_cache_name(filer_client.configuration());
    auto opened = seaweed::transport::DiskChunkCache::open({dir, static_cast<uint64_t>(cache_dir_size_mb) << 20});
    if (!opened.ok()) return fail(opened.error().context("-cacheDir"));
    disk_cache = std::move(opened.value());
    const auto kept = disk_cache->stats();
    spdlog::info("disk cache {}: {} MiB bound, {} chunks ({} MiB) kept from before", dir, cache_dir_size_mb,
                 kept.entries, kept.bytes >> 20);
    disk_reads = std::make_unique<seaweed::transport::DiskCachingVolumeReader>(transport, *disk_cache);
    auto* cache = disk_cache.get();
    disk_cache_metrics.push_back(seaweed::Metrics::global().callback(
        seaweed::metric_names::kDiskCacheBytes, "Bytes of chunks held by the -cacheDir tier", "",
        seaweed::MetricType::gauge, [cache] { return static_cast<double>(cache->stats().bytes); }));
    disk_cache_metrics.push_back(seaweed::Metrics::global().callback(
        seaweed::metric_names::kDiskCacheEntries, "Chunks held by the -cacheDir tier", "", seaweed::MetricType::gauge,
        [cache] { return static_cast<double>(cache->stats().entries); }));
    reads = disk_reads.get();
  }

  seaweed::fuse::FileSystem fs(opt, filer_client, *reads);
  // What the snapshot ioctl tells processes that read this mount's files themselves (docs/PRELOAD.md).
  seaweed::fuse::SnapshotIoctlConfig snapshot_config;
  snapshot_config.agent_address = [&](const std::string& volume_server) -> std::string {
    auto* agent = dynamic_cast<seaweed::transport::ucx::AgentVolumeReader*>(agents.agent_for(volume_server).get());
    return agent ? agent->address() : std::string();
  };
  if (!security->jwt_read_key.empty()) {
    // Tokens for the client library live as long as the daemon's own HTTP ones: [jwt.signing.read]
    // expires_after_seconds (docs/PRELOAD.md, "Read tokens"); the library refreshes them at half life.
    const auto token_lifetime = static_cast<int32_t>(std::clamp<int64_t>(security->jwt_read_expires_sec, 1, 3600));
    snapshot_config.mint_token = [key = security->jwt_read_key, token_lifetime](const std::string& fid,
                                                                                int32_t& lifetime) {
      lifetime = token_lifetime;
      const auto now =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      return seaweed::transport::http::mint_read_jwt(key, fid, now + token_lifetime);
    };
  }
  snapshot_config.rdma_enabled = rdma_enabled;
  snapshot_config.fallback = rdma_fallback;
  snapshot_config.peer_error_handling = rdma_peer_errors;
  snapshot_config.rdma_timeout_ms = static_cast<uint32_t>(std::max<int64_t>(1, rdma_timeout_ms));
  snapshot_config.http_timeout_ms = static_cast<uint32_t>(std::max<int64_t>(1, opt.http_timeout_ms));
  seaweed::fuse::configure_snapshot_ioctl(std::move(snapshot_config));
  if (auto s = fs.check_root(); !s) return fail(s.error());
  auto fs_metrics = seaweed::fuse::register_filesystem_metrics(fs);
  std::vector<seaweed::Metrics::Registration> agent_gauges;
  if (rdma_enabled) agent_gauges = seaweed::transport::register_agent_gauges(agents, transport);

  // Coherence: filer events under the mounted path update or drop cached entries and pages.
  if (subscribe) {
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    fs.start_subscription(now_ns);
  }
  std::vector<seaweed::Metrics::Registration> subscription_metrics;
  if (subscribe) {
    auto& registry = seaweed::Metrics::global();
    subscription_metrics.push_back(registry.callback(
        seaweed::metric_names::kSubscriptionLag,
        "Seconds from the timestamp of the last metadata event applied (or of the subscription's start) to now; "
        "grows while nothing changes under the mount",
        "", seaweed::MetricType::gauge, [&fs] {
          const auto now = std::chrono::system_clock::now().time_since_epoch();
          const auto p = fs.subscription_progress();
          if (!p) return std::nan("");
          return std::chrono::duration<double>(now - std::chrono::nanoseconds(p->last_ts_ns)).count();
        }));
    subscription_metrics.push_back(registry.callback(seaweed::metric_names::kMetadataEvents,
                                                     "Metadata events received from the filer's subscription", "",
                                                     seaweed::MetricType::counter, [&fs] {
                                                       const auto p = fs.subscription_progress();
                                                       return p ? static_cast<double>(p->events) : 0.0;
                                                     }));
    subscription_metrics.push_back(registry.callback(seaweed::metric_names::kMetadataReconnects,
                                                     "Times the metadata subscription reconnected to the filer", "",
                                                     seaweed::MetricType::counter, [&fs] {
                                                       const auto p = fs.subscription_progress();
                                                       return p ? static_cast<double>(p->reconnects) : 0.0;
                                                     }));
  }
  seaweed::fuse::SessionHooks hooks;
  hooks.mounted = [&] {
    if (auto s =
            seaweed::sd_notify("READY=1\nSTATUS=mounted " + opt.filer + ":" + opt.filer_path + " on " + opt.mountpoint);
        !s)
      spdlog::warn("{}", s.error().message);
    if (readiness.active()) {
      if (logs_to_stderr) seaweed::log_to_syslog("mount");  // stderr goes back to whoever ran mount
      readiness.ready();
    }
  };
  hooks.stopping = [] { (void)seaweed::sd_notify("STOPPING=1"); };
  seaweed::LogLevelSignals log_signals;  // SIGUSR1/SIGUSR2 change the log level (logged)
  auto ran = seaweed::fuse::run_session(fs, opt, hooks);
  subscription_metrics.clear();
  fs.stop_subscription();
  if (!ran.ok()) return fail(ran.error());
  return 0;
}
