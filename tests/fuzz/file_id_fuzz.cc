// File id strings ("<vid>,<key hex><cookie hex8>") from filer entries, manifests and the sidecar
// query: FileId::parse() on hostile text, and the parse/format round trip. Formatting a parsed id
// gives the canonical form, which parses to the same id and formats to itself.
#include "common/file_id.h"
#include "fuzz_support.h"

using seaweed::FileId;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = seaweed::fuzz::as_text({data, size});
  auto id = FileId::parse(text);
  if (id) {
    const std::string canonical = id->to_string();
    auto again = FileId::parse(canonical);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *id);
    FUZZ_CHECK(again->to_string() == canonical);
  } else {
    FUZZ_CHECK(id.error().code == EINVAL);
  }

  // Any id with a non-zero key survives format -> parse (needle keys start at 1; like upstream,
  // a key-less string is refused).
  seaweed::fuzz::InputReader in(data, size);
  const FileId built{in.integer<uint32_t>(), in.integer<uint64_t>(), in.integer<uint32_t>()};
  auto parsed = FileId::parse(built.to_string());
  if (built.key != 0) {
    FUZZ_CHECK(parsed.ok());
    FUZZ_CHECK(*parsed == built);
  } else {
    FUZZ_CHECK(!parsed.ok());
  }
  return 0;
}
