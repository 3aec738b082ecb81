// The strict base64url codec of read JWTs (transport/http/jwt.h): the input as bytes must
// survive encode -> decode, its encoding uses the url-safe alphabet only, without padding, at the
// exact length; the input as text, when it decodes at all, is the one canonical encoding of what
// it decodes to (no stray tail bits, no second spelling of the same bytes).
#include "fuzz_support.h"
#include "transport/http/jwt.h"

using seaweed::transport::http::base64url_decode;
using seaweed::transport::http::base64url_encode;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = seaweed::fuzz::as_text({data, size});
  const std::string encoded = base64url_encode(bytes);
  FUZZ_CHECK(encoded.size() == (size * 4 + 2) / 3);
  for (char c : encoded)
    FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  const auto round_trip = base64url_decode(encoded);
  FUZZ_CHECK(round_trip.has_value());
  FUZZ_CHECK(*round_trip == bytes);

  if (const auto decoded = base64url_decode(bytes)) {
    FUZZ_CHECK(base64url_encode(*decoded) == bytes);
    FUZZ_CHECK(decoded->size() == size * 3 / 4);
  }
  return 0;
}
