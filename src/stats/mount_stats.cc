#include "stats/mount_stats.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "common/metric_names.h"

namespace seaweed::stats {
namespace {

namespace names = metric_names;
using json = nlohmann::json;
using Families = std::vector<Metrics::FamilySnapshot>;

const Metrics::FamilySnapshot* family(const Families& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

using LabelFilter = std::function<bool(const std::string& labels)>;
bool any(const std::string&) { return true; }
LabelFilter with(const char* key, std::string value) {
  return [key, value = std::move(value)](const std::string& labels) { return label_value(labels, key) == value; };
}

double sum(const Families& fs, const std::string& name, const LabelFilter& keep = any) {
  double total = 0;
  if (const auto* f = family(fs, name))
    for (const auto& s : f->series)
      if (keep(s.labels)) total += s.value;
  return total;
}

bool present(const Families& fs, const std::string& name) { return family(fs, name) != nullptr; }

Histogram::Snapshot merged(const Families& fs, const std::string& name, const LabelFilter& keep = any) {
  Histogram::Snapshot out;
  if (const auto* f = family(fs, name))
    for (const auto& s : f->series) {
      if (!keep(s.labels)) continue;
      for (size_t i = 0; i < Histogram::kBuckets; ++i) out.counts[i] += s.histogram.counts[i];
      out.count += s.histogram.count;
      out.sum_ns += s.histogram.sum_ns;
    }
  return out;
}

// Distinct values of a label over a family's series, sorted.
std::set<std::string> label_values(const Families& fs, const std::string& name, const char* key) {
  std::set<std::string> out;
  if (const auto* f = family(fs, name))
    for (const auto& s : f->series) out.insert(label_value(s.labels, key));
  return out;
}

// Counters and byte gauges as JSON integers (scripts compare them exactly).
json integer(double v) { return v >= 0 && std::isfinite(v) ? json(static_cast<uint64_t>(std::llround(v))) : json(0); }
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json ratio(double part, double whole) { return whole > 0 ? json(part / whole) : json(nullptr); }

json latency(const Histogram::Snapshot& h) {
  return {{"count", h.count},
          {"p50_seconds", number_or_null(h.quantile(0.5))},
          {"p99_seconds", number_or_null(h.quantile(0.99))},
          {"mean_seconds",
           h.count ? json(static_cast<double>(h.sum_ns) / 1e9 / static_cast<double>(h.count)) : json(nullptr)}};
}

std::string str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
double num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

std::string percent(const json& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v.get<double>() * 100);
  return buf;
}
std::string seconds_or_dash(const json& v) { return v.is_number() ? human_seconds(v.get<double>()) : "-"; }

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

json mount_stats(const Families& fs) {
  json out = {{"version", kStatsVersion}};

  if (const auto* info = family(fs, names::kMountInfo); info && !info->series.empty()) {
    const auto& labels = info->series.front().labels;
    out["mount"] = {{"mountpoint", label_value(labels, "mountpoint")},
                    {"filer", label_value(labels, "filer")},
                    {"filer_path", label_value(labels, "filer_path")}};
  }
  if (const auto* b = family(fs, names::kBuildInfo); b && !b->series.empty())
    out["build"] = {{"version", label_value(b->series.front().labels, "version")},
                    {"git", label_value(b->series.front().labels, "git")}};
  if (present(fs, "process_start_time_seconds")) {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out["uptime_seconds"] = std::max(0.0, now - sum(fs, "process_start_time_seconds"));
  }

  // Where the bytes came from, and how long each transport took for the requests it served.
  std::set<std::string> transports = label_values(fs, names::kReadBytes, "transport");
  for (const auto& t : label_values(fs, names::kVolumeReadSeconds, "transport")) transports.insert(t);
  const double total_bytes = sum(fs, names::kReadBytes);
  json transport = json::object();
  for (const auto& t : transports) {
    const double bytes = sum(fs, names::kReadBytes, with("transport", t));
    const auto served = merged(fs, names::kVolumeReadSeconds, [&t](const std::string& labels) {
      return label_value(labels, "transport") == t && label_value(labels, "outcome") == "ok";
    });
    const auto failed = merged(fs, names::kVolumeReadSeconds, [&t](const std::string& labels) {
      return label_value(labels, "transport") == t && label_value(labels, "outcome") != "ok";
    });
    json entry = {{"bytes", integer(bytes)}, {"share", ratio(bytes, total_bytes)}, {"failed_requests", failed.count}};
    entry.update(latency(served));
    entry["requests"] = entry["count"];
    entry.erase("count");
    transport[t] = entry;
  }
  out["transport"] = transport;
  out["read_bytes"] = integer(total_bytes);

  json fallbacks = json::object();
  for (const auto& reason : label_values(fs, names::kFallbacks, "reason"))
    fallbacks[reason] = integer(sum(fs, names::kFallbacks, with("reason", reason)));
  fallbacks["total"] = integer(sum(fs, names::kFallbacks));
  out["fallbacks"] = fallbacks;

  out["agents"] = {{"up", integer(sum(fs, names::kAgents, with("state", "up")))},
                   {"down", integer(sum(fs, names::kAgents, with("state", "down")))}};

  const double hits = sum(fs, names::kChunkCacheLookups, with("result", "hit"));
  const double misses = sum(fs, names::kChunkCacheLookups, with("result", "miss"));
  out["chunk_cache"] = {{"bytes", integer(sum(fs, names::kChunkCacheBytes))},
                        {"hits", integer(hits)},
                        {"misses", integer(misses)},
                        {"hit_rate", ratio(hits, hits + misses)}};

  json fuse = {{"inodes", integer(sum(fs, names::kInodes))},
               {"open_files", integer(sum(fs, names::kOpenFiles))},
               // Misses (ENOENT, ENODATA) and small buffers (ERANGE) are normal traffic, not errors.
               {"errors", integer(sum(fs, names::kFuseErrors, [](const std::string& labels) {
                  const auto e = label_value(labels, "errno");
                  return e != "ENOENT" && e != "ENODATA" && e != "ERANGE";
                }))}};
  json ops = json::object();
  for (const auto& op : label_values(fs, names::kFuseOpSeconds, "op")) {
    const auto h = merged(fs, names::kFuseOpSeconds, with("op", op));
    if (h.count) ops[op] = latency(h);
  }
  fuse["ops"] = ops;
  out["fuse"] = fuse;

  out["metadata"] = {{"subscription_lag_seconds",
                      present(fs, names::kSubscriptionLag) ? json(sum(fs, names::kSubscriptionLag)) : json(nullptr)}};
  out["process"] = {{"resident_bytes", integer(sum(fs, "process_resident_memory_bytes"))},
                    {"cpu_seconds", sum(fs, "process_cpu_seconds_total")},
                    {"threads", integer(sum(fs, "process_threads"))},
                    {"open_fds", integer(sum(fs, "process_open_fds"))}};
  return out;
}

std::string human_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t u = 0;
  while (std::fabs(bytes) >= 1024 && u + 1 < std::size(units)) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

std::string human_seconds(double s) {
  char buf[32];
  if (!std::isfinite(s)) return "-";
  if (s < 1e-3)
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  else if (s < 1)
    std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string format_table(const json& stats) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  const json mount = stats.value("mount", json::object());
  const json build = stats.value("build", json::object());
  std::string head = "mount " + str(mount, "mountpoint");
  if (!str(mount, "filer").empty()) head += "  filer " + str(mount, "filer") + str(mount, "filer_path");
  if (stats.contains("pid")) head += "  pid " + std::to_string(stats["pid"].get<int64_t>());
  if (stats.contains("uptime_seconds")) head += "  up " + human_seconds(stats["uptime_seconds"].get<double>());
  if (!str(build, "version").empty()) head += "  version " + str(build, "version") + " (" + str(build, "git") + ")";
  line(head);

  line(pad("transport", 12) + pad("bytes", 12) + pad("share", 8) + pad("requests", 10) + pad("p50", 10) +
       pad("p99", 10) + "failed");
  const json transports = stats.value("transport", json::object());  // range-for keeps no temporary alive
  for (const auto& [name, t] : transports.items())
    line(pad("  " + name, 12) + pad(human_bytes(num(t, "bytes")), 12) + pad(percent(t["share"]), 8) +
         pad(std::to_string(t.value("requests", uint64_t{0})), 10) + pad(seconds_or_dash(t["p50_seconds"]), 10) +
         pad(seconds_or_dash(t["p99_seconds"]), 10) + std::to_string(t.value("failed_requests", uint64_t{0})));

  std::string fb;
  const json fallbacks = stats.value("fallbacks", json::object());
  for (const auto& [reason, n] : fallbacks.items())
    if (reason != "total") fb += (fb.empty() ? "" : ", ") + reason + " " + std::to_string(n.get<uint64_t>());
  line(pad("fallbacks", 14) + std::to_string(fallbacks.value("total", uint64_t{0})) +
       (fb.empty() ? "" : " (" + fb + ")"));
  const json agents = stats.value("agents", json::object());
  line(pad("agents", 14) + "up " + std::to_string(agents.value("up", uint64_t{0})) + ", down " +
       std::to_string(agents.value("down", uint64_t{0})));
  const json cache = stats.value("chunk_cache", json::object());
  line(pad("chunk cache", 14) + "hit rate " + percent(cache.value("hit_rate", json(nullptr))) + " (" +
       std::to_string(cache.value("hits", uint64_t{0})) + " hits, " +
       std::to_string(cache.value("misses", uint64_t{0})) + " misses), " + human_bytes(num(cache, "bytes")) + " held");

  const json fuse = stats.value("fuse", json::object());
  const json ops = fuse.value("ops", json::object());
  if (ops.contains("read"))
    line(pad("read latency", 14) + "p50 " + seconds_or_dash(ops["read"]["p50_seconds"]) + ", p99 " +
         seconds_or_dash(ops["read"]["p99_seconds"]) + " (" + std::to_string(ops["read"].value("count", uint64_t{0})) +
         " FUSE reads)");
  line(pad("files", 14) + std::to_string(fuse.value("inodes", uint64_t{0})) + " inodes, " +
       std::to_string(fuse.value("open_files", uint64_t{0})) + " open, " +
       std::to_string(fuse.value("errors", uint64_t{0})) + " errors");
  const json meta = stats.value("metadata", json::object());
  if (meta.contains("subscription_lag_seconds") && meta["subscription_lag_seconds"].is_number())
    line(pad("metadata", 14) + "last event " + human_seconds(meta["subscription_lag_seconds"].get<double>()) + " ago");
  const json proc = stats.value("process", json::object());
  line(pad("process", 14) + "RSS " + human_bytes(num(proc, "resident_bytes")) + ", CPU " +
       human_seconds(num(proc, "cpu_seconds")) + ", " + std::to_string(proc.value("threads", uint64_t{0})) +
       " threads");
  return out;
}

}  // namespace seaweed::stats
