// AES-256-GCM as SeaweedFS seals chunks (docs/seaweedfs/chunks.md, "Encryption"): nonce(12) || ciphertext || tag(16),
// no AAD.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <string>

#include "codec/codec.h"

namespace seaweed::codec {
namespace {

constexpr size_t kKeySize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
// EVP lengths are int: process long inputs in steps no larger than this.
constexpr size_t kMaxEvpStep = size_t{1} << 30;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* as_bytes(const char* data) { return reinterpret_cast<const unsigned char*>(data); }
unsigned char* as_bytes(char* data) { return reinterpret_cast<unsigned char*>(data); }

Status check_key(std::string_view key, const char* operation) {
  if (key.size() == kKeySize) return {};
  return make_error(EINVAL, std::string(operation) + ": key is " + std::to_string(key.size()) + " bytes, want 32");
}

// Runs EVP_{En,De}cryptUpdate over all of in, writing the same number of bytes to out (GCM is a stream mode).
template <class UpdateFn>
bool update_all(EVP_CIPHER_CTX* ctx, UpdateFn update, std::string_view in, char* out) {
  for (size_t done = 0; done < in.size();) {
    const size_t step = std::min(in.size() - done, kMaxEvpStep);
    int written = 0;
    if (update(ctx, as_bytes(out + done), &written, as_bytes(in.data() + done), static_cast<int>(step)) != 1 ||
        static_cast<size_t>(written) != step) {
      return false;
    }
    done += step;
  }
  return true;
}

}  // namespace

Result<std::string> aes256gcm_open(std::string_view key, std::string_view sealed) {
  if (auto status = check_key(key, "aes256gcm_open"); !status) return status.error();
  if (sealed.size() < kNonceSize + kTagSize) {
    return make_error(EIO, "aes256gcm_open: sealed data is " + std::to_string(sealed.size()) +
                               " bytes, shorter than nonce + tag (28)");
  }
  const std::string_view nonce = sealed.substr(0, kNonceSize);
  const std::string_view ciphertext = sealed.substr(kNonceSize, sealed.size() - kNonceSize - kTagSize);
  std::array<unsigned char, kTagSize> tag{};
  std::copy_n(as_bytes(sealed.data() + sealed.size() - kTagSize), kTagSize, tag.begin());

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return make_error(ENOMEM, "aes256gcm_open: EVP_CIPHER_CTX_new failed");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, as_bytes(key.data()), as_bytes(nonce.data())) != 1) {
    return make_error(EIO, "aes256gcm_open: EVP_DecryptInit_ex failed");
  }
  std::string clear(ciphertext.size(), '\0');
  if (!update_all(ctx.get(), EVP_DecryptUpdate, ciphertext, clear.data())) {
    return make_error(EIO, "aes256gcm_open: EVP_DecryptUpdate failed");
  }
  int final_bytes = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), as_bytes(clear.data() + clear.size()), &final_bytes) != 1) {
    return make_error(EIO, "aes256gcm_open: authentication failed for " + std::to_string(sealed.size()) +
                               " sealed bytes (wrong key or corrupt data)");
  }
  return clear;
}

Result<std::string> aes256gcm_seal(std::string_view key, std::string_view clear) {
  if (auto status = check_key(key, "aes256gcm_seal"); !status) return status.error();
  std::string sealed(kNonceSize + clear.size() + kTagSize, '\0');
  char* nonce = sealed.data();
  char* ciphertext = nonce + kNonceSize;
  char* tag = ciphertext + clear.size();
  if (RAND_bytes(as_bytes(nonce), kNonceSize) != 1) return make_error(EIO, "aes256gcm_seal: RAND_bytes failed");

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return make_error(ENOMEM, "aes256gcm_seal: EVP_CIPHER_CTX_new failed");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, as_bytes(key.data()), as_bytes(nonce)) != 1) {
    return make_error(EIO, "aes256gcm_seal: EVP_EncryptInit_ex failed");
  }
  int final_bytes = 0;
  if (!update_all(ctx.get(), EVP_EncryptUpdate, clear, ciphertext) ||
      EVP_EncryptFinal_ex(ctx.get(), as_bytes(tag), &final_bytes) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) {
    return make_error(EIO, "aes256gcm_seal: encrypting " + std::to_string(clear.size()) + " bytes failed");
  }
  return sealed;
}

}  // namespace seaweed::codec
