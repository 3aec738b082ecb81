#include "transport/http/jwt.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

namespace seaweed::transport::http {
namespace {

constexpr std::string_view kBase64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Tokens are ~150 bytes; anything this long is not one of ours (and must not cost much to refuse).
constexpr size_t kMaxTokenLength = 8192;
constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

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

// HMAC with a per-thread context per (digest, key): OpenSSL 3 looks the algorithm up and
// expands the key on every one-shot HMAC() call; re-initialising a keyed context skips both
// (measured in tests/transport/http_jwt_test.cc: MintAndVerifyCost).
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct KeyedMac {
  std::string digest;
  std::string key;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx;
};

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // lives as long as the process
  return mac;
}

EVP_MAC_CTX* keyed_context(const char* digest, std::string_view key) {
  thread_local std::vector<KeyedMac> cache;
  for (auto& e : cache)
    if (e.digest == digest && e.key == key) return e.ctx.get();
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return nullptr;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return nullptr;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
                         OSSL_PARAM_construct_end()};
  static const unsigned char kEmpty = 0;
  const auto* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) return nullptr;
  if (cache.size() >= 4) cache.erase(cache.begin());  // a process uses one key, rarely two
  cache.push_back({digest, std::string(key), std::move(ctx)});
  return cache.back().ctx.get();
}

// HMAC-<digest>(key, message) into out; returns the MAC length, 0 on failure.
size_t hmac(const char* digest, std::string_view key, std::string_view message,
            std::array<unsigned char, EVP_MAX_MD_SIZE>& out) {
  size_t len = 0;
  EVP_MAC_CTX* ctx = keyed_context(digest, key);
  if (ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1 &&
      EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1)
    return len;
  unsigned int one_shot = 0;
  const EVP_MD* md = EVP_get_digestbyname(digest);
  if (md == nullptr ||
      HMAC(md, key.empty() ? "" : key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &one_shot) == nullptr)
    return 0;
  return one_shot;
}

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

JwtVerdict refuse(JwtRefusal why, std::string detail) { return JwtVerdict{why, std::move(detail), std::nullopt}; }

// The HMAC digest of an alg header value, or nullptr for anything but HS256/HS384/HS512.
const char* digest_of(const nlohmann::json& alg) {
  if (!alg.is_string()) return nullptr;
  const auto& a = alg.get_ref<const std::string&>();
  if (a == "HS256") return "SHA256";
  if (a == "HS384") return "SHA384";
  if (a == "HS512") return "SHA512";
  return nullptr;
}

void base64url_append(std::string_view bytes, std::string& encoded) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    const char quad[4] = {kBase64UrlAlphabet[group >> 18], kBase64UrlAlphabet[(group >> 12) & 63],
                          kBase64UrlAlphabet[(group >> 6) & 63], kBase64UrlAlphabet[group & 63]};
    encoded.append(quad, 4);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t group = uint32_t{p[i]} << 16 | (rest == 2 ? uint32_t{p[i + 1]} << 8 : 0);
    encoded += kBase64UrlAlphabet[group >> 18];
    encoded += kBase64UrlAlphabet[(group >> 12) & 63];
    if (rest == 2) encoded += kBase64UrlAlphabet[(group >> 6) & 63];
  }
}

// The claims exactly as weed and mint_read_jwt write them, {"fid":"<fid>","exp":<seconds>}, read
// without a JSON parser (it would be half the cost of a verification); anything else goes to
// the full parser.
bool parse_plain_claims(std::string_view p, std::string_view& fid, int64_t& exp) {
  constexpr std::string_view kOpen = R"({"fid":")", kMid = R"(","exp":)";
  if (!p.starts_with(kOpen) || !p.ends_with('}')) return false;
  p.remove_prefix(kOpen.size());
  p.remove_suffix(1);
  const size_t mid = p.find(kMid);
  if (mid == std::string_view::npos) return false;
  fid = p.substr(0, mid);
  for (char c : fid)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  const std::string_view digits = p.substr(mid + kMid.size());
  if (digits.empty() || digits.size() > 15) return false;
  exp = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    exp = exp * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string encoded;
  encoded.reserve((bytes.size() * 4 + 2) / 3);
  base64url_append(bytes, encoded);
  return encoded;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no whole byte in a lone sextet
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

Result<std::string> mint_read_jwt(std::string_view signing_key, std::string_view fid, int64_t expires_unix_seconds) {
  static const std::string kHeaderDot = base64url_encode(kHs256Header) + ".";
  std::string payload;
  payload.reserve(48 + fid.size());
  payload += R"({"fid":")";
  payload += json_escape(fid);
  payload += R"(","exp":)";
  payload += std::to_string(expires_unix_seconds);
  payload += '}';
  std::string token;
  token.reserve(kHeaderDot.size() + payload.size() * 4 / 3 + 48);
  token += kHeaderDot;
  base64url_append(payload, token);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  const size_t mac_size = hmac("SHA256", signing_key, token, mac);
  if (mac_size == 0) return make_error(EIO, "mint read jwt for " + std::string(fid) + ": HMAC-SHA256 failed");
  token += '.';
  base64url_append(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_size), token);
  return token;
}

