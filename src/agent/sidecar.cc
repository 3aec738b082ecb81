#include "agent/sidecar.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "common/file_id.h"
#include "common/metrics.h"
#include "transport/http/jwt.h"
#include "volume/needle.h"

namespace seaweed::agent {
namespace {

// A sidecar response is built in memory up to this size; larger ones are streamed.
constexpr uint64_t kMaxBufferedBody = 1 << 20;
constexpr size_t kStreamPiece = 1 << 20;

web::Response text(int status, std::string body) {
  web::Response r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
}

web::Response json(const nlohmann::json& j) {
  web::Response r;
  r.content_type = "application/json";
  r.body = j.dump() + "\n";
  return r;
}

std::optional<uint64_t> parse_u64(std::string_view s, int base = 10) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Decimal, as upstream's mount and sidecar send needle and cookie; "0x..." is read as hex (the
// upstream demo sidecar accepts a hex cookie that way).
std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return parse_u64(s.substr(2), 16);
  return parse_u64(s, 10);
}

int http_status(int code) {
  switch (code) {
    case ENOENT:
    case EACCES:  // a wrong cookie answers exactly like a missing needle
    case ENXIO:
      return 404;
    case EAGAIN:
      return 503;
    case EINVAL:
      return 400;
    case EPERM:
      return 401;
    default:  // EBADMSG (corrupt on disk) included, as the volume server answers a CRC mismatch
      return 500;
  }
}

Counter& sidecar_reads(const char* result) {
  return Metrics::global().counter("seaweed_agent_sidecar_reads_total", "Sidecar HTTP /read requests, by result",
                                   std::string("result=\"") + result + "\"");
}

Counter& auth_failures(transport::http::JwtRefusal refusal) {
  return Metrics::global().counter(
      "seaweed_agent_auth_failures_total", "Read tokens refused, by path and reason",
      std::string("path=\"sidecar\",reason=\"") + transport::http::jwt_refusal_name(refusal) + "\"");
}

// The read token of a request: ?jwt= first, then "Authorization: Bearer" (scheme in any case),
// as the volume server looks for it (docs/seaweedfs/read-jwt.md).
std::string token_of(const web::Request& r) {
  if (auto it = r.query.find("jwt"); it != r.query.end() && !it->second.empty()) return it->second;
  if (auto it = r.headers.find("authorization"); it != r.headers.end() && it->second.size() > 7) {
    std::string scheme = it->second.substr(0, 7);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme == "bearer ") return it->second.substr(7);
  }
  return {};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  if ((needle.flags & volume::kFlagCompressed) && codec::is_gzip(data)) {
    std::string out;
    auto s = codec::gunzip_stream(data, offset, size, [&](std::string_view piece) {
      out.append(piece);
      return true;
    });
    if (!s) return s.error();
    return out;
  }
  if (offset >= data.size()) return std::string();
  const uint64_t n = size == 0 ? data.size() - offset : std::min<uint64_t>(size, data.size() - offset);
  return std::string(data.substr(offset, n));
}

web::Response read_response(NeedleRead needle, uint64_t offset, uint64_t size) {
  web::Response resp;
  resp.content_type = "application/octet-stream";
  const std::string_view data(reinterpret_cast<const char*>(needle.data.data()), needle.data.size());
  const bool gzipped = (needle.flags & volume::kFlagCompressed) && codec::is_gzip(data);
  if (!gzipped) {
    // Straight from the mapping, which the response keeps alive until it is sent.
    const uint64_t from = std::min<uint64_t>(offset, data.size());
    const uint64_t n = size == 0 ? data.size() - from : std::min<uint64_t>(size, data.size() - from);
    resp.content_length = n;
    resp.stream = [needle = std::move(needle), data, from, n](const web::BodyWriter& write) {
      for (uint64_t done = 0; done < n;) {
        const size_t piece = static_cast<size_t>(std::min<uint64_t>(kStreamPiece, n - done));
        if (!write(data.substr(from + done, piece))) return;
        done += piece;
      }
    };
    return resp;
  }
  if (size != 0 && size <= kMaxBufferedBody) {
    std::string body(size, '\0');
    auto n = codec::gunzip_range(data, offset, std::span<char>(body.data(), body.size()));
    if (!n) return text(500, n.error().message);
    body.resize(*n);
    resp.body = std::move(body);
    return resp;
  }
  // Large or open-ended range of a gzip needle: count first, then inflate again while sending.
  uint64_t length = 0;
  auto counted = codec::gunzip_stream(data, offset, size, [&](std::string_view piece) {
    length += piece.size();
    return true;
  });
  if (!counted) return text(500, counted.error().message);
  resp.content_length = length;
  resp.stream = [needle = std::move(needle), data, offset, size](const web::BodyWriter& write) {
    (void)codec::gunzip_stream(data, offset, size, write);
  };
  return resp;
}

