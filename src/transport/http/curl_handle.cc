#include "transport/http/curl_handle.h"

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
  if (!handle) {
    handle.reset(curl_easy_init());
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
