#include "transport/http/curl_handle.h"

#include <unistd.h>

#include <mutex>

namespace seaweed::transport::http {

bool ensure_curl_initialized() {
  static std::once_flag once;
  static CURLcode init_result = CURLE_FAILED_INIT;
  std::call_once(once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return init_result == CURLE_OK;
}

CURL* thread_easy_handle() {
  if (!ensure_curl_initialized()) return nullptr;
  thread_local CurlEasy handle;
  thread_local pid_t owner = 0;
  if (handle && owner != getpid()) {
    // A forked child inherited the parent's connection (the client library runs in application
    // processes, docs/PRELOAD.md): sharing its socket would mix replies, so start afresh and leave
    // the parent's handle alone.
    (void)handle.release();
  }
  if (!handle) {
    handle.reset(curl_easy_init());
    owner = getpid();
  } else {
    curl_easy_reset(handle.get());
  }
  return handle.get();
}

bool append_header(CurlHeaderList& list, const char* line) {
  curl_slist* extended = curl_slist_append(list.get(), line);
  if (extended == nullptr) return false;
  list.release();  // now owned through extended (same head, or a new list if list was empty)
  list.reset(extended);
  return true;
}

}  // namespace seaweed::transport::http
