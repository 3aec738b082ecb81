// Read tokens for JWT-protected volume servers: minting (mount) and verifying (agent). What the
// token holds and how a volume server checks it: docs/seaweedfs/read-jwt.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::transport::http {

// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);
// Strict inverse: the url-safe alphabet only, no padding, no stray trailing bits. nullopt if not.
std::optional<std::string> base64url_decode(std::string_view text);

// HS256 JWT with payload {"fid":"<fid>","exp":<expires_unix_seconds>} signed with the volume servers'
// jwt.signing.read.key. fid must be the exact canonical string used in the request URL.
Result<std::string> mint_read_jwt(std::string_view signing_key, std::string_view fid, int64_t expires_unix_seconds);

// Why a read token was refused (the label of seaweed_agent_auth_failures_total).
enum class JwtRefusal : uint8_t {
  kMissing,      // no token at all
  kMalformed,    // not three base64url parts, or a header/payload that is not a JSON object
  kAlgorithm,    // alg is not an HMAC-SHA2 ("none", RS256, ...)
  kSignature,    // the HMAC does not match under our key
  kExpired,      // now >= exp
  kNotYetValid,  // now < nbf
  kWrongFid,     // the fid claim is missing or names another needle
};
const char* jwt_refusal_name(JwtRefusal refusal);

struct JwtVerdict {
  std::optional<JwtRefusal> refusal;  // nullopt: accepted
  std::string detail;                 // for logs and error replies; never contains the key
  // Of an accepted token: its exp claim (nullopt: none). A caller may accept the very same token
  // string for the same fid again, without a new MAC, until then.
  std::optional<double> expires;
  [[nodiscard]] bool ok() const { return !refusal.has_value(); }
};

// Checks a read token the way a volume server does: HS256/HS384/HS512 signature with
// signing_key, exp and nbf (when present) against now_unix_seconds, and the fid claim equal to
// `fid` (the canonical "vid,keycookie" string). The signature is compared in constant time and
// checked before any claim is believed.
JwtVerdict verify_read_jwt(std::string_view signing_key, std::string_view token, std::string_view fid,
                           int64_t now_unix_seconds);

}  // namespace seaweed::transport::http
