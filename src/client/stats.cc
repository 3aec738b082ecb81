#include "client/stats.h"

#include "common/metrics.h"

namespace seaweed::client {

Stats& stats() {
  static Stats s;
  return s;
}

uint64_t transport_bytes(const char* transport) {
  // The FallbackVolumeReader counts what each transport delivered (src/transport/fallback_volume_reader.cc).
  return Metrics::global()
      .counter("seaweed_mount_read_bytes_total", "Bytes read from volume servers, by transport",
               std::string("transport=\"") + transport + "\"")
      .value();
}

std::string format_stats() {
  const Stats& s = stats();
  std::string line;
  auto add = [&](const char* name, uint64_t value) {
    if (!line.empty()) line += ' ';
    line += name;
    line += '=';
    line += std::to_string(value);
  };
  auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  add("opens_served", v(s.opens_served));
  add("opens_declined", v(s.opens_declined));
  add("declined_inline", v(s.declined_inline));
  add("declined_tokens", v(s.declined_tokens));
  add("declined_snapshot", v(s.declined_snapshot));
  add("declined_other", v(s.declined_other));
  add("reads_served", v(s.reads_served));
  add("reads_fallback", v(s.reads_fallback));
  add("fallback_read_error", v(s.fallback_read_error));
  add("bytes_served", v(s.bytes_served));
  add("bytes_fallback", v(s.bytes_fallback));
  add("bytes_rdma", transport_bytes("rdma"));
  add("bytes_http", transport_bytes("http"));
  return line;
}

}  // namespace seaweed::client
