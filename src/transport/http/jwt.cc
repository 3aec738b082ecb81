#include "transport/http/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>

namespace seaweed::transport::http {
namespace {

constexpr std::string_view kBase64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// JSON string body for fid; fids are "<digits>,<hex>" but escape anyway so the token is always valid JSON.
std::string json_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      std::array<char, 7> code{};
      std::snprintf(code.data(), code.size(), "\\u%04x", static_cast<unsigned>(c));
      escaped += code.data();
    } else {
      escaped += c;
    }
  }
  return escaped;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string encoded;
  encoded.reserve((bytes.size() * 4 + 2) / 3);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    encoded += kBase64UrlAlphabet[group >> 18];
    encoded += kBase64UrlAlphabet[(group >> 12) & 63];
    encoded += kBase64UrlAlphabet[(group >> 6) & 63];
    encoded += kBase64UrlAlphabet[group & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t group = uint32_t{p[i]} << 16 | (rest == 2 ? uint32_t{p[i + 1]} << 8 : 0);
    encoded += kBase64UrlAlphabet[group >> 18];
    encoded += kBase64UrlAlphabet[(group >> 12) & 63];
    if (rest == 2) encoded += kBase64UrlAlphabet[(group >> 6) & 63];
  }
  return encoded;
}

Result<std::string> mint_read_jwt(std::string_view signing_key, std::string_view fid, int64_t expires_unix_seconds) {
  static const std::string kHeader = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  const std::string payload =
      R"({"fid":")" + json_escape(fid) + R"(","exp":)" + std::to_string(expires_unix_seconds) + "}";
  std::string token = kHeader + "." + base64url_encode(payload);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), signing_key.empty() ? "" : signing_key.data(), static_cast<int>(signing_key.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac.data(), &mac_size) == nullptr) {
    return make_error(EIO, "mint read jwt for " + std::string(fid) + ": HMAC-SHA256 failed");
  }
  token += '.';
  token += base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_size));
  return token;
}

}  // namespace seaweed::transport::http
