#include "common/logging.h"

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <memory>
#include <vector>

namespace seaweed {
namespace {

// The default logger writes through this sink, so where logs go can change while threads log.
std::shared_ptr<spdlog::sinks::dist_sink_mt>& output() {
  static auto sink = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return sink;
}

}  // namespace

Status setup_logging(const std::string& program, const std::string& level) {
  spdlog::level::level_enum lvl;
  if (level.empty())
    lvl = spdlog::level::info;
  else if (std::isdigit(static_cast<unsigned char>(level[0]))) {
    const int v = std::atoi(level.c_str());
    lvl = v <= 0   ? spdlog::level::info
          : v == 1 ? spdlog::level::info
          : v <= 3 ? spdlog::level::debug
                   : spdlog::level::trace;
  } else {
    lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off")
      return make_error(EINVAL, "unknown log level \"" + level + "\" (trace, debug, info, warn, error, off, or 0-4)");
  }
  output()->set_sinks({std::make_shared<spdlog::sinks::stderr_color_sink_mt>()});
  auto logger = std::make_shared<spdlog::logger>(program, output());
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
  return {};
}

void log_to_syslog(const std::string& program, bool stderr_warnings) {
  static const std::string ident = "seaweed-rdma-" + program;  // openlog keeps the pointer
  auto syslog = std::make_shared<spdlog::sinks::syslog_sink_mt>(ident, LOG_PID, LOG_DAEMON, true);
  syslog->set_pattern("%v");  // syslog adds time, host and program
  std::vector<spdlog::sink_ptr> sinks{syslog};
  if (stderr_warnings) {
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
    err->set_level(spdlog::level::warn);
    sinks.push_back(err);
  }
  output()->set_sinks(sinks);
}

}  // namespace seaweed
