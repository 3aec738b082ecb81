// The agent's HTTP sidecar API, compatible with upstream weed mount's -rdma.sidecar client and
// the upstream sidecar's request forms (src/agent/README.md "Sidecar"): /health, /stats, /read,
// /cleanup. Reads are answered from the VolumeStore in-process (this path is for HTTP-speaking
// clients; the fast path is UCX), with the same read-token rule as UCX.
#pragma once

#include <memory>
#include <string>

#include "agent/ucx_server.h"
#include "agent/volume_store.h"
#include "common/result.h"
#include "web/http_server.h"

namespace seaweed::agent {

struct SidecarOptions {
  std::string address = "127.0.0.1";
  int port = 0;
  std::string volume_server;  // reported in /health and /stats
  std::string jwt_read_key;   // when set, /read needs a valid read token for the fid
  web::HttpServerOptions http;
};

class Sidecar {
 public:
  // store must outlive the sidecar; server may be null (no UCX connection count in /health).
  static Result<std::unique_ptr<Sidecar>> start(const SidecarOptions& options, VolumeStore& store,
                                                const UcxServer* server);

  // Route handlers (public for tests).
  web::Response health() const;
  web::Response stats() const;
  web::Response read(const web::Request& request) const;

  struct Key {
   private:
    Key() = default;
    friend class Sidecar;
  };
  Sidecar(Key, SidecarOptions options, VolumeStore& store, const UcxServer* server)
      : options_(std::move(options)), store_(store), server_(server) {}

 private:
  SidecarOptions options_;
  VolumeStore& store_;
  const UcxServer* server_;
  std::unique_ptr<web::HttpServer> http_;
};

// Clear bytes [offset, offset+size) of a needle (size 0 = to the end), inflating gzip needles
// only as far as the range. Builds the whole range in memory: for small ranges and tests.
Result<std::string> clear_range(const NeedleRead& needle, uint64_t offset, uint64_t size);

// The body of GET /read: small ranges are built in memory, larger ones streamed (a gzip needle
// in two passes, one to learn the length), so a request costs at most ~1 MiB of memory
// whatever it asks for. Exposed for tests.
web::Response read_response(NeedleRead needle, uint64_t offset, uint64_t size);

}  // namespace seaweed::agent