Result<std::unique_ptr<Sidecar>> Sidecar::start(const SidecarOptions& options, VolumeStore& store,
                                                const UcxServer* server) {
  auto s = std::make_unique<Sidecar>(Key{}, options, store, server);
  auto http = web::HttpServer::start(options.address, options.port, options.http);
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
  auto bad_request = [](const std::string& why) {
    sidecar_reads("bad_request").add();
    return text(400, why);
  };
  FileId fid;
  std::string fid_as_sent;  // the file_id spelling a client may have signed its token for
  uint64_t default_size = 0;
  if (const std::string f = param("file_id"); !f.empty()) {
    auto parsed = FileId::parse(f);
    if (!parsed) return bad_request(parsed.error().message);
    fid = *parsed;
    fid_as_sent = f;
  } else {
    // The upstream mount's form (weed/mount/rdma_client.go): decimal volume, needle and cookie;
    // size 4096 when absent, like the upstream sidecar.
    const auto vid = parse_u64(param("volume"));
    const auto key = parse_number(param("needle"));
    const auto cookie = parse_number(param("cookie"));
    if (!vid || !key || !cookie || *vid == 0 || *vid > UINT32_MAX || *cookie > UINT32_MAX)
      return bad_request(
          "need file_id=VID,KEYCOOKIE or volume=VID&needle=KEY&cookie=COOKIE (decimal; volume id below 2^32)");
    fid = FileId{static_cast<uint32_t>(*vid), *key, static_cast<uint32_t>(*cookie)};
    default_size = 4096;
  }
  const std::string off_text = param("offset"), size_text = param("size");
  const auto offset = off_text.empty() ? std::optional<uint64_t>(0) : parse_u64(off_text);
  auto size = size_text.empty() ? std::optional<uint64_t>(default_size) : parse_u64(size_text);
  if (!offset || !size) return bad_request("offset and size must be non-negative integers");
  if (*size == 0) size = default_size;
  const std::string read_deleted = param("readDeleted");
  if (!read_deleted.empty() && read_deleted != "true" && read_deleted != "false")
    return bad_request("readDeleted must be true or false");

  const std::string canonical = fid.to_string();
  if (!options_.jwt_read_key.empty()) {
    const std::string token = token_of(r);
    auto verdict = transport::http::verify_read_jwt(options_.jwt_read_key, token, canonical, unix_now());
    if (!verdict.ok() && verdict.refusal == transport::http::JwtRefusal::kWrongFid && !fid_as_sent.empty() &&
        fid_as_sent != canonical)
      verdict = transport::http::verify_read_jwt(options_.jwt_read_key, token, fid_as_sent, unix_now());
    if (!verdict.ok()) {
      auth_failures(*verdict.refusal).add();
      sidecar_reads("auth").add();
      spdlog::debug("sidecar read of {} refused: {}", canonical, verdict.detail);
      web::Response resp = text(401, std::string("wrong jwt: ") + transport::http::jwt_refusal_name(*verdict.refusal));
      return resp;
    }
  }

  auto needle = store_.lookup(fid.volume_id, fid.key, fid.cookie, read_deleted == "true");
  if (!needle) {
    const int code = needle.error().code;
    if (code == ENOENT || code == EACCES) {
      // One answer for a missing, deleted and wrong-cookie needle (counted apart internally).
      sidecar_reads(code == EACCES ? "cookie_mismatch" : "miss").add();
      return text(404, "needle " + canonical + " not found");
    }
    if (code == EBADMSG) {
      sidecar_reads("corrupt").add();
      spdlog::warn("sidecar: volume {} needle {:x}: not served, corrupt on disk: {}", fid.volume_id, fid.key,
                   needle.error().message);
      return text(500, "needle " + canonical + " is corrupt on this server");
    }
    sidecar_reads("miss").add();
    return text(http_status(code), needle.error().message);
  }
  const bool verified = needle->crc_verified;
  const uint32_t crc = needle->crc;
  web::Response resp = read_response(std::move(*needle), *offset, *size);
  if (resp.status != 200) {
    sidecar_reads("error").add();
    return resp;
  }
  sidecar_reads("ok").add();
  resp.headers["X-Source"] = "rdma-agent";
  // The bytes come from the agent's own read of the volume files, not from the volume server:
  // upstream mounts only use a sidecar body when this says "true".
  resp.headers["X-RDMA-Used"] = "true";
  resp.headers["X-File-Id"] = canonical;
  if (verified) {
    char etag[16];
    std::snprintf(etag, sizeof etag, "\"%08x\"", crc);  // the needle's CRC-32C, as the volume server's ETag
    resp.headers["ETag"] = etag;
  }
  return resp;
}

}  // namespace seaweed::agent
