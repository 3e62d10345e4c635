#include "persistence/secret_box.hpp"

#include "persistence/base64.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace regevent {

namespace {

constexpr size_t key_bytes = 32;
constexpr size_t nonce_bytes = 12;
constexpr size_t tag_bytes = 16;
constexpr const char* version = "v1:";

using cipher_ctx
    = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

cipher_ctx new_ctx() {
  cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx)
    throw std::bad_alloc();
  return ctx;
}

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

secret_box::secret_box(const std::string& key_base64) {
  if (key_base64.empty())
    return;
  auto key = from_base64(key_base64);
  if (!key || key->size() != key_bytes)
    throw std::invalid_argument(
        "must be the base64 of 32 random bytes (openssl rand -base64 32)");
  key_ = std::move(*key);
}

std::string secret_box::seal(const std::string& plain,
                             const std::string& column) const {
  if (plain.empty())
    return {};
  if (key_.empty())
    throw std::logic_error("no secrets.key to seal " + column + " with");
  std::string nonce(nonce_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()),
                 static_cast<int>(nonce.size()))
      != 1)
    throw std::runtime_error("no random bytes for a nonce");
  auto ctx = new_ctx();
  std::string cipher(plain.size(), '\0');
  std::string tag(tag_bytes, '\0');
  int n = 0, last = 0;
  auto* out = reinterpret_cast<unsigned char*>(cipher.data());
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_),
                         bytes(nonce))
          != 1
      || EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(column),
                           static_cast<int>(column.size()))
             != 1
      || EVP_EncryptUpdate(ctx.get(), out, &n, bytes(plain),
                           static_cast<int>(plain.size()))
             != 1
      || EVP_EncryptFinal_ex(ctx.get(), out + n, &last) != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes,
                             tag.data())
             != 1)
    throw std::runtime_error("AES-256-GCM refused to seal " + column);
  return version + to_base64(nonce + cipher + tag);
}

std::optional<std::string> secret_box::open(const std::string& sealed,
                                            const std::string& column) const {
  if (sealed.empty())
    return std::string{};
  const std::string prefix = version;
  if (key_.empty() || sealed.rfind(prefix, 0) != 0)
    return std::nullopt;
  auto raw = from_base64(sealed.substr(prefix.size()));
  if (!raw || raw->size() < nonce_bytes + tag_bytes)
    return std::nullopt;
  auto nonce = raw->substr(0, nonce_bytes);
  auto cipher = raw->substr(nonce_bytes, raw->size() - nonce_bytes - tag_bytes);
  auto tag = raw->substr(raw->size() - tag_bytes);
  auto ctx = new_ctx();
  std::string plain(cipher.size(), '\0');
  int n = 0, last = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key_),
                         bytes(nonce))
          != 1
      || EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(column),
                           static_cast<int>(column.size()))
             != 1
      || EVP_DecryptUpdate(ctx.get(), out, &n, bytes(cipher),
                           static_cast<int>(cipher.size()))
             != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes,
                             tag.data())
             != 1
      || EVP_DecryptFinal_ex(ctx.get(), out + n, &last) != 1)
    return std::nullopt;
  return plain;
}

} // namespace regevent
