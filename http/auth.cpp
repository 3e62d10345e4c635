#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace regevent {

bool bearer_matches(std::string_view authorization, const std::string& token) {
  constexpr std::string_view scheme = "Bearer ";
  std::string_view presented;
  if (authorization.size() > scheme.size()) {
    auto head = authorization.substr(0, scheme.size());
    bool is_bearer = true;
    // Case folding applies to the letters only: `| 0x20` on every byte
    // would also take NUL for the space.
    auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    for (size_t i = 0; i < scheme.size(); ++i)
      if (lower(head[i]) != lower(scheme[i]))
        is_bearer = false;
    if (is_bearer)
      presented = authorization.substr(scheme.size());
  }
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()),
         presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
  bool same = CRYPTO_memcmp(a, b, SHA256_DIGEST_LENGTH) == 0;
  return same && !presented.empty();
}

} // namespace regevent
