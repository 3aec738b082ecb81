// RAII around libcurl: process-wide init, one reusable easy handle per thread, header lists.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace seaweed::transport::http {

struct CurlEasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyCleanup>;

struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHeaderList = std::unique_ptr<curl_slist, CurlSlistFree>;

// curl_global_init, exactly once per process. Returns false if it failed.
bool ensure_curl_initialized();

// The calling thread's easy handle, reset to default options but keeping its connection cache (keep-alive
// across requests). Lives until the thread exits. nullptr if libcurl could not be initialised.
CURL* thread_easy_handle();

// Appends one "Name: value" line; returns false on allocation failure.
bool append_header(CurlHeaderList& list, const char* line);

}  // namespace seaweed::transport::http
