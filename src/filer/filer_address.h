// "host:port" or "host:port.grpcPort" as `weed` takes filer addresses (gRPC port = HTTP port + 10000
// unless given).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace seaweed::filer {

struct FilerAddress {
  std::string host;
  uint16_t http_port = 0;
  uint16_t grpc_port = 0;  // http_port + 10000 unless given explicitly

  [[nodiscard]] std::string http() const { return host + ":" + std::to_string(http_port); }
  [[nodiscard]] std::string grpc() const { return host + ":" + std::to_string(grpc_port); }

  static Result<FilerAddress> parse(const std::string& text);
  // "a:8888,b:8888.18888": several filers (weed mount's -filer), in the order to try them.
  static Result<std::vector<FilerAddress>> parse_list(const std::string& text);
};

// A gRPC channel to the filer with the settings every caller needs: large receive limit,
// keepalive the filer tolerates, and a bounded reconnect backoff. `purpose` > 0 gives a separate
// connection (gRPC shares connections between channels with identical arguments).
// credentials: from filer_channel_credentials(); null dials in plain text.
std::shared_ptr<grpc::Channel> make_filer_channel(const FilerAddress& address, int purpose = 0,
                                                  std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

}  // namespace seaweed::filer
