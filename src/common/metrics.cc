#include "common/metrics.h"

#include <map>
#include <memory>
#include <sstream>
#include <vector>

namespace seaweed {

Metrics& Metrics::global() {
  // Never destroyed: threads of the client library (src/client) may still count bytes while an
  // application exits.
  static Metrics& instance = *std::make_unique<Metrics>().release();
  return instance;
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e.name == name && e.labels == labels) return e.counter;
  auto& e = entries_.emplace_back();
  e.name = name;
  e.help = help;
  e.labels = labels;
  return e.counter;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const auto& e : entries_) by_name[e.name].push_back(&e);
  std::ostringstream out;
  for (const auto& [name, list] : by_name) {
    out << "# HELP " << name << " " << list.front()->help << "\n# TYPE " << name << " counter\n";
    for (const Entry* e : list) {
      out << name;
      if (!e->labels.empty()) out << "{" << e->labels << "}";
      out << " " << e->counter.value() << "\n";
    }
  }
  return out.str();
}

}  // namespace seaweed
