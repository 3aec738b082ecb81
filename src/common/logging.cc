#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace seaweed {

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
  auto logger = spdlog::stderr_color_mt(program);
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%n] %v");
  return {};
}

}  // namespace seaweed
