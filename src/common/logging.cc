#include "common/logging.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <vector>

namespace seaweed {
namespace {

constexpr char kPattern[] = "%Y-%m-%dT%H:%M:%S.%e %L [%n] %v";
constexpr char kColorPattern[] = "%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v";

// The default logger writes through this sink, so where logs go can change while threads log.
std::shared_ptr<spdlog::sinks::dist_sink_mt>& output() {
  static auto sink = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return sink;
}

// State the signal handlers read: plain atomics (lock-free) and file descriptors only.
std::atomic<int> g_configured{spdlog::level::info};
std::atomic<spdlog::logger*> g_logger{nullptr};
int g_signal_pipe[2] = {-1, -1};  // handler -> LogLevelSignals thread: one byte per signal

extern "C" void on_level_signal(int signal) {
  const int saved_errno = errno;
  if (spdlog::logger* logger = g_logger.load(std::memory_order_acquire)) {
    const auto next =
        level_after_signal(logger->level(), static_cast<spdlog::level::level_enum>(g_configured.load()), signal);
    logger->set_level(next);  // an atomic store
    const char byte = static_cast<char>(signal);
    // A full pipe (nobody reads it yet) only means this change is not logged.
    if (g_signal_pipe[1] >= 0 && ::write(g_signal_pipe[1], &byte, 1) < 0) errno = saved_errno;
  }
  errno = saved_errno;
}

void install_signal_handlers() {
  static const bool installed = [] {
    if (::pipe2(g_signal_pipe, O_CLOEXEC) == 0) ::fcntl(g_signal_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa {};
    sa.sa_handler = on_level_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGUSR1, &sa, nullptr);
    ::sigaction(SIGUSR2, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

// One syslog sink per process: a sink's destructor calls closelog(), which would drop the ident
// and LOG_PID of a sink that replaces it (the backgrounded mount switches sinks twice).
std::shared_ptr<spdlog::sinks::syslog_sink_mt> make_syslog_sink(const std::string& program) {
  static const auto sink = [&program] {
    const std::string ident = program.rfind("seaweed-rdma-", 0) == 0 ? program : "seaweed-rdma-" + program;
    auto s = std::make_shared<spdlog::sinks::syslog_sink_mt>(ident, LOG_PID, LOG_DAEMON, true);
    s->set_pattern("%v");  // syslog adds the time, host and program; the priority carries the level
    return s;
  }();
  return sink;
}

Result<std::vector<spdlog::sink_ptr>> make_sinks(const std::string& program, const LogOptions& options) {
  const std::string to = !options.to.empty() ? options.to : (options.file.empty() ? "stderr" : "file");
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  stderr_sink->set_pattern(kColorPattern);
  if (to == "stderr") {
    if (!options.file.empty()) return make_error(EINVAL, "-logFile needs -logTo=file (or no -logTo)");
    return std::vector<spdlog::sink_ptr>{stderr_sink};
  }
  // Logging elsewhere, errors still reach whoever started the program (a terminal, the journal).
  stderr_sink->set_level(spdlog::level::err);
  if (to == "syslog") {
    if (!options.file.empty()) return make_error(EINVAL, "-logFile and -logTo=syslog exclude each other");
    return std::vector<spdlog::sink_ptr>{make_syslog_sink(program), stderr_sink};
  }
  if (to != "file") return make_error(EINVAL, "-logTo=" + to + ": expected stderr, syslog or file");
  if (options.file.empty()) return make_error(EINVAL, "-logTo=file needs -logFile=PATH");
  if (options.max_size_mb < 1) return make_error(EINVAL, "-logMaxSizeMB must be at least 1");
  if (options.max_files < 0 || options.max_files > 1000) return make_error(EINVAL, "-logMaxFiles must be 0..1000");
  try {
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        options.file, static_cast<size_t>(options.max_size_mb) << 20, static_cast<size_t>(options.max_files));
    sink->set_pattern(kPattern);
    return std::vector<spdlog::sink_ptr>{sink, stderr_sink};
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(errno ? errno : EIO, "log file " + options.file + ": " + e.what());
  }
}

// Says what a level signal did, at a level the new setting shows (a change to warn or error
// would hide an info line).
void log_level_change(int signal) {
  const auto now = spdlog::default_logger_raw()->level();
  const auto name = spdlog::level::to_string_view(now);
  const auto configured_name = spdlog::level::to_string_view(configured_log_level());
  const auto as = now <= spdlog::level::info ? spdlog::level::info : spdlog::level::warn;
  if (signal == SIGUSR1)
    spdlog::log(as, "log level {} (SIGUSR1; SIGUSR2 returns to {})", std::string_view(name.data(), name.size()),
                std::string_view(configured_name.data(), configured_name.size()));
  else
    spdlog::log(as, "log level {} (SIGUSR2: back to the configured level)", std::string_view(name.data(), name.size()));
}

}  // namespace

void apply_log_level_signal(int signal) {
  if (spdlog::logger* logger = g_logger.load(std::memory_order_acquire)) {
    logger->set_level(level_after_signal(logger->level(), configured_log_level(), signal));
    log_level_change(signal);
  }
}

void add_log_output_flags(FlagSet& flags, LogOptions& options) {
  flags.add_string("logTo", &options.to, "where logs go: stderr, syslog (journald reads it) or file (-logFile)");
  flags.add_string("logFile", &options.file, "log to this file, rotated by size (implies -logTo=file)");
  flags.add_int("logMaxSizeMB", &options.max_size_mb, "rotate the log file when it reaches this size");
  flags.add_int("logMaxFiles", &options.max_files, "rotated log files kept (FILE.1 ... before the extension)");
}

Result<spdlog::level::level_enum> parse_log_level(const std::string& level) {
  if (level.empty()) return spdlog::level::info;
  if (std::isdigit(static_cast<unsigned char>(level[0]))) {
    const int v = std::atoi(level.c_str());
    return v <= 1 ? spdlog::level::info : v <= 3 ? spdlog::level::debug : spdlog::level::trace;
  }
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return make_error(EINVAL, "unknown log level \"" + level + "\" (trace, debug, info, warn, error, off, or 0-4)");
  return lvl;
}

Status setup_logging(const std::string& program, const std::string& level) {
  LogOptions options;
  options.level = level;
  return setup_logging(program, options);
}

Status setup_logging(const std::string& program, const LogOptions& options) {
  auto lvl = parse_log_level(options.level);
  if (!lvl.ok()) return lvl.error();
  auto sinks = make_sinks(program, options);
  if (!sinks.ok()) return sinks.error();
  output()->set_sinks(std::move(*sinks));
  auto logger = std::make_shared<spdlog::logger>(program, output());
  // Lines reach the file as they are logged (a crash must not lose the last ones).
  logger->flush_on(spdlog::level::trace);
  g_logger.store(nullptr, std::memory_order_release);
  spdlog::set_default_logger(logger);
  spdlog::set_level(*lvl);
  g_configured.store(*lvl);
  g_logger.store(logger.get(), std::memory_order_release);  // kept alive by spdlog's registry
  install_signal_handlers();
  return {};
}

void log_to_syslog(const std::string& program, bool stderr_warnings) {
  std::vector<spdlog::sink_ptr> sinks{make_syslog_sink(program)};
  if (stderr_warnings) {
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_pattern(kColorPattern);
    err->set_level(spdlog::level::warn);
    sinks.push_back(err);
  }
  output()->set_sinks(sinks);
}

spdlog::level::level_enum configured_log_level() { return static_cast<spdlog::level::level_enum>(g_configured.load()); }

spdlog::level::level_enum level_after_signal(spdlog::level::level_enum current, spdlog::level::level_enum configured,
                                             int signal) {
  if (signal == SIGUSR2) return configured;
  return current <= spdlog::level::trace ? spdlog::level::trace
                                         : static_cast<spdlog::level::level_enum>(static_cast<int>(current) - 1);
}

LogLevelSignals::LogLevelSignals() {
  install_signal_handlers();
  const int stop = ::eventfd(0, EFD_CLOEXEC);
  if (stop < 0 || g_signal_pipe[0] < 0) {
    if (stop >= 0) ::close(stop);
    spdlog::warn("log level signals: no pipe, level changes by SIGUSR1/SIGUSR2 are not logged");
    return;
  }
  stop_fd_ = stop;
  thread_ = std::thread([stop] {
    pollfd fds[2] = {{g_signal_pipe[0], POLLIN, 0}, {stop, POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      char byte = 0;
      if (::read(g_signal_pipe[0], &byte, 1) != 1) continue;
      log_level_change(byte);
    }
  });
}

LogLevelSignals::~LogLevelSignals() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(stop_fd_);
}

}  // namespace seaweed
