// Query strings of the agent's sidecar and metrics endpoints, straight from the network:
// web::parse_query() on hostile text (a C string, as civetweb hands it over, so an embedded NUL
// ends it). What parses holds no NUL in any name or value, and percent-encoding every name and
// value again gives a query that parses to the same map.
#include <cctype>
#include <string>

#include "fuzz_support.h"
#include "web/http_server.h"

namespace {

std::string encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto query = seaweed::web::parse_query(text.c_str());
  if (!query) return 0;
  std::string again;
  for (const auto& [name, value] : *query) {
    FUZZ_CHECK(name.find('\0') == std::string::npos && value.find('\0') == std::string::npos);
    if (!again.empty()) again.push_back('&');
    again += encode(name) + "=" + encode(value);
  }
  const auto reparsed = seaweed::web::parse_query(again.c_str());
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(*reparsed == *query);
  return 0;
}
