#include <gtest/gtest.h>

#include <cerrno>

#include "codec/codec.h"
#include "test_bytes.h"

namespace seaweed::codec {
namespace {

using testing::from_hex;
using testing::random_bytes;

const std::string kKey = random_bytes(32, 42);

TEST(Aes256Gcm, OpensPythonCryptographySealedData) {
  // python3 cryptography: AESGCM(bytes(range(32))).encrypt(nonce, pt, None), prefixed with the nonce.
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  const auto sealed = from_hex(
      "cafebabefacedbaddecaf888d9c6c151cf1f2b5d152b3eb50e73e21f7d41b93db0780e586eac6110d2ec01dfcf29e136b8a0210d48"
      "7b4b1a4bf3540a3e26c821cbf364b6c5def444d5a034c4e1e8c3a76742");
  auto clear = aes256gcm_open(key, sealed);
  ASSERT_TRUE(clear.ok()) << clear.error().message;
  EXPECT_EQ(clear.value(), "SeaweedFS chunk payload, sealed by python cryptography");
}

TEST(Aes256Gcm, RoundTrips) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{16}, size_t{1000}, size_t{3} << 20}) {
    const auto clear = random_bytes(size, static_cast<uint32_t>(size));
    auto sealed = aes256gcm_seal(kKey, clear);
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(sealed->size(), size + 28);
    auto opened = aes256gcm_open(kKey, sealed.value());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(opened.value(), clear);
  }
}

TEST(Aes256Gcm, SealUsesFreshNonces) {
  auto first = aes256gcm_seal(kKey, "same");
  auto second = aes256gcm_seal(kKey, "same");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->substr(0, 12), second->substr(0, 12));
}

TEST(Aes256Gcm, WrongKeyFailsAuthentication) {
  auto sealed = aes256gcm_seal(kKey, "secret chunk");
  ASSERT_TRUE(sealed.ok());
  auto opened = aes256gcm_open(random_bytes(32, 43), sealed.value());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, EIO);
  EXPECT_NE(opened.error().message.find("authentication failed"), std::string::npos) << opened.error().message;
}

TEST(Aes256Gcm, TamperedBytesFailAuthentication) {
  auto sealed = aes256gcm_seal(kKey, "secret chunk");
  ASSERT_TRUE(sealed.ok());
  for (size_t position : {size_t{0}, size_t{12}, sealed->size() - 1}) {  // nonce, ciphertext, tag
    std::string tampered = sealed.value();
    tampered[position] ^= 0x01;
    auto opened = aes256gcm_open(kKey, tampered);
    ASSERT_FALSE(opened.ok()) << position;
    EXPECT_EQ(opened.error().code, EIO);
  }
}

TEST(Aes256Gcm, ShortInputIsEio) {
  for (size_t size : {size_t{0}, size_t{12}, size_t{27}}) {
    auto opened = aes256gcm_open(kKey, std::string(size, 'x'));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, EIO);
    EXPECT_NE(opened.error().message.find("shorter than nonce + tag"), std::string::npos) << opened.error().message;
  }
}

TEST(Aes256Gcm, EmptyPayloadOf28BytesAuthenticates) {
  auto sealed = aes256gcm_seal(kKey, "");
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), 28u);
  auto opened = aes256gcm_open(kKey, sealed.value());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened.value(), "");
}

TEST(Aes256Gcm, KeyMustBe32Bytes) {
  for (size_t size : {size_t{0}, size_t{16}, size_t{31}, size_t{33}}) {
    const auto key = random_bytes(size, 5);
    auto sealed = aes256gcm_seal(key, "x");
    ASSERT_FALSE(sealed.ok());
    EXPECT_EQ(sealed.error().code, EINVAL);
    auto opened = aes256gcm_open(key, std::string(40, 'x'));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, EINVAL);
    EXPECT_NE(opened.error().message.find("want 32"), std::string::npos) << opened.error().message;
  }
}

}  // namespace
}  // namespace seaweed::codec
