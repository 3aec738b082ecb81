#include "common/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include "common/build_info.h"

namespace seaweed {
namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint64_t boot_time_seconds() {
  std::istringstream in(read_file("/proc/stat"));
  std::string key;
  uint64_t value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::optional<ProcessStat> self_stat() {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  static const uint64_t boot = boot_time_seconds();
  return parse_proc_stat(read_file("/proc/self/stat"), ticks, page, boot);
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the directory's own descriptor
}

double max_fds() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(r.rlim_cur);
}

}  // namespace

std::optional<ProcessStat> parse_proc_stat(std::string_view text, double ticks_per_second, uint64_t page_size,
                                           uint64_t boot_time_seconds) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  // Fields from 3 (state) on, space separated; proc(5) numbers them from 1.
  std::vector<std::string_view> fields;
  size_t i = close + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  auto field = [&](size_t number, uint64_t& out) {
    if (number < 3 || number - 3 >= fields.size()) return false;
    const auto f = fields[number - 3];
    return std::from_chars(f.data(), f.data() + f.size(), out).ec == std::errc();
  };
  uint64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!field(14, utime) || !field(15, stime) || !field(20, threads) || !field(22, start) || !field(23, vsize) ||
      !field(24, rss))
    return std::nullopt;
  ProcessStat s;
  s.cpu_seconds = static_cast<double>(utime + stime) / ticks_per_second;
  s.threads = threads;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * page_size;
  s.start_time_seconds = static_cast<double>(boot_time_seconds) + static_cast<double>(start) / ticks_per_second;
  return s;
}

std::vector<Metrics::Registration> add_process_metrics(Metrics& registry) {
  std::vector<Metrics::Registration> regs;
  auto stat_field = [](double (*get)(const ProcessStat&)) {
    return [get] {
      const auto s = self_stat();
      return s ? get(*s) : 0.0;
    };
  };
  regs.push_back(registry.callback("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "",
                                   MetricType::counter,
                                   stat_field([](const ProcessStat& s) { return s.cpu_seconds; })));
  regs.push_back(
      registry.callback("process_resident_memory_bytes", "Resident memory size in bytes.", "", MetricType::gauge,
                        stat_field([](const ProcessStat& s) { return static_cast<double>(s.resident_bytes); })));
  regs.push_back(
      registry.callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", "", MetricType::gauge,
                        stat_field([](const ProcessStat& s) { return static_cast<double>(s.virtual_bytes); })));
  regs.push_back(registry.callback("process_threads", "Number of OS threads in the process.", "", MetricType::gauge,
                                   stat_field([](const ProcessStat& s) { return static_cast<double>(s.threads); })));
  regs.push_back(registry.callback("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.", "", MetricType::gauge,
                                   stat_field([](const ProcessStat& s) { return s.start_time_seconds; })));
  regs.push_back(
      registry.callback("process_open_fds", "Number of open file descriptors.", "", MetricType::gauge, open_fds));
  regs.push_back(
      registry.callback("process_max_fds", "Maximum number of open file descriptors.", "", MetricType::gauge, max_fds));
  return regs;
}

void register_process_metrics() {
  // Kept for the life of the process (never destroyed, like the registry); static: once.
  static const auto* kept =
      std::make_unique<std::vector<Metrics::Registration>>(add_process_metrics(Metrics::global())).release();
  (void)kept;
}

void register_build_info(const std::string& program, Metrics& registry) {
  const auto& b = build_info();
  registry
      .gauge("seaweed_build_info", "What this binary was built from (always 1)",
             render_labels({{"program", program},
                            {"version", b.version},
                            {"git", b.git},
                            {"compiler", b.compiler},
                            {"build_type", b.build_type}}))
      .set(1);
}

}  // namespace seaweed
