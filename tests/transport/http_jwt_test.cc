#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "transport/http/jwt.h"

namespace seaweed::transport::http {
namespace {

TEST(ReadJwt, Base64UrlMatchesRfc4648Vectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // the two url-safe characters
}

TEST(ReadJwt, MatchesIndependentlyComputedToken) {
  // python3: HS256 over base64url('{"alg":"HS256","typ":"JWT"}') + '.' +
  // base64url('{"fid":"3,01637037d6","exp":1700000000}') with hmac.new(b'secret-read-key', ..., hashlib.sha256).
  auto token = mint_read_jwt("secret-read-key", "3,01637037d6", 1700000000);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token.value(),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmaWQiOiIzLDAxNjM3MDM3ZDYiLCJleHAiOjE3MDAwMDAwMDB9."
            "zap_KJxssVjCfd2xnEQhuuaPWM2dlSJPoZS67WdDN14");
}

TEST(ReadJwt, DifferentKeysSignDifferently) {
  auto first = mint_read_jwt("key-one", "3,01637037d6", 1700000000);
  auto second = mint_read_jwt("key-two", "3,01637037d6", 1700000000);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first.value(), second.value());
  EXPECT_EQ(first->substr(0, first->rfind('.')), second->substr(0, second->rfind('.')));
}

// ---- verify_read_jwt: what the agent accepts (docs/seaweedfs/read-jwt.md) ----

constexpr std::string_view kKey = "secret-read-key";
constexpr std::string_view kFid = "3,01637037d6";
constexpr int64_t kNow = 1700000000;

TEST(VerifyReadJwt, AcceptsWhatMintProduces) {
  auto token = mint_read_jwt(kKey, kFid, kNow + 10);
  ASSERT_TRUE(token.ok());
  auto v = verify_read_jwt(kKey, *token, kFid, kNow);
  EXPECT_TRUE(v.ok()) << v.detail;
  EXPECT_EQ(v.expires, std::optional<double>(kNow + 10));
}

TEST(VerifyReadJwt, AcceptsHs512FromAnotherImplementation) {
  // python3: HS512 over {"alg":"HS512","typ":"JWT"} / {"fid":"3,01637037d6","exp":2000000000}.
  const std::string token =
      "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJmaWQiOiIzLDAxNjM3MDM3ZDYiLCJleHAiOjIwMDAwMDAwMDB9."
      "iZPCIo4ACyFfFIBrVcbnuEFRVGPaDzWFC4j2bwLA50tdPZcW6xvlo_ATZMzvexWAx1axrxQJfYg6YL9YXl0riQ";
  auto v = verify_read_jwt(kKey, token, kFid, kNow);
  EXPECT_TRUE(v.ok()) << v.detail;
  EXPECT_EQ(verify_read_jwt("other-key", token, kFid, kNow).refusal, JwtRefusal::kSignature);
}

TEST(VerifyReadJwt, RefusesMissingTamperedExpiredAndWrongFid) {
  EXPECT_EQ(verify_read_jwt(kKey, "", kFid, kNow).refusal, JwtRefusal::kMissing);

  const std::string good = *mint_read_jwt(kKey, kFid, kNow + 10);
  // Any flipped character of the payload or the signature breaks the MAC.
  for (size_t i = good.find('.') + 1; i < good.size(); i += 7) {
    if (good[i] == '.') continue;
    std::string bad = good;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto v = verify_read_jwt(kKey, bad, kFid, kNow);
    ASSERT_FALSE(v.ok()) << "flipped byte " << i;
    EXPECT_TRUE(v.refusal == JwtRefusal::kSignature || v.refusal == JwtRefusal::kMalformed) << i << " " << v.detail;
  }
  EXPECT_EQ(verify_read_jwt("wrong-key", good, kFid, kNow).refusal, JwtRefusal::kSignature);

  EXPECT_EQ(verify_read_jwt(kKey, good, kFid, kNow + 10).refusal, JwtRefusal::kExpired);  // exp is exclusive
  EXPECT_EQ(verify_read_jwt(kKey, good, kFid, kNow + 3600).refusal, JwtRefusal::kExpired);
  EXPECT_TRUE(verify_read_jwt(kKey, good, kFid, kNow + 9).ok());

  auto other = verify_read_jwt(kKey, good, "3,02637037d6", kNow);
  EXPECT_EQ(other.refusal, JwtRefusal::kWrongFid);
  EXPECT_NE(other.detail.find("3,01637037d6"), std::string::npos);
  // The claim is compared as a string, like the volume server: another spelling is another fid.
  EXPECT_EQ(verify_read_jwt(kKey, good, "3,1637037d6", kNow).refusal, JwtRefusal::kWrongFid);
}

