// gunzip of hostile bytes (gzip needles and chunks come from volume servers and agents).
// Input: two bytes choosing a small output limit, then the gzip data. Decoded once with the small
// limit and once with a larger one: the two must agree (the limit only ever cuts, never changes
// bytes), and what decodes re-encodes and decodes to the same bytes.
#include "codec/codec.h"
#include "fuzz_support.h"

using namespace seaweed;

namespace {
constexpr size_t kLargeLimit = size_t{1} << 20;
// Re-gzipping a bomb's megabyte of output would dominate the run time; the round trip of our own
// encoder is checked on outputs up to this size.
constexpr size_t kRoundTripLimit = size_t{64} << 10;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in(data, size);
  const size_t small_limit = in.integer<uint16_t>();
  const std::string_view gz = fuzz::as_text(in.rest());

  auto large = codec::gunzip(gz, kLargeLimit);
  auto small = codec::gunzip(gz, small_limit);
  if (!codec::is_gzip(gz)) FUZZ_CHECK(!large.ok() && !small.ok());
  if (!large) {
    FUZZ_CHECK(large.error().code == EIO);
    FUZZ_CHECK(!small.ok());
    return 0;
  }
  FUZZ_CHECK(large->size() <= kLargeLimit);
  if (large->size() <= small_limit) {
    FUZZ_CHECK(small.ok());
    FUZZ_CHECK(*small == *large);
  } else {
    FUZZ_CHECK(!small.ok() && small.error().code == EIO);
  }

  if (large->size() > kRoundTripLimit) return 0;
  auto again = codec::gzip(*large);
  FUZZ_CHECK(again.ok());
  auto round = codec::gunzip(*again);
  FUZZ_CHECK(round.ok());
  FUZZ_CHECK(*round == *large);
  return 0;
}
