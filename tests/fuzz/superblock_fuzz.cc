// The superblock at the start of a .dat, on hostile bytes: parse_superblock() as a prefix and as
// the whole file.
#include "fuzz_support.h"
#include "volume/superblock.h"

using namespace seaweed::volume;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto prefix = parse_superblock(bytes);
  auto whole = parse_superblock(bytes, /*bytes_is_whole_file=*/true);
  if (!prefix) {
    FUZZ_CHECK(prefix.error().code == EINVAL);
    FUZZ_CHECK(!whole.ok());
    return 0;
  }
  FUZZ_CHECK(prefix->version >= 1 && prefix->version <= 3);
  FUZZ_CHECK(prefix->needles_start() >= kSuperBlockSize);
  if (whole) {
    FUZZ_CHECK(whole->needles_start() <= size);
    FUZZ_CHECK(whole->needles_start() == prefix->needles_start());
  } else {
    FUZZ_CHECK(whole.error().code == EINVAL);
    FUZZ_CHECK(prefix->needles_start() > size);
  }
  return 0;
}
