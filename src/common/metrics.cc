#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace seaweed {
namespace {

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and newline.
std::string escape_help(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void append_series_name(std::string& out, const std::string& name, const char* suffix, const std::string& labels,
                        const std::string& extra_label = "") {
  out += name;
  out += suffix;
  if (labels.empty() && extra_label.empty()) return;
  out += '{';
  out += labels;
  if (!labels.empty() && !extra_label.empty()) out += ',';
  out += extra_label;
  out += '}';
}

}  // namespace

size_t Histogram::bucket_of(uint64_t ns) {
  // First bound >= ns: `le` is inclusive. Five comparisons for 22 bounds.
  return static_cast<size_t>(std::lower_bound(kHistogramBoundsNs.begin(), kHistogramBoundsNs.end(), ns) -
                             kHistogramBoundsNs.begin());
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < kBuckets; ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

double Histogram::Snapshot::quantile(double q) const {
  if (count == 0) return std::nan("");
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count);
  uint64_t below = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    if (counts[i] == 0 || static_cast<double>(below + counts[i]) < rank) {
      below += counts[i];
      continue;
    }
    if (i == kBuckets - 1) return static_cast<double>(kHistogramBoundsNs.back()) / 1e9;
    const double lower = i == 0 ? 0.0 : static_cast<double>(kHistogramBoundsNs[i - 1]);
    const double upper = static_cast<double>(kHistogramBoundsNs[i]);
    const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    return (lower + (upper - lower) * within) / 1e9;
  }
  return static_cast<double>(kHistogramBoundsNs.back()) / 1e9;
}

std::string render_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::string out;
  for (const auto& [key, value] : labels) {
    if (!out.empty()) out += ',';
    out += key;
    out += "=\"";
    for (char c : value) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  return out;
}

std::string label_value(std::string_view labels, std::string_view key) {
  size_t i = 0;
  while (i < labels.size()) {
    const size_t eq = labels.find("=\"", i);
    if (eq == std::string_view::npos) return "";
    const std::string_view name = labels.substr(i, eq - i);
    std::string value;
    size_t j = eq + 2;
    for (; j < labels.size() && labels[j] != '"'; ++j) {
      if (labels[j] == '\\' && j + 1 < labels.size()) {
        ++j;
        value += labels[j] == 'n' ? '\n' : labels[j];
      } else {
        value += labels[j];
      }
    }
    if (name == key) return value;
    i = j + 1;
    if (i < labels.size() && labels[i] == ',') ++i;
  }
  return "";
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counters, byte gauges) as integers: "1000000", not "1e+06".
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

Metrics& Metrics::global() {
  // Never destroyed: threads (FUSE workers, UCX progress, civetweb) may still count while the
  // process exits, after static destructors ran.
  static Metrics& instance = *std::make_unique<Metrics>().release();
  return instance;
}

Metrics::Series& Metrics::series(const std::string& name, const std::string& help, const std::string& labels,
                                 MetricType type) {
  auto [it, inserted] = families_.try_emplace(name, Family{help, type, {}});
  Family& family = it->second;
  if (family.type != type)
    throw std::logic_error("metric " + name + " registered as " + type_name(family.type) + ", asked for as " +
                           type_name(type));
  for (auto& s : family.series)
    if (s.labels == labels && !s.callback) return s;
  auto& s = family.series.emplace_back();
  s.labels = labels;
  return s;
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, labels, MetricType::counter);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, labels, MetricType::gauge);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, labels, MetricType::histogram);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>();
  return *s.histogram;
}

Metrics::Registration& Metrics::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = std::exchange(o.owner_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

void Metrics::Registration::reset() {
  if (owner_) owner_->remove_callback(id_);
  owner_ = nullptr;
  id_ = 0;
}

Metrics::Registration Metrics::callback(const std::string& name, const std::string& help, const std::string& labels,
                                        MetricType type, std::function<double()> fn) {
  if (type == MetricType::histogram) throw std::logic_error("callback metric " + name + " cannot be a histogram");
  std::lock_guard lock(mu_);
  auto [it, inserted] = families_.try_emplace(name, Family{help, type, {}});
  if (it->second.type != type)
    throw std::logic_error("metric " + name + " registered as " + type_name(it->second.type) + ", asked for as " +
                           type_name(type));
  auto& s = it->second.series.emplace_back();
  s.labels = labels;
  s.callback = std::move(fn);
  s.callback_id = next_callback_id_++;
  return Registration(this, s.callback_id);
}

void Metrics::remove_callback(uint64_t id) {
  std::lock_guard running(callbacks_mu_);
  std::lock_guard lock(mu_);
  for (auto it = families_.begin(); it != families_.end(); ++it) {
    auto& list = it->second.series;
    auto found = std::find_if(list.begin(), list.end(), [id](const Series& s) { return s.callback_id == id; });
    if (found == list.end()) continue;
    list.erase(found);
    if (list.empty()) families_.erase(it);
    return;
  }
}

std::vector<Metrics::FamilySnapshot> Metrics::snapshot() const {
  // Callbacks take the locks of what they read (an inode table, a cache), and the owners of those
  // locks create metrics while holding them: callbacks run after mu_ is released (see callbacks_mu_).
  std::lock_guard running(callbacks_mu_);
  std::vector<FamilySnapshot> out;
  std::vector<std::pair<double*, std::function<double()>>> pending;  // where each callback's value goes
  {
    std::lock_guard lock(mu_);
    // Reserved to their final sizes: the addresses in `pending` stay valid.
    out.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      auto& f = out.emplace_back();
      f.name = name;
      f.help = family.help;
      f.type = family.type;
      f.series.reserve(family.series.size());
      for (const auto& s : family.series) {
        auto& snap = f.series.emplace_back();
        snap.labels = s.labels;
        if (s.callback)
          pending.emplace_back(&snap.value, s.callback);
        else if (s.counter)
          snap.value = static_cast<double>(s.counter->value());
        else if (s.gauge)
          snap.value = s.gauge->value();
        else if (s.histogram)
          snap.histogram = s.histogram->snapshot();
      }
    }
  }
  for (auto& [value, fn] : pending) *value = fn();
  return out;
}

std::string render_prometheus(const std::vector<Metrics::FamilySnapshot>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    for (const auto& s : f.series) {
      if (f.type != MetricType::histogram) {
        append_series_name(out, f.name, "", s.labels);
        out += ' ';
        out += format_metric_value(s.value);
        out += '\n';
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < Histogram::kBuckets; ++i) {
        cumulative += s.histogram.counts[i];
        const std::string le = i + 1 == Histogram::kBuckets
                                   ? "+Inf"
                                   : format_metric_value(static_cast<double>(kHistogramBoundsNs[i]) / 1e9);
        append_series_name(out, f.name, "_bucket", s.labels, "le=\"" + le + "\"");
        out += ' ' + std::to_string(cumulative) + '\n';
      }
      append_series_name(out, f.name, "_sum", s.labels);
      out += ' ' + format_metric_value(static_cast<double>(s.histogram.sum_ns) / 1e9) + '\n';
      append_series_name(out, f.name, "_count", s.labels);
      out += ' ' + std::to_string(s.histogram.count) + '\n';
    }
  }
  return out;
}

std::string Metrics::render() const { return render_prometheus(snapshot()); }

}  // namespace seaweed
