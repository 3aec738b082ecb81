#include "filer/filer_address.h"

#include <grpcpp/grpcpp.h>

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
  if (text.find(',') != std::string::npos) return bad("one filer expected here (several: -filer=a:8888,b:8888)");
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

Result<std::vector<FilerAddress>> FilerAddress::parse_list(const std::string& text) {
  std::vector<FilerAddress> out;
  size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    auto one = parse(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!one.ok()) return one.error();
    out.push_back(std::move(one.value()));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::shared_ptr<grpc::Channel> make_filer_channel(const FilerAddress& address, int purpose,
                                                  std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(1 << 30);  // entries with thousands of chunks exceed the 4 MiB default
  args.SetMaxSendMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);  // the filer sends GOAWAY to clients pinging more often than 20 s
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC's default reconnect backoff grows to 120 s: after a filer restart the mount would stay
  // cut off for tens of seconds. Retry at most every 2 s. Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS:
  // gRPC takes it as the minimum connect timeout too, and at 100 ms a loaded machine cut the
  // handshake short ("tcp handshaker shutdown": mounts failed to start under load).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (purpose > 0) args.SetInt("seaweed.channel.purpose", purpose);
  if (!credentials) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(address.grpc(), credentials, args);
}

}  // namespace seaweed::filer
