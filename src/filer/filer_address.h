// "host:port" or "host:port.grpcPort" as `weed` takes filer addresses (fact sheet §0).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace seaweed::filer {

struct FilerAddress {
  std::string host;
  uint16_t http_port = 0;
  uint16_t grpc_port = 0;  // http_port + 10000 unless given explicitly

  [[nodiscard]] std::string http() const { return host + ":" + std::to_string(http_port); }
  [[nodiscard]] std::string grpc() const { return host + ":" + std::to_string(grpc_port); }

  static Result<FilerAddress> parse(const std::string& text);
};

}  // namespace seaweed::filer