TEST(VerifyReadJwt, RefusesAlgNoneAndNonHmac) {
  const std::string payload = base64url_encode(R"({"fid":"3,01637037d6","exp":1700000010})");
  const std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  EXPECT_EQ(verify_read_jwt(kKey, none, kFid, kNow).refusal, JwtRefusal::kAlgorithm);
  const std::string rs = base64url_encode(R"({"alg":"RS256"})") + "." + payload + ".c2ln";
  EXPECT_EQ(verify_read_jwt(kKey, rs, kFid, kNow).refusal, JwtRefusal::kAlgorithm);
  const std::string no_alg = base64url_encode(R"({"typ":"JWT"})") + "." + payload + ".c2ln";
  EXPECT_EQ(verify_read_jwt(kKey, no_alg, kFid, kNow).refusal, JwtRefusal::kAlgorithm);
}

TEST(VerifyReadJwt, RefusesMalformedBase64AndJson) {
  const std::string good = *mint_read_jwt(kKey, kFid, kNow + 10);
  const std::string header = good.substr(0, good.find('.'));
  for (const std::string& bad :
       {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"), good + ".x",
        "!!!." + good.substr(good.find('.') + 1), header + ".e30=.sig", header + ".%%%.sig", std::string(10000, 'a')}) {
    auto v = verify_read_jwt(kKey, bad, kFid, kNow);
    EXPECT_EQ(v.refusal, JwtRefusal::kMalformed) << bad.substr(0, 60) << ": " << v.detail;
  }
  // Header that is not JSON, or JSON but not an object.
  EXPECT_EQ(verify_read_jwt(kKey, base64url_encode("{nope") + ".e30.c2ln", kFid, kNow).refusal, JwtRefusal::kMalformed);
  EXPECT_EQ(verify_read_jwt(kKey, base64url_encode("[1]") + ".e30.c2ln", kFid, kNow).refusal, JwtRefusal::kMalformed);
}

TEST(Base64Url, DecodeIsStrictInverse) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff\xbf"})
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  EXPECT_FALSE(base64url_decode("Zg==").has_value());  // padding is not base64url-in-JWT
  EXPECT_FALSE(base64url_decode("Zh").has_value());    // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("Z").has_value());
  EXPECT_FALSE(base64url_decode("Zm9+").has_value());  // '+' is the other alphabet
}

// What a token costs on the read path: the mount mints one per agent request, the agent verifies
// one per request. Printed, not asserted (sanitizer builds are much slower).
TEST(VerifyReadJwt, MintAndVerifyCost) {
  constexpr int kRounds = 100000;
  std::vector<std::string> tokens;
  tokens.reserve(kRounds);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) tokens.push_back(*mint_read_jwt(kKey, kFid, kNow + 10));
  auto t1 = std::chrono::steady_clock::now();
  int ok = 0;
  for (const auto& t : tokens) ok += verify_read_jwt(kKey, t, kFid, kNow).ok();
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(ok, kRounds);
  const double mint_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kRounds;
  const double verify_us = std::chrono::duration<double, std::micro>(t2 - t1).count() / kRounds;
  std::printf("read JWT: mint %.2f us, verify %.2f us per token\n", mint_us, verify_us);
}

}  // namespace
}  // namespace seaweed::transport::http
