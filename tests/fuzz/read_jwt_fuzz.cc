// Read JWTs as the agent checks them (transport/http/jwt.h, verify_read_jwt) against a fixed key.
// The first byte picks the mode:
//   even: the rest is a hostile token for the fixed fid at a fixed "now". Whatever it is, an
//         accepted token must be exactly one our key signs: under any other key it is refused for
//         its signature, any single changed byte (position and xor from the input's tail) makes it
//         refused, its fid claim is ours and it has not expired.
//   odd:  a fid (printable ASCII, quotes and backslashes included), an exp and a byte change are
//         read from the rest; mint_read_jwt's token for them is accepted iff now < exp, refused
//         for another fid (wrong_fid) or another key (signature), and refused once changed.
#include "fuzz_support.h"
#include "transport/http/jwt.h"

namespace {

using seaweed::transport::http::JwtRefusal;
using seaweed::transport::http::mint_read_jwt;
using seaweed::transport::http::verify_read_jwt;

constexpr std::string_view kKey = "fuzz-read-signing-key";
constexpr std::string_view kOtherKey = "fuzz-read-signing-kez";
constexpr std::string_view kFid = "3,01637037d6";
constexpr int64_t kNow = 1'700'000'000;

// The token with one byte xor'ed (a non-zero xor, so it differs): must never be accepted.
void check_changed_byte_refused(const std::string& token, std::string_view fid, uint16_t where, uint8_t xor_with) {
  if (token.empty()) return;
  std::string changed = token;
  changed[where % changed.size()] = static_cast<char>(changed[where % changed.size()] ^ (xor_with | 1));
  FUZZ_CHECK(!verify_read_jwt(kKey, changed, fid, kNow).ok());
}

void hostile(seaweed::fuzz::InputReader& in) {
  const auto rest = in.rest();
  // The last 3 bytes also say which byte to change (they are part of the token too).
  const uint16_t where =
      rest.size() >= 3 ? static_cast<uint16_t>(rest[rest.size() - 3] << 8 | rest[rest.size() - 2]) : 0;
  const uint8_t xor_with = rest.empty() ? 1 : rest.back();
  const std::string token(seaweed::fuzz::as_text(rest));
  const auto verdict = verify_read_jwt(kKey, token, kFid, kNow);
  if (!verdict.ok()) return;
  FUZZ_CHECK(!verdict.expires || *verdict.expires > static_cast<double>(kNow));
  const auto other = verify_read_jwt(kOtherKey, token, kFid, kNow);
  FUZZ_CHECK(other.refusal == JwtRefusal::kSignature);
  FUZZ_CHECK(verify_read_jwt(kKey, token, "3,01637037d7", kNow).refusal == JwtRefusal::kWrongFid);
  check_changed_byte_refused(token, kFid, where, xor_with);
}

void minted(seaweed::fuzz::InputReader& in) {
  std::string fid = in.text(64);
  for (char& c : fid) c = static_cast<char>(0x20 + static_cast<unsigned char>(c) % 95);
  const auto exp = in.integer<int64_t>();
  const auto where = in.integer<uint16_t>();
  const uint8_t xor_with = in.byte();
  auto token = mint_read_jwt(kKey, fid, exp);
  FUZZ_CHECK(token.ok());
  const auto verdict = verify_read_jwt(kKey, *token, fid, kNow);
  if (kNow < exp) {
    FUZZ_CHECK(verdict.ok());
    FUZZ_CHECK(verdict.expires && *verdict.expires == static_cast<double>(exp));
    FUZZ_CHECK(verify_read_jwt(kKey, *token, fid + "x", kNow).refusal == JwtRefusal::kWrongFid);
  } else {
    FUZZ_CHECK(verdict.refusal == JwtRefusal::kExpired);
  }
  FUZZ_CHECK(verify_read_jwt(kOtherKey, *token, fid, kNow).refusal == JwtRefusal::kSignature);
  check_changed_byte_refused(*token, fid, where, xor_with);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seaweed::fuzz::InputReader in(data, size);
  if (in.byte() % 2 == 0)
    hostile(in);
  else
    minted(in);
  return 0;
}