const char* jwt_refusal_name(JwtRefusal refusal) {
  switch (refusal) {
    case JwtRefusal::kMissing:
      return "missing";
    case JwtRefusal::kMalformed:
      return "malformed";
    case JwtRefusal::kAlgorithm:
      return "algorithm";
    case JwtRefusal::kSignature:
      return "signature";
    case JwtRefusal::kExpired:
      return "expired";
    case JwtRefusal::kNotYetValid:
      return "not_yet_valid";
    case JwtRefusal::kWrongFid:
      return "wrong_fid";
  }
  return "unknown";
}

JwtVerdict verify_read_jwt(std::string_view signing_key, std::string_view token, std::string_view fid,
                           int64_t now_unix_seconds) {
  static const std::string kHs256HeaderB64 = base64url_encode(kHs256Header);
  if (token.empty()) return refuse(JwtRefusal::kMissing, "no read token");
  if (token.size() > kMaxTokenLength) return refuse(JwtRefusal::kMalformed, "token too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse(JwtRefusal::kMalformed, "not three dot-separated parts");
  const std::string_view header_b64 = token.substr(0, dot1);
  const auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!payload_text || !signature) return refuse(JwtRefusal::kMalformed, "not base64url");

  const char* digest = "SHA256";
  if (header_b64 != kHs256HeaderB64) {  // the header weed and mint_read_jwt write needs no parsing
    const auto header_text = base64url_decode(header_b64);
    if (!header_text) return refuse(JwtRefusal::kMalformed, "not base64url");
    const auto header = nlohmann::json::parse(*header_text, nullptr, /*allow_exceptions=*/false);
    if (!header.is_object()) return refuse(JwtRefusal::kMalformed, "header is not a JSON object");
    const auto alg = header.find("alg");
    digest = alg == header.end() ? nullptr : digest_of(*alg);
    if (digest == nullptr)
      return refuse(JwtRefusal::kAlgorithm, alg == header.end() ? "no alg" : "alg " + alg->dump() + " is not HMAC");
  }

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  const size_t mac_size = hmac(digest, signing_key, token.substr(0, dot2), mac);
  if (mac_size == 0) return refuse(JwtRefusal::kSignature, "HMAC failed");
  if (signature->size() != mac_size || CRYPTO_memcmp(signature->data(), mac.data(), mac_size) != 0)
    return refuse(JwtRefusal::kSignature, "signature does not match");

  const auto now = static_cast<double>(now_unix_seconds);
  std::string_view claimed_fid;
  int64_t plain_exp = 0;
  nlohmann::json claims;
  std::optional<double> expires;
  if (parse_plain_claims(*payload_text, claimed_fid, plain_exp)) {
    if (now_unix_seconds >= plain_exp) return refuse(JwtRefusal::kExpired, "expired at " + std::to_string(plain_exp));
    expires = static_cast<double>(plain_exp);
  } else {
    claims = nlohmann::json::parse(*payload_text, nullptr, /*allow_exceptions=*/false);
    if (!claims.is_object()) return refuse(JwtRefusal::kMalformed, "payload is not a JSON object");
    if (auto exp = claims.find("exp"); exp != claims.end()) {
      if (!exp->is_number()) return refuse(JwtRefusal::kMalformed, "exp is not a number");
      if (now >= exp->get<double>()) return refuse(JwtRefusal::kExpired, "expired at " + exp->dump());
      expires = exp->get<double>();
    }
    if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
      if (!nbf->is_number()) return refuse(JwtRefusal::kMalformed, "nbf is not a number");
      if (now < nbf->get<double>()) return refuse(JwtRefusal::kNotYetValid, "not valid before " + nbf->dump());
    }
    const auto claim = claims.find("fid");
    if (claim == claims.end() || !claim->is_string())
      return refuse(JwtRefusal::kWrongFid, "no fid claim (want " + std::string(fid) + ")");
    claimed_fid = claim->get_ref<const std::string&>();
  }
  if (claimed_fid != fid)
    return refuse(JwtRefusal::kWrongFid, "token is for \"" + std::string(claimed_fid) + "\", not " + std::string(fid));
  JwtVerdict accepted;
  accepted.expires = expires;
  return accepted;
}

}  // namespace seaweed::transport::http
