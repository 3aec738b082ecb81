// seaweed-rdma-agent: serves needle bytes of the local volume server's files over UCX.
// Flag parsing and wiring only.
//
//   seaweed-rdma-agent -dir=VOLDIR[,VOLDIR2] -volumeServer=HOST:PORT -ip=ADDR -port=N [...]
//   seaweed-rdma-agent ping -agent=HOST:PORT
//   seaweed-rdma-agent read -agent=HOST:PORT -fid=FID [-offset=N] [-size=N]   (bytes to stdout)
//   seaweed-rdma-agent bench -agent=HOST:PORT -fidsFile=FILE                   (client-side figures)
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/dat_mapping.h"
#include "agent/read_auth_probe.h"
#include "agent/sidecar.h"
#include "agent/ucx_server.h"
#include "agent/volume_store.h"
#include "codec/codec.h"
#include "common/build_info.h"
#include "common/file_id.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/metric_names.h"
#include "common/process_metrics.h"
#include "common/security_config.h"
#include "filer/filer_client.h"
#include "tools/agent_registration.h"
#include "transport/agent_map.h"
#include "transport/ucx/agent_client.h"
#include "transport/ucx/net_devices.h"
#include "web/http_server.h"

namespace {

constexpr int kExitUsage = 2;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

int usage_error(const seaweed::FlagSet& flags, const std::string& synopsis, const std::string& message) {
  std::cerr << message << "\n" << flags.usage(synopsis);
  return kExitUsage;
}

// SIGINT/SIGTERM (and SIGUSR1, used internally) blocked in the calling thread; call before any
// thread starts (UCX starts its own) so every thread inherits the mask.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A thread that waits for the blocked signals: SIGINT/SIGTERM call on_signal (once), SIGUSR1 and
// SIGUSR2 change the log level (common/logging.h).
class SignalWaiter {
 public:
  SignalWaiter(sigset_t set, std::function<void()> on_signal) : set_(set) {
    thread_ = std::thread([this, cb = std::move(on_signal)] {
      while (true) {
        int sig = 0;
        sigwait(&set_, &sig);
        if (stopping_.load()) return;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
          seaweed::apply_log_level_signal(sig);
          continue;
        }
        spdlog::info("signal {}: shutting down", sig);
        cb();
        return;
      }
    });
  }
  ~SignalWaiter() {
    stopping_.store(true);
    pthread_kill(thread_.native_handle(), SIGUSR1);  // wakes sigwait, or lands blocked if it returned
    thread_.join();
  }

