#include "filer/filer_address.h"

#include <charconv>

namespace seaweed::filer {
namespace {

bool parse_port(const std::string& s, uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

Result<FilerAddress> FilerAddress::parse(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return make_error(EINVAL, "bad filer address \"" + text + "\": " + why + " (want HOST:PORT or HOST:PORT.GRPCPORT)");
  };
  if (text.find(',') != std::string::npos) return bad("only one filer is supported");
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("missing port");
  FilerAddress a;
  a.host = text.substr(0, colon);
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  std::string ports = text.substr(colon + 1);
  const auto dot = ports.rfind('.');
  if (dot != std::string::npos) {
    if (!parse_port(ports.substr(0, dot), a.http_port) || !parse_port(ports.substr(dot + 1), a.grpc_port))
      return bad("invalid port");
  } else {
    if (!parse_port(ports, a.http_port)) return bad("invalid port");
    if (a.http_port > 65535 - 10000) return bad("HTTP port + 10000 is not a valid gRPC port; give HOST:PORT.GRPCPORT");
    a.grpc_port = static_cast<uint16_t>(a.http_port + 10000);
  }
  return a;
}

}  // namespace seaweed::filer
