// One HTTP GET on the calling thread's reusable curl handle, with the body streamed to a callback.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/http/response_head.h"

namespace seaweed::transport::http {

struct GetRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_ms = 3000;
  long request_timeout_ms = 30000;  // whole transfer
  // When > 0: fails (ETIMEDOUT) when no byte arrives for this long (whole seconds, at least 1),
  // e.g. a reply that never starts on a keep-alive connection into a partition.
  long stall_timeout_ms = 0;
};

// Receives body bytes as they arrive, with the head of the response they belong to. Returning false
// aborts the transfer (GetOutcome::transport_ok is then false, with the abort reported as a write error).
using BodyConsumer = std::function<bool(const ResponseHead& head, std::string_view bytes)>;

struct GetOutcome {
  bool transport_ok = false;    // the exchange completed (any HTTP status)
  std::string transport_error;  // libcurl's reason when it did not
  int transport_errno = 0;      // and its errno: ETIMEDOUT, ECONNREFUSED, EIO
  ResponseHead head;            // of the final response
};

// Never throws; every request is bounded by the timeouts in the GetRequest.
GetOutcome http_get(const GetRequest& request, const BodyConsumer& consume_body);

}  // namespace seaweed::transport::http
