// HTTP response heads from volume servers, fed line by line as libcurl does:
// ResponseHead::on_header_line() on hostile lines. Input: the head, split at '\n'. A status line
// starts a new head, so replaying the same lines after one more status line gives the same result.
#include "fuzz_support.h"
#include "transport/http/response_head.h"

using seaweed::transport::http::ResponseHead;

namespace {

ResponseHead feed(ResponseHead head, std::string_view text) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const size_t len = nl == std::string_view::npos ? text.size() : nl + 1;
    head.on_header_line(text.substr(0, len));
    text.remove_prefix(len);
  }
  return head;
}

bool same(const ResponseHead& a, const ResponseHead& b) {
  return a.status == b.status && a.content_length == b.content_length && a.range_start == b.range_start &&
         a.gzip_encoded == b.gzip_encoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = seaweed::fuzz::as_text({data, size});
  ResponseHead head = feed(ResponseHead{}, text);
  if (head.content_length) FUZZ_CHECK(text.find(':') != std::string_view::npos);
  head.on_header_line("HTTP/1.1 200 OK\r\n");
  FUZZ_CHECK(head.status == 200 && !head.content_length && !head.range_start && !head.gzip_encoded);

  const std::string replay = "HTTP/1.1 206 Partial Content\r\n" + std::string(text);
  FUZZ_CHECK(same(feed(feed(ResponseHead{}, text), replay), feed(ResponseHead{}, replay)));
  return 0;
}
