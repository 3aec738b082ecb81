#include "transport/http/http_get.h"

#include <algorithm>
#include <cerrno>

#include "transport/http/curl_handle.h"

namespace seaweed::transport::http {
namespace {

constexpr long kReceiveBufferBytes = 256 * 1024;  // fewer, larger write callbacks than the 16 KiB default
constexpr long kMaxRedirects = 3;                 // volume servers in readMode=redirect answer 301

struct Transfer {
  const BodyConsumer& consume_body;
  ResponseHead head;
  bool consumer_threw = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  transfer.head.on_header_line(std::string_view(data, size * count));
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  try {
    return transfer.consume_body(transfer.head, std::string_view(data, bytes)) ? bytes : 0;
  } catch (...) {  // an exception must not unwind through libcurl's C frames
    transfer.consumer_threw = true;
    return 0;
  }
}

// curl_easy_setopt is variadic: each call passes exactly the type the option expects.
bool configure(CURL* curl, const GetRequest& request, curl_slist* headers, Transfer& transfer, char* error_buffer) {
  bool ok = true;
  const auto set = [&](CURLoption option, auto value) { ok = ok && curl_easy_setopt(curl, option, value) == CURLE_OK; };
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_HTTPGET, 1L);
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TCP_NODELAY, 1L);
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  set(CURLOPT_TIMEOUT_MS, request.request_timeout_ms);
  if (request.stall_timeout_ms > 0) {  // below 1 byte/s for that many seconds
    set(CURLOPT_LOW_SPEED_LIMIT, 1L);
    set(CURLOPT_LOW_SPEED_TIME, std::max(1L, (request.stall_timeout_ms + 999) / 1000));
  }
  set(CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_MAXREDIRS, kMaxRedirects);
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_UNRESTRICTED_AUTH, 1L);  // the read JWT names the fid, not the host: keep it across a redirect
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  return ok;
}

}  // namespace

GetOutcome http_get(const GetRequest& request, const BodyConsumer& consume_body) {
  GetOutcome outcome;
  CURL* curl = thread_easy_handle();
  if (curl == nullptr) {
    outcome.transport_error = "libcurl initialisation failed";
    return outcome;
  }
  CurlHeaderList headers;
  for (const auto& line : request.headers) {
    if (!append_header(headers, line.c_str())) {
      outcome.transport_error = "out of memory building request headers";
      return outcome;
    }
  }
  Transfer transfer{consume_body, {}, false};
  char error_buffer[CURL_ERROR_SIZE] = {};
  if (!configure(curl, request, headers.get(), transfer, error_buffer)) {
    outcome.transport_error = "setting libcurl options failed";
    return outcome;
  }
  const CURLcode code = curl_easy_perform(curl);
  // Nothing may point into this frame once we return: the handle outlives the call.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));

  outcome.head = transfer.head;
  outcome.transport_ok = code == CURLE_OK;
  if (!outcome.transport_ok) {
    outcome.transport_errno = code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT
                              : code == CURLE_COULDNT_CONNECT  ? ECONNREFUSED
                                                               : EIO;
    outcome.transport_error = transfer.consumer_threw   ? "exception while consuming the body"
                              : error_buffer[0] != '\0' ? error_buffer
                                                        : curl_easy_strerror(code);
  }
  return outcome;
}

}  // namespace seaweed::transport::http
