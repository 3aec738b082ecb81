#include "common/process_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>

#include "common/build_info.h"

namespace seaweed {
namespace {

using ::testing::HasSubstr;

// A /proc/<pid>/stat line whose command name holds spaces and parentheses (proc(5) field numbers:
// 14 utime, 15 stime, 20 num_threads, 22 starttime, 23 vsize, 24 rss).
constexpr char kStat[] =
    "4242 (we(ird) na me) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 7 0 123400 104857600 2560 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessMetrics, ParsesProcStat) {
  const auto s = parse_proc_stat(kStat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);  // (250 + 50) ticks / 100
  EXPECT_EQ(s->threads, 7u);
  EXPECT_EQ(s->virtual_bytes, 104857600u);
  EXPECT_EQ(s->resident_bytes, 2560u * 4096);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1'700'000'000 + 1234.0);
}

TEST(ProcessMetrics, RefusesTruncatedOrGarbledStat) {
  EXPECT_FALSE(parse_proc_stat("", 100, 4096, 0).has_value());
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2 3", 100, 4096, 0).has_value());
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all", 100, 4096, 0).has_value());
  std::string bad = kStat;
  bad.replace(bad.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(parse_proc_stat(bad, 100, 4096, 0).has_value());
  EXPECT_FALSE(parse_proc_stat(kStat, 0, 4096, 0).has_value());
}

std::map<std::string, double> values(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(ProcessMetrics, ThisProcessLooksPlausible) {
  Metrics m;
  {
    auto regs = add_process_metrics(m);
    const auto v = values(m.render());
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(v.at("process_resident_memory_bytes"), 1 << 20);
    EXPECT_GE(v.at("process_virtual_memory_bytes"), v.at("process_resident_memory_bytes"));
    EXPECT_GE(v.at("process_threads"), 1);
    EXPECT_GE(v.at("process_open_fds"), 3);  // stdin, stdout, stderr
    EXPECT_GE(v.at("process_max_fds"), v.at("process_open_fds"));
    EXPECT_GE(v.at("process_cpu_seconds_total"), 0);
    EXPECT_LE(v.at("process_start_time_seconds"), now + 1);
    EXPECT_GT(v.at("process_start_time_seconds"), now - 3600);  // a test binary started a moment ago
    EXPECT_THAT(m.render(), HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  }
  EXPECT_EQ(m.render(), "");  // the registrations took their series with them
}

TEST(ProcessMetrics, BuildInfoIsOneSeriesWithTheBuildsLabels) {
  Metrics m;
  register_build_info("mount", m);
  const auto& b = build_info();
  EXPECT_FALSE(b.version.empty());
  EXPECT_FALSE(b.git.empty());
  EXPECT_THAT(m.render(), HasSubstr("seaweed_build_info{program=\"mount\",version=\"" + b.version + "\",git=\"" +
                                    b.git + "\",compiler=\""));
  EXPECT_THAT(m.render(), HasSubstr("} 1\n"));
  EXPECT_THAT(version_line(), HasSubstr(b.version + " (git " + b.git));
}

}  // namespace
}  // namespace seaweed
