#include "agent/sidecar.h"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "common/file_id.h"
#include "common/metrics.h"
#include "transport/ucx/agent_client.h"
#include "volume/needle.h"

namespace seaweed::agent {
namespace {

web::Response text(int status, std::string body) {
  return web::Response{status, "text/plain; charset=utf-8", std::move(body) + "\n", {}};
}

web::Response json(const nlohmann::json& j) { return web::Response{200, "application/json", j.dump() + "\n", {}}; }

std::optional<uint64_t> parse_u64(const std::string& s, int base = 10) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

int http_status(int code) {
  switch (code) {
    case ENOENT:
    case ENXIO:
      return 404;
    case EACCES:
      return 403;
    case EAGAIN:
      return 503;
    case EINVAL:
      return 400;
    default:
      return 500;
  }
}

Counter& sidecar_reads(const char* result) {
  return Metrics::global().counter("seaweed_agent_sidecar_reads_total", "Sidecar HTTP /read requests, by result",
                                   std::string("result=\"") + result + "\"");
}

// Prometheus text ("name{labels} value" lines) -> {"name{labels}": value}.
nlohmann::json counters_as_json(const std::string& text) {
  nlohmann::json out = nlohmann::json::object();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (auto v = parse_u64(line.substr(space + 1))) out[line.substr(0, space)] = *v;
  }
  return out;
}

}  // namespace

Result<std::string> clear_range(const NeedleRead& needle, uint64_t offset, uint64_t size) {
  std::string_view data(reinterpret_cast<const char*>(needle.data.data()), needle.data.size());
  std::string clear;
  if ((needle.flags & volume::kFlagCompressed) && codec::is_gzip(data)) {
    auto inflated = codec::gunzip(data);
    if (!inflated) return inflated.error();
    clear = std::move(*inflated);
    data = clear;
  }
  if (offset >= data.size()) return std::string();
  const uint64_t n = size == 0 ? data.size() - offset : std::min<uint64_t>(size, data.size() - offset);
  return std::string(data.substr(offset, n));
}

Result<std::unique_ptr<Sidecar>> Sidecar::start(const SidecarOptions& options, VolumeStore& store,
                                                const UcxServer& server) {
  auto s = std::make_unique<Sidecar>(Key{}, options, store, &server);
  auto http = web::HttpServer::start(options.address, options.port, 4);
  if (!http) return http.error().context("sidecar");
  Sidecar* self = s.get();
  (*http)->route("/health", [self](const web::Request&) { return self->health(); });
  (*http)->route("/stats", [self](const web::Request&) { return self->stats(); });
  (*http)->route("/read", [self](const web::Request& r) { return self->read(r); });
  (*http)->route("/cleanup", [](const web::Request& r) {
    if (r.method != "DELETE" && r.method != "POST") return text(405, "use DELETE");
    return text(200, "ok");  // this sidecar never hands out temp files
  });
  s->http_ = std::move(*http);
  return s;
}

web::Response Sidecar::health() const {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  nlohmann::json j = {
      {"status", "healthy"},
      {"rdma", {{"enabled", true}, {"connected", true}, {"connections", server_ ? server_->connection_count() : 0}}},
      {"volumeServer", options_.volume_server},
      {"volumes", store_.volume_count()},
      {"timestamp", std::chrono::duration_cast<std::chrono::seconds>(now).count()}};
  return json(j);
}

web::Response Sidecar::stats() const {
  nlohmann::json volumes = nlohmann::json::array();
  for (const auto& v : store_.stats()) {
    volumes.push_back({{"id", v.volume_id},
                       {"collection", v.collection},
                       {"needles", v.needles},
                       {"live", v.live},
                       {"datSize", v.dat_size},
                       {"idxSize", v.idx_size},
                       {"compactionRevision", v.compaction_revision},
                       {"version", v.version},
                       {"bytesOffset", v.bytes_offset}});
  }
  nlohmann::json j = {{"volumeServer", options_.volume_server},
                      {"connections", server_ ? server_->connection_count() : 0},
                      {"volumes", volumes},
                      {"counters", counters_as_json(Metrics::global().render())}};
  return json(j);
}

web::Response Sidecar::read(const web::Request& r) const {
  if (r.method != "GET" && r.method != "HEAD") return text(405, "use GET");
  auto param = [&](const char* name) -> std::string {
    auto it = r.query.find(name);
    return it == r.query.end() ? std::string() : it->second;
  };
  FileId fid;
  if (const std::string f = param("file_id"); !f.empty()) {
    auto parsed = FileId::parse(f);
    if (!parsed) {
      sidecar_reads("bad_request").add();
      return text(400, parsed.error().message);
    }
    fid = *parsed;
  } else {
    const auto vid = parse_u64(param("volume"));
    const auto key = parse_u64(param("needle"), 16);
    const auto cookie = parse_u64(param("cookie"), 16);
    if (!vid || !key || !cookie || *vid > UINT32_MAX || *cookie > UINT32_MAX) {
      sidecar_reads("bad_request").add();
      return text(400, "need file_id=VID,KEYCOOKIE or volume=&needle=(hex)&cookie=(hex)");
    }
    fid = FileId{static_cast<uint32_t>(*vid), *key, static_cast<uint32_t>(*cookie)};
  }
  const std::string off_text = param("offset"), size_text = param("size");
  const auto offset = off_text.empty() ? std::optional<uint64_t>(0) : parse_u64(off_text);
  const auto size = size_text.empty() ? std::optional<uint64_t>(0) : parse_u64(size_text);
  if (!offset || !size) {
    sidecar_reads("bad_request").add();
    return text(400, "offset and size must be non-negative integers");
  }
  auto needle = store_.lookup(fid.volume_id, fid.key, fid.cookie);
  if (!needle) {
    sidecar_reads("miss").add();
    return text(http_status(needle.error().code), needle.error().message);
  }
  auto body = clear_range(*needle, *offset, *size);
  if (!body) {
    sidecar_reads("error").add();
    return text(500, body.error().message);
  }
  sidecar_reads("ok").add();
  web::Response resp{200, "application/octet-stream", std::move(*body), {}};
  resp.headers["X-Source"] = "rdma-agent";
  // The bytes come from the agent's own read of the volume files, not from the volume server:
  // upstream mounts only use a sidecar body when this says "true".
  resp.headers["X-RDMA-Used"] = "true";
  resp.headers["X-File-Id"] = fid.to_string();
  return resp;
}

}  // namespace seaweed::agent
