// ed25519 key files for signed images (libsodium). A key pair is two small text files: the secret
// key KEYFILE (0600, refused when others can read it) and the public key KEYFILE.pub. Both are read
// with a size bound and an exact format, never followed blindly: a key file is an input like any other.
#pragma once

#include <array>
#include <string>

#include "base/error.h"

namespace cryo::image {

constexpr size_t kPublicKeyBytes = 32;   // crypto_sign_PUBLICKEYBYTES
constexpr size_t kSecretKeyBytes = 64;   // crypto_sign_SECRETKEYBYTES (seed and public key)
constexpr size_t kSignatureBytes = 64;   // crypto_sign_BYTES

using PublicKey = std::array<unsigned char, kPublicKeyBytes>;

struct SigningKey {
  std::array<unsigned char, kSecretKeyBytes> secret{};
  PublicKey public_key{};
  SigningKey() = default;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  SigningKey(SigningKey&&) = default;
  ~SigningKey();  // Wipes the secret.
};

struct VerifyKey {
  PublicKey public_key{};
};

// Makes a new key pair: `path` (secret, 0600) and `path`.pub (public, 0644). Refuses to overwrite.
Result<> generate_key_pair(const std::string& path);

// Reads a secret key file. Refused when group or others can read it, when it is not a regular file
// of the key format, or when its public half does not belong to its secret half.
Result<SigningKey> load_signing_key(const std::string& path);

// Reads a public key file. Refused when group or others can write it (whoever can change it can make
// restore accept their images).
Result<VerifyKey> load_verify_key(const std::string& path);

// A short, printable name of a key for messages: the first bytes of the public key in hex.
std::string key_fingerprint(const PublicKey& key);

// libsodium's one-time initialisation; false when it cannot initialise (no entropy source).
bool sodium_ready();

}  // namespace cryo::image
