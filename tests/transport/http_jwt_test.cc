#include <gtest/gtest.h>

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

}  // namespace
}  // namespace seaweed::transport::http