 private:
  sigset_t set_{};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Client-side flags shared by the ping/read/bench subcommands.
// The read key, found the way weed finds it: -security.config=FILE, else security.toml on weed's
// search path, with WEED_JWT_SIGNING_READ_KEY winning (docs/seaweedfs/security-config.md). Never
// a command-line value: any local user can read those in /proc/PID/cmdline.
seaweed::Result<seaweed::SecurityConfig> security_config(const std::string& explicit_path) {
  auto config = seaweed::load_security_config(explicit_path);
  if (!config) return config.error();
  return config;
}

struct ClientFlags {
  int64_t timeout_ms = 5000;
  bool peer_error_handling = true;
  std::string token;
  std::string security_path;
  bool allow_deleted = false;
  void add_to(seaweed::FlagSet& flags) {
    flags.add_string("security.config", &security_path,
                     "security.toml with [jwt.signing.read] key (default: weed's search path; "
                     "WEED_JWT_SIGNING_READ_KEY wins)");
    flags.add_int("timeoutMs", &timeout_ms, "timeout of one request");
    flags.add_bool("ucx.peerErrorHandling", &peer_error_handling,
                   "UCP_ERR_HANDLING_MODE_PEER on the endpoint (must match the agent's setting)");
    flags.add_string("jwt", &token, "read token to send as is (default: minted per fid when a read key is configured)");
    flags.add_bool("readDeleted", &allow_deleted, "ask for a needle even if it was deleted (ALLOW_DELETED)");
  }
  [[nodiscard]] seaweed::Result<seaweed::transport::ucx::AgentClientOptions> options() const {
    seaweed::transport::ucx::AgentClientOptions o;
    o.timeout_ms = static_cast<int>(timeout_ms);
    o.max_in_flight = 1;
    o.peer_error_handling = peer_error_handling;
    o.read_token = token;
    auto security = security_config(security_path);
    if (!security) return security.error();
    o.jwt_read_key = security->jwt_read_key;
    if (security->jwt_read_expires_sec > 0) o.jwt_lifetime_sec = security->jwt_read_expires_sec;
    return o;
  }
};

int run_ping(int argc, char** argv) {
  std::string agent, log_level = "warn";
  int64_t count = 1;
  bool show_transport = false;
  ClientFlags client;
  seaweed::FlagSet flags("seaweed-rdma-agent ping");
  client.add_to(flags);
  flags.add_int("count", &count, "round trips to time (the first includes connecting)");
  flags.add_bool("showTransport", &show_transport, "print the UCX transports the connection uses");
  flags.add_string("agent", &agent, "agent address HOST:PORT");
  flags.add_string("logLevel", &log_level, "log level");
  const std::string synopsis = "-agent=HOST:PORT";
  if (auto s = flags.parse(argc, argv); !s) return usage_error(flags, synopsis, s.error().message);
  if (flags.help_requested()) {
    std::cout << flags.usage(synopsis);
    return 0;
  }
  if (agent.empty()) return usage_error(flags, synopsis, "-agent is required");
  (void)seaweed::setup_logging("seaweed-rdma-agent", log_level);
  auto client_options = client.options();
  if (!client_options) {
    std::cerr << client_options.error().message << "\n";
    return 1;
  }
  seaweed::transport::ucx::AgentVolumeReader reader(agent, *client_options);
  for (int64_t i = 0; i < std::max<int64_t>(1, count); ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto info = reader.ping();
    if (!info) {
      std::cerr << "ping failed: " << info.error().message << "\n";
      return 1;
    }
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    if (i == 0) std::cout << *info << "\n";
    std::cerr << "pong from " << agent << " in " << us << " us\n";
  }
  if (show_transport) std::cerr << reader.describe_transport();
  return 0;
}

int run_read(int argc, char** argv) {
  std::string agent, fid_text, log_level = "warn";
  int64_t offset = 0, size = -1;
  bool raw = false;
  ClientFlags client;
  seaweed::FlagSet flags("seaweed-rdma-agent read");
  client.add_to(flags);
  flags.add_string("agent", &agent, "agent address HOST:PORT");
  flags.add_string("fid", &fid_text, "file id VID,KEYCOOKIE");
  flags.add_int("offset", &offset, "first byte of the needle's clear data to read");
  flags.add_int("size", &size, "bytes to read (-1: to the end)");
  flags.add_bool("raw", &raw, "write the stored bytes (gzip stays gzip) instead of clear data");
  flags.add_string("logLevel", &log_level, "log level");
  const std::string synopsis = "-agent=HOST:PORT -fid=FID [-offset=N] [-size=N]";
  if (auto s = flags.parse(argc, argv); !s) return usage_error(flags, synopsis, s.error().message);
  if (flags.help_requested()) {
    std::cout << flags.usage(synopsis);
    return 0;
  }
  if (agent.empty() || fid_text.empty()) return usage_error(flags, synopsis, "-agent and -fid are required");
  if (offset < 0) return usage_error(flags, synopsis, "-offset must be >= 0");
  auto fid = seaweed::FileId::parse(fid_text);
  if (!fid) return usage_error(flags, synopsis, fid.error().message);
  (void)seaweed::setup_logging("seaweed-rdma-agent", log_level);
  auto client_options = client.options();
  if (!client_options) {
    std::cerr << client_options.error().message << "\n";
    return 1;
  }
  seaweed::transport::ucx::AgentVolumeReader reader(agent, *client_options);
  seaweed::transport::NeedleLocator loc{*fid, fid->to_string(), {}};
  loc.allow_deleted = client.allow_deleted;

  std::string out;
  if (size < 0 || raw) {
    auto whole = reader.read_whole(loc);
    if (!whole) {
      std::cerr << whole.error().message << "\n";
      return 1;
    }
    out = std::move(whole->data);
    if (whole->gzipped && !raw) {
      auto clear = seaweed::codec::gunzip(out);
      if (!clear) {
        std::cerr << clear.error().message << "\n";
        return 1;
      }
      out = std::move(*clear);
    }
    const auto from = std::min<size_t>(static_cast<size_t>(offset), out.size());
    const auto n = size < 0 ? out.size() - from : std::min<size_t>(static_cast<size_t>(size), out.size() - from);
    out = out.substr(from, n);
  } else {
    out.resize(static_cast<size_t>(size));
    auto n = reader.read_range(loc, static_cast<uint64_t>(offset), std::span<char>(out.data(), out.size()));
    if (!n) {
      std::cerr << n.error().message << "\n";
      return 1;
    }
    out.resize(*n);
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::perror("write");
    return 1;
  }
  return 0;
}

// Reads a list of needles repeatedly through one AgentVolumeReader and reports throughput and
// latency: the client-side figure for benchmarks (no process start per read).
int run_bench(int argc, char** argv) {
  std::string agent, fids_file, log_level = "warn";
  int64_t rounds = 3, threads = 1, size = 0;
  ClientFlags client;
  seaweed::FlagSet flags("seaweed-rdma-agent bench");
  client.add_to(flags);
  flags.add_string("agent", &agent, "agent address HOST:PORT");
  flags.add_string("fidsFile", &fids_file, "file with one fid per line");
  flags.add_int("rounds", &rounds, "passes over the list");
  flags.add_int("threads", &threads, "parallel readers (each takes every n-th fid)");
  flags.add_int("size", &size, "bytes per read (0: whole needle, in one request)");
  flags.add_string("logLevel", &log_level, "log level");
  const std::string synopsis = "-agent=HOST:PORT -fidsFile=FILE [-rounds=N] [-threads=N] [-size=N]";
  if (auto s = flags.parse(argc, argv); !s) return usage_error(flags, synopsis, s.error().message);
  if (flags.help_requested()) {
    std::cout << flags.usage(synopsis);
    return 0;
  }
  if (agent.empty() || fids_file.empty()) return usage_error(flags, synopsis, "-agent and -fidsFile are required");
  (void)seaweed::setup_logging("seaweed-rdma-agent", log_level);
  std::vector<seaweed::transport::NeedleLocator> locs;
  {
    std::ifstream in(fids_file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto fid = seaweed::FileId::parse(line);
      if (!fid) return usage_error(flags, synopsis, fid.error().message);
      locs.push_back({*fid, fid->to_string(), {}});
      locs.back().allow_deleted = client.allow_deleted;
    }
  }
  if (locs.empty()) return usage_error(flags, synopsis, "no fids in " + fids_file);
  auto client_options = client.options();
  if (!client_options) {
    std::cerr << client_options.error().message << "\n";
    return 1;
  }
  auto opts = *client_options;
  opts.max_in_flight = static_cast<size_t>(std::max<int64_t>(1, threads));
  seaweed::transport::ucx::AgentVolumeReader reader(agent, opts);
  // Learn needle sizes first (and connect), outside the timed part.
  std::vector<uint64_t> sizes;
  for (const auto& l : locs) {
    auto st = reader.stat(l.fid, l.allow_deleted);
    if (!st) {
      std::cerr << st.error().message << "\n";
      return 1;
    }
    sizes.push_back(st->data_size);
  }
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> errors{0};
  std::mutex lat_mu;
  std::vector<double> latencies_us;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int64_t t = 0; t < std::max<int64_t>(1, threads); ++t) {
    workers.emplace_back([&, t] {
      std::string buf;
      std::vector<double> lat;
      for (int64_t r = 0; r < rounds; ++r) {
        for (size_t i = static_cast<size_t>(t); i < locs.size();
             i += static_cast<size_t>(std::max<int64_t>(1, threads))) {
          const uint64_t want = size > 0 ? static_cast<uint64_t>(size) : sizes[i];
          buf.resize(want);
          for (uint64_t off = 0; off < sizes[i] || off == 0; off += want) {
            const auto t0 = std::chrono::steady_clock::now();
            auto n = reader.read_range(locs[i], off, std::span<char>(buf.data(), buf.size()));
            lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
            if (!n) {
              if (errors++ == 0) std::cerr << n.error().message << "\n";
              break;
            }
            bytes += *n;
            if (size <= 0) break;
          }
        }
      }
      std::lock_guard lock(lat_mu);
      latencies_us.insert(latencies_us.end(), lat.begin(), lat.end());
    });
  }
  for (auto& w : workers) w.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  nlohmann::json out = {{"bytes", bytes.load()},           {"seconds", secs},    {"GBps", bytes.load() / secs / 1e9},
                        {"requests", latencies_us.size()}, {"p50_us", pct(0.5)}, {"p99_us", pct(0.99)},
                        {"errors", errors.load()}};
  std::cout << out.dump() << "\n";
  return errors.load() == 0 ? 0 : 1;
}

