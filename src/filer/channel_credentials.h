// gRPC credentials for the filer from the cluster's security.toml, the way weed's clients dial
// (docs/seaweedfs/security-config.md): mutual TLS when [grpc] ca and [grpc.client] cert/key are all
// set, plain text otherwise. Like weed, the server certificate must chain to the CA but its host
// name is not checked (clusters share one certificate between hosts).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/security_config.h"

namespace grpc {
class ChannelCredentials;
}

namespace seaweed::filer {

// Null when the configuration asks for plain text. Unreadable or mismatched PEM files are an
// error naming the file (EINVAL / the open errno).
Result<std::shared_ptr<grpc::ChannelCredentials>> filer_channel_credentials(const SecurityConfig& config);

// What a TCP port speaks, found by starting a TLS handshake on it (certificates unchecked).
enum class PortSpeaks { kNothing, kTls, kPlain };
PortSpeaks probe_tls(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

}  // namespace seaweed::filer
