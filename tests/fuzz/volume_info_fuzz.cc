// The .vif file (protojson VolumeInfo) as the agent reads it: parse_volume_info() on hostile text.
#include "fuzz_support.h"
#include "volume/volume_info.h"

using namespace seaweed::volume;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = parse_volume_info(seaweed::fuzz::as_text({data, size}));
  if (!info) {
    FUZZ_CHECK(info.error().code == EINVAL);
    return 0;
  }
  if (info->bytes_offset) FUZZ_CHECK(*info->bytes_offset == 4 || *info->bytes_offset == 5);
  FUZZ_CHECK(info->version >= 0 && info->version <= 255);
  return 0;
}