int run_agent(int argc, char** argv) {
  std::string dirs, volume_server, ip = "127.0.0.1", sidecar_ip, metrics_ip, filer, log_level = "info", verbosity,
                                   security_path;
  seaweed::LogOptions log_options;
  int64_t port = 18515, sidecar_port = 0, metrics_port = 0, busy_poll_us = 0, busy_poll_waited_us = 1000,
          max_in_flight = 64, refresh_ms = 1000;
  bool verify_crc = true, peer_errors = true, version = false;
  seaweed::FlagSet flags("seaweed-rdma-agent");
  flags.add_string("dir", &dirs, "volume server data directories, comma separated (its -dir)");
  flags.add_string("volumeServer", &volume_server, "the local volume server HOST:PORT this agent serves for");
  flags.add_string("ip", &ip,
                   "address to listen on for UCX connections; UCX then uses only the interface holding it "
                   "(0.0.0.0: every interface)");
  flags.add_int("port", &port, "UCX listener port");
  flags.add_string("sidecar.ip", &sidecar_ip, "address of the HTTP sidecar API (default: -ip)");
  flags.add_int("sidecar.port", &sidecar_port, "HTTP sidecar API port (0: off)");
  flags.add_string("metrics.ip", &metrics_ip, "address of /metrics (default: -ip)");
  flags.add_int("metricsPort", &metrics_port, "Prometheus /metrics port (0: off)");
  flags.add_string("filer", &filer,
                   "filer HOST:PORT[.GRPC]: register in its KV store so mounts find this agent without -rdma.agents");
  flags.add_string("security.config", &security_path,
                   "security.toml with [jwt.signing.read] key (default: weed's search path, ., $HOME/.seaweedfs, "
                   "/usr/local/etc/seaweedfs, /etc/seaweedfs; WEED_JWT_SIGNING_READ_KEY wins)");
  flags.add_string("logLevel", &log_level, "log level: trace, debug, info, warn, error");
  seaweed::add_log_output_flags(flags, log_options);
  flags.add_string("v", &verbosity, "glog-style verbosity (overrides -logLevel)");
  flags.add_bool("verifyCrc", &verify_crc, "check each needle's CRC32C before serving it (once per needle)");
  flags.add_int("busyPollUs", &busy_poll_us, "microseconds to spin after any event before sleeping on the event fd");
  flags.add_int("busyPollWaitedUs", &busy_poll_waited_us,
                "microseconds to spin after a request a client is blocked on (not readahead)");
  flags.add_int("maxInFlight", &max_in_flight, "replies in flight per client endpoint before answering BUSY");
  flags.add_int("refreshMs", &refresh_ms, "interval of .idx tailing, vacuum detection and volume rescans");
  flags.add_bool("ucx.peerErrorHandling", &peer_errors,
                 "detect dead clients (UCP_ERR_HANDLING_MODE_PEER); off allows cma on one host");
  flags.add_bool("version", &version, "print the version and exit");
  const std::string synopsis =
      "-dir=VOLDIR[,VOLDIR2] -volumeServer=HOST:PORT -ip=ADDR -port=N [-sidecar.port=N] [-metricsPort=N]\n"
      "       seaweed-rdma-agent ping -agent=HOST:PORT\n"
      "       seaweed-rdma-agent read -agent=HOST:PORT -fid=FID [-offset=N] [-size=N] [-raw] [-jwt=TOKEN]\n"
      "       seaweed-rdma-agent bench -agent=HOST:PORT -fidsFile=FILE [-rounds=N] [-threads=N] [-size=N]\n"
      "(each subcommand takes -h)";
  if (auto s = flags.parse(argc, argv); !s) return usage_error(flags, synopsis, s.error().message);
  if (flags.help_requested()) {
    std::cout << flags.usage(synopsis);
    return 0;
  }
  if (version) {
    std::cout << "seaweed-rdma-agent " << seaweed::version_line() << "\n";
    return 0;
  }
  if (!flags.positional().empty())
    return usage_error(flags, synopsis, "unexpected argument \"" + flags.positional()[0] + "\"");
  if (dirs.empty()) return usage_error(flags, synopsis, "-dir is required");
  if (port <= 0 || port > 65535 || sidecar_port < 0 || sidecar_port > 65535 || metrics_port < 0 || metrics_port > 65535)
    return usage_error(flags, synopsis, "ports must be in 1..65535");
  log_options.level = verbosity.empty() ? log_level : verbosity;
  if (auto s = seaweed::setup_logging("seaweed-rdma-agent", log_options); !s)
    return usage_error(flags, synopsis, s.error().message);
  const sigset_t shutdown_signals = block_shutdown_signals();
  std::signal(SIGPIPE, SIG_IGN);  // a client vanishing mid-reply must not kill the agent
  // Mounts key agents by "host:port" as the filer spells volume servers; accept a URL too.
  for (const char* scheme : {"http://", "https://"})
    if (volume_server.rfind(scheme, 0) == 0) volume_server = volume_server.substr(std::string(scheme).size());
  while (!volume_server.empty() && volume_server.back() == '/') volume_server.pop_back();
  if (!filer.empty() && volume_server.empty())
    return usage_error(flags, synopsis, "-filer needs -volumeServer (the key mounts look the agent up by)");

  if (sidecar_ip.empty()) sidecar_ip = ip;
  if (metrics_ip.empty()) metrics_ip = ip;

  // The read key, and whether the volume server wants one: an agent without the key must not
  // serve what the volume server protects.
  auto security = security_config(security_path);
  if (!security) {
    spdlog::error("{}", security.error().message);
    return 1;
  }
  const std::string jwt_read_key = security->jwt_read_key;
  if (!volume_server.empty()) {
    auto probe = seaweed::agent::probe_read_auth(volume_server, jwt_read_key);
    if (!probe) {
      spdlog::error("{}", probe.error().message);
      return 1;
    }
    if (*probe == seaweed::agent::ReadAuthProbe::kUnreachable)
      spdlog::warn("volume server {} did not answer; cannot check whether it requires read JWT", volume_server);
    else if (*probe == seaweed::agent::ReadAuthProbe::kRequired)
      spdlog::info("volume server {} requires read JWT; so does this agent", volume_server);
    else if (!jwt_read_key.empty())
      spdlog::info("volume server {} reads without JWT; this agent requires one (a read key is set)", volume_server);
  }
  if (!jwt_read_key.empty()) {
    const auto& env = security->env_overrides;
    const bool from_env = std::find(env.begin(), env.end(), "WEED_JWT_SIGNING_READ_KEY") != env.end();
    spdlog::info("reads need a read JWT (key from {})", from_env ? "WEED_JWT_SIGNING_READ_KEY" : security->source);
  }

  // UCX listens where -ip says and nowhere else: its tcp transport opens a socket on every device
  // it uses, so it gets only the interface holding -ip (unless UCX_NET_DEVICES is set).
  auto net_devices = seaweed::transport::ucx::net_devices_for_listen_ip(ip);
  if (!net_devices) {
    spdlog::error("{}", net_devices.error().message);
    return 1;
  }
  if (*net_devices) spdlog::info("UCX devices: {} (the interface of -ip={})", **net_devices, ip);

  seaweed::agent::install_sigbus_guard();
  seaweed::agent::UcxServer::allow_listener_port_reuse();
  seaweed::agent::UcxServerOptions server_options;
  server_options.ip = ip;
  server_options.net_devices = *net_devices;
  server_options.jwt_read_key = jwt_read_key;
  server_options.port = static_cast<uint16_t>(port);
  server_options.busy_poll = std::chrono::microseconds(busy_poll_us);
  server_options.busy_poll_waited = std::chrono::microseconds(std::max<int64_t>(0, busy_poll_waited_us));
  server_options.max_in_flight_per_endpoint = static_cast<size_t>(std::max<int64_t>(1, max_in_flight));
  server_options.peer_error_handling = peer_errors;
  auto server = seaweed::agent::UcxServer::create(server_options);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }

  seaweed::agent::StoreOptions store_options;
  store_options.dirs = split_list(dirs);
  store_options.verify_crc = verify_crc;
  store_options.open.registrar = (*server)->registrar();
  seaweed::agent::VolumeStore store(store_options);
  if (auto s = store.load(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  store.start_refresher(std::chrono::milliseconds(std::max<int64_t>(10, refresh_ms)));
  spdlog::info("serving {} volumes from {} for volume server {}", store.volume_count(), dirs,
               volume_server.empty() ? "(unset)" : volume_server);

  nlohmann::json info = {{"service", "seaweed-rdma-agent"},
                         {"version", seaweed::build_info().version},
                         {"volumeServer", volume_server},
                         {"pid", static_cast<int64_t>(::getpid())}};
  (*server)->set_info_json(info.dump());

  std::unique_ptr<seaweed::web::HttpServer> metrics_http;
  if (metrics_port > 0) {
    auto m = seaweed::web::start_metrics_server(metrics_ip, static_cast<int>(metrics_port));
    if (!m) {
      spdlog::error("metrics server: {}", m.error().message);
      return 1;
    }
    metrics_http = std::move(*m);
  }
  seaweed::register_build_info("agent");
  seaweed::register_process_metrics();
  auto& registry = seaweed::Metrics::global();
  std::vector<seaweed::Metrics::Registration> gauges;
  gauges.push_back(registry.callback(seaweed::metric_names::kAgentVolumes, "Volumes this agent serves", "",
                                     seaweed::MetricType::gauge,
                                     [&store] { return static_cast<double>(store.volume_count()); }));
  gauges.push_back(registry.callback(
      seaweed::metric_names::kAgentConnections, "Client endpoints connected over UCX", "", seaweed::MetricType::gauge,
      [server = server->get()] { return static_cast<double>(server->connection_count()); }));
  std::unique_ptr<seaweed::agent::Sidecar> sidecar;
  if (sidecar_port > 0) {
    seaweed::agent::SidecarOptions so;
    so.address = sidecar_ip;
    so.port = static_cast<int>(sidecar_port);
    so.volume_server = volume_server;
    so.jwt_read_key = jwt_read_key;
    auto sc = seaweed::agent::Sidecar::start(so, store, server->get());
    if (!sc) {
      spdlog::error("sidecar: {}", sc.error().message);
      return 1;
    }
    sidecar = std::move(*sc);
  }

  // Registration: mounts map a volume server to its agent through the filer's KV store. A filer
  // that does not answer yet is retried in the background (tools/agent_registration.h).
  std::unique_ptr<seaweed::tools::AgentRegistration> registration;
  if (!filer.empty()) {
    auto address = seaweed::filer::FilerAddress::parse(filer);
    if (!address) {
      spdlog::error("{}", address.error().message);
      return 1;
    }
    // A wildcard listen address is no address to dial: advertise the volume server's host.
    const std::string host = (ip == "0.0.0.0" || ip == "::") ? volume_server.substr(0, volume_server.rfind(':')) : ip;
    registration = std::make_unique<seaweed::tools::AgentRegistration>(
        *address, seaweed::transport::kAgentKeyPrefix + volume_server, host + ":" + std::to_string(port));
  }

  {
    SignalWaiter signals(shutdown_signals, [&] { (*server)->stop(); });
    (*server)->run(store);
  }
  registration.reset();  // stops retrying; removes the entry
  sidecar.reset();
  metrics_http.reset();
  store.stop_refresher();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "ping") return run_ping(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "read") return run_read(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "bench") return run_bench(argc - 1, argv + 1);
  return run_agent(argc, argv);
}
