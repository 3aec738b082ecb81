// One place to configure spdlog for both binaries: the level, where lines go (stderr, a file
// with size-based rotation, or syslog, which journald reads), and a level change at runtime
// by signal:
//   SIGUSR1  one step more verbose (error -> warn -> info -> debug -> trace)
//   SIGUSR2  back to the level given on the command line
// Each change is logged ("log level debug (SIGUSR1)") by the LogLevelSignals thread.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <thread>

#include "common/flags.h"
#include "common/result.h"

namespace seaweed {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off, or a verbosity 0-4 (-v=N)
  std::string to;              // stderr, syslog or file; empty: file when `file` is set, else stderr
  std::string file;            // -logFile
  int64_t max_size_mb = 64;    // a file is rotated when it would grow past this
  int64_t max_files = 5;       // rotated files kept: PATH.1 ... (before the extension: a.1.log)
};

// Adds -logTo, -logFile, -logMaxSizeMB and -logMaxFiles (the level flags stay with each program).
void add_log_output_flags(FlagSet& flags, LogOptions& options);

// "trace".."off" or "0".."4"; EINVAL names the accepted values.
Result<spdlog::level::level_enum> parse_log_level(const std::string& level);

// Logs to stderr at level; program names the logger ([program] on each line).
Status setup_logging(const std::string& program, const std::string& level);
// Logs where options say. File or syslog: errors are also written to stderr, so a failing start
// is seen by whoever started the program. EINVAL for bad options, the errno of a log file that
// cannot be opened. Also installs the SIGUSR1/SIGUSR2 handlers (no thread; see LogLevelSignals).
Status setup_logging(const std::string& program, const LogOptions& options);

// From now on logs go to syslog (journald reads it) instead of stderr, for a mount in the
// background that logged to stderr; with stderr_warnings, warnings and errors still go to stderr
// too (while whoever ran mount waits for it). The level and the level signals stay. Safe while
// other threads log.
void log_to_syslog(const std::string& program, bool stderr_warnings = false);

// The level setup_logging configured (what SIGUSR2 returns to).
spdlog::level::level_enum configured_log_level();

// The level after one SIGUSR1 (one step more verbose, trace stays trace) or SIGUSR2.
spdlog::level::level_enum level_after_signal(spdlog::level::level_enum current, spdlog::level::level_enum configured,
                                             int signal);

// For programs that take SIGUSR1/SIGUSR2 themselves (blocked, with sigwait): changes the level as
// the handlers would, and logs the change.
void apply_log_level_signal(int signal);

// While alive, a thread logs each level change made by SIGUSR1/SIGUSR2 (the handlers change the
// level themselves, lock-free; logging from a signal handler is not safe). Create it after any
// fork into the background: threads do not survive a fork.
class LogLevelSignals {
 public:
  LogLevelSignals();
  ~LogLevelSignals();
  LogLevelSignals(const LogLevelSignals&) = delete;
  LogLevelSignals& operator=(const LogLevelSignals&) = delete;

 private:
  std::thread thread_;
  int stop_fd_ = -1;
};

}  // namespace seaweed
