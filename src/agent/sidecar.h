// The agent's HTTP sidecar API, compatible with upstream weed mount's -rdma.sidecar client
// (fact sheet §6.6): /health, /stats, /read, /cleanup. Reads are answered from the VolumeStore
// in-process (this path is for HTTP-speaking clients; the fast path is UCX).
#pragma once

#include <memory>
#include <string>

#include "agent/ucx_server.h"
#include "agent/volume_store.h"
#include "common/result.h"
#include "web/http_server.h"

namespace seaweed::agent {

struct SidecarOptions {
  std::string address = "0.0.0.0";
  int port = 0;
  std::string volume_server;  // reported in /health and /stats
};

class Sidecar {
 public:
  // store and server must outlive the sidecar.
  static Result<std::unique_ptr<Sidecar>> start(const SidecarOptions& options, VolumeStore& store,
                                                const UcxServer& server);

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

// The body of GET /read for a needle: clear bytes [offset, offset+size) (size 0 = to the end),
// inflating gzip needles. Exposed for tests.
Result<std::string> clear_range(const NeedleRead& needle, uint64_t offset, uint64_t size);

}  // namespace seaweed::agent
