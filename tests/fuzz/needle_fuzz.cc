// Needle records as the agent reads them from a .dat: parse_needle() (v1, v2, v3) and the CRC
// check on hostile bytes. Input: one byte selecting the version, then the record. Whatever parses
// must point inside the record, and re-encoding the parsed fields (tests/volume/volume_builder.h)
// must parse back to the same fields.
#include "fuzz_support.h"
#include "volume/needle.h"
#include "volume/volume_builder.h"

using namespace seaweed::volume;

namespace {

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}
bool inside(std::string_view part, std::span<const uint8_t> whole) {
  return inside(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(part.data()), part.size()), whole);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seaweed::fuzz::InputReader in(data, size);
  const int version = 1 + in.byte() % 3;
  const auto record = in.rest();
  auto needle = parse_needle(record, version);
  if (!needle) {
    FUZZ_CHECK(needle.error().code == EINVAL);
    return 0;
  }
  const Needle& n = *needle;
  FUZZ_CHECK(needle_used_size(n.header.size, version) <= record.size());
  FUZZ_CHECK(inside(n.data, record) && inside(n.name, record) && inside(n.mime, record) && inside(n.pairs, record));
  FUZZ_CHECK(n.data.size() == n.data_size);
  FUZZ_CHECK(needle_padding(n.header.size, version) >= 1 && needle_padding(n.header.size, version) <= 8);
  FUZZ_CHECK(needle_actual_size(n.header.size, version) % kNeedlePaddingUnit == 0);

  auto crc = verify_needle_crc(n);
  if (crc)
    FUZZ_CHECK(crc_matches(n.stored_crc, *crc));
  else
    FUZZ_CHECK(crc.error().code == EBADMSG);

  // Re-encode what was parsed and parse it again: the fields must survive.
  testing::NeedleSpec spec;
  spec.cookie = n.header.cookie;
  spec.key = n.header.key;
  spec.data.assign(reinterpret_cast<const char*>(n.data.data()), n.data.size());
  spec.flags = n.flags;
  spec.name = n.name;
  spec.mime = n.mime;
  spec.last_modified = n.last_modified;
  spec.ttl_count = n.ttl_count;
  spec.ttl_unit = n.ttl_unit;
  spec.pairs = n.pairs;
  spec.append_at_ns = n.append_at_ns;
  const auto encoded = testing::encode_needle(spec, version);
  auto back = parse_needle(encoded, version);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->header.cookie == n.header.cookie && back->header.key == n.header.key);
  FUZZ_CHECK(seaweed::fuzz::as_text(back->data) == seaweed::fuzz::as_text(n.data));
  if (version > 1) {
    FUZZ_CHECK(back->flags == n.flags);
    FUZZ_CHECK(back->name == n.name && back->mime == n.mime && back->pairs == n.pairs);
    FUZZ_CHECK(back->last_modified == n.last_modified);
    FUZZ_CHECK(back->ttl_count == n.ttl_count && back->ttl_unit == n.ttl_unit);
  }
  if (version == 3) FUZZ_CHECK(back->append_at_ns == n.append_at_ns);
  FUZZ_CHECK(verify_needle_crc(*back).ok());
  return 0;
}
