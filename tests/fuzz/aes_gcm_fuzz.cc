// AES-256-GCM open of hostile sealed bytes (encrypted chunks come from volume servers and
// agents; the key comes from the filer entry). Input: a byte choosing the key length (32 most of
// the time), a byte choosing which byte to flip, then the sealed data. Hostile data must fail
// with EIO (bad key length: EINVAL); sealing the same bytes with our own encoder must open to
// them, and flipping any one byte of that must fail authentication.
#include <string>

#include "codec/codec.h"
#include "fuzz_support.h"

using namespace seaweed;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in(data, size);
  const uint8_t key_choice = in.byte();
  const uint8_t flip_at = in.byte();
  const size_t key_size = key_choice < 0xf0 ? 32 : key_choice - 0xf0 + 24;  // 24..39
  const std::string key(key_size, static_cast<char>(key_choice));
  const std::string_view sealed = fuzz::as_text(in.rest());

  auto opened = codec::aes256gcm_open(key, sealed);
  if (key_size != 32) {
    FUZZ_CHECK(!opened.ok() && opened.error().code == EINVAL);
    return 0;
  }
  if (!opened) {
    FUZZ_CHECK(opened.error().code == EIO);
  } else {
    FUZZ_CHECK(opened->size() + 28 == sealed.size());
  }

  auto resealed = codec::aes256gcm_seal(key, sealed);
  FUZZ_CHECK(resealed.ok());
  FUZZ_CHECK(resealed->size() == sealed.size() + 28);
  auto clear = codec::aes256gcm_open(key, *resealed);
  FUZZ_CHECK(clear.ok());
  FUZZ_CHECK(*clear == sealed);
  std::string tampered = *resealed;
  tampered[flip_at % tampered.size()] ^= static_cast<char>(1u << (flip_at % 8));
  FUZZ_CHECK(!codec::aes256gcm_open(key, tampered).ok());
  return 0;
}
