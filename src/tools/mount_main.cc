// seaweed-rdma-mount: flag parsing and wiring only.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/flags.h"
#include "common/logging.h"
#include "common/security_config.h"
#include "filer/channel_credentials.h"
#include "filer/filer_client.h"
#include "fuse/filesystem.h"
#include "fuse/session.h"
#include "fuse/snapshot_ioctl.h"
#include "transport/agent_map.h"
#include "transport/fallback_volume_reader.h"
#include "transport/http/http_volume_reader.h"
#include "transport/http/jwt.h"
#include "transport/ucx/agent_client.h"
#include "web/http_server.h"

#ifndef SEAWEED_VERSION
#define SEAWEED_VERSION "0.1.0"
#endif

namespace {

constexpr char kSynopsis[] = "-filer=HOST:PORT[.GRPCPORT] [-filer.path=/] [flags] [-dir=]MOUNTPOINT";

// The UCX client of one agent; it connects lazily, on the first read.
std::shared_ptr<seaweed::transport::VolumeReader> connect_agent(
    const std::string& address, const seaweed::transport::ucx::AgentClientOptions& options) {
  spdlog::info("reading through RDMA agent {}", address);
  return std::make_shared<seaweed::transport::ucx::AgentVolumeReader>(address, options);
}

int fail(const seaweed::Error& e) {
  spdlog::error("{}", e.message);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  seaweed::fuse::MountOptions opt;
  std::string dir, log_level = "info", verbosity, security_config, jwt_read_key_flag;
  bool version = false, read_only = true, verify_reads = true;
  bool rdma_enabled = true, rdma_fallback = true;
  std::string rdma_agents, rdma_sidecar;
  bool subscribe = true, rdma_peer_errors = true;
  int64_t rdma_busy_poll_us = 100;
  int64_t rdma_max_concurrent = 64, rdma_timeout_ms = 5000, metrics_port = 0;
  seaweed::FlagSet flags("seaweed-rdma-mount");
  flags.add_string("filer", &opt.filer, "filer address HOST:PORT (gRPC at PORT+10000) or HOST:PORT.GRPCPORT");
  flags.add_string("filer.path", &opt.filer_path, "filer directory to mount");
  flags.add_string("dir", &dir, "mountpoint (or give it as the last argument)");
  flags.add_bool("readOnly", &read_only, "read-only mount (the only mode for now)");
  flags.add_bool("allowOthers", &opt.allow_others, "let other users access the mount (allow_other)");
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
  if ((opt.suid || opt.dev) && ::geteuid() != 0) {
    std::cerr << "seaweed-rdma-mount: -o suid and -o dev need root\n";
    return 2;
  }
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
  auto filer = seaweed::filer::FilerClient::connect(*address, filer_options);
  if (!filer.ok()) return fail(filer.error());
  spdlog::info("filer {} (version {}, cipher {})", address->http(), (*filer)->configuration().version(),
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
  seaweed::transport::HttpVolumeReader http(http_options);

  auto explicit_agents = seaweed::transport::AgentMap::parse(rdma_agents);
  if (!explicit_agents.ok()) {
    std::cerr << "seaweed-rdma-mount: " << explicit_agents.error().message << "\n";
    return 2;
  }
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

  seaweed::fuse::FileSystem fs(opt, filer_client, transport);
  // What the snapshot ioctl tells processes that read this mount's files themselves (docs/PRELOAD.md).
  seaweed::fuse::SnapshotIoctlConfig snapshot_config;
  snapshot_config.agent_address = [&](const std::string& volume_server) -> std::string {
    auto* agent = dynamic_cast<seaweed::transport::ucx::AgentVolumeReader*>(agents.agent_for(volume_server).get());
    return agent ? agent->address() : std::string();
  };
  if (!security->jwt_read_key.empty()) {
    snapshot_config.mint_token = [key = security->jwt_read_key](const std::string& fid, int32_t& lifetime) {
      constexpr int32_t kLifetime = 60;
      lifetime = kLifetime;
      const auto now =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      return seaweed::transport::http::mint_read_jwt(key, fid, now + kLifetime);
    };
  }
  snapshot_config.rdma_enabled = rdma_enabled;
  snapshot_config.fallback = rdma_fallback;
  snapshot_config.peer_error_handling = rdma_peer_errors;
  snapshot_config.rdma_timeout_ms = static_cast<uint32_t>(std::max<int64_t>(1, rdma_timeout_ms));
  snapshot_config.http_timeout_ms = static_cast<uint32_t>(std::max<int64_t>(1, opt.http_timeout_ms));
  seaweed::fuse::configure_snapshot_ioctl(std::move(snapshot_config));
  if (auto s = fs.check_root(); !s) return fail(s.error());

  // Coherence: filer events under the mounted path update or drop cached entries and pages.
  if (subscribe) {
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    fs.start_subscription(now_ns);
  }
  auto ran = seaweed::fuse::run_session(fs, opt);
  fs.stop_subscription();
  if (!ran.ok()) return fail(ran.error());
  return 0;
}
