#include "image/image_signature.h"

#include <sodium.h>

#include <cstring>

#include "image/image_kinds.h"

namespace cryo::image {
namespace {

constexpr uint32_t kSignatureMagic = 0x47535243;  // "CRSG"
constexpr uint32_t kSignatureVersion = 1;
// Domain separation: the signature of an inventory can never be taken for a signature of anything else.
constexpr std::string_view kSignedPrefix = "cryo image inventory v1\n";

std::string signed_message(std::string_view inventory_bytes) {
  std::string message(kSignedPrefix);
  message.append(inventory_bytes);
  return message;
}

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out.append(b, 4);
}

uint32_t get_u32(const std::string& bytes, size_t at) {
  auto b = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

}  // namespace

std::string sign_inventory(const SigningKey& key, std::string_view inventory_bytes) {
  std::string message = signed_message(inventory_bytes);
  unsigned char signature[kSignatureBytes];
  ::crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         key.secret.data());
  std::string out;
  put_u32(out, kSignatureMagic);
  put_u32(out, kSignatureVersion);
  out.append(reinterpret_cast<const char*>(key.public_key.data()), key.public_key.size());
  out.append(reinterpret_cast<const char*>(signature), sizeof signature);
  return out;
}

Result<> verify_inventory_signature(const DirFd& dir, std::string_view inventory_bytes, const VerifyKey& key) {
  const std::string name(signature_file_name());
  std::string path = dir.describe(name);
  if (auto st = dir.stat_entry(name); !st) {
    if (st.error().err == ENOENT)
      return fail(make_error(dir.path() + " is not signed (it has no " + name + ")")
                      .with_hint("--verify restores only images dumped with --sign; without --verify the image is trusted as it is"));
    return fail(st.error());
  }
  ASSIGN_OR_RETURN(std::string bytes, dir.read_regular(name, kSignatureFileSize));
  if (bytes.size() != kSignatureFileSize || get_u32(bytes, 0) != kSignatureMagic)
    return fail(make_error(path + " is not a cryo signature").with_hint("the image was changed after the dump"));
  if (get_u32(bytes, 4) != kSignatureVersion)
    return fail(path + ": signature version " + std::to_string(get_u32(bytes, 4)) + ", this cryo reads version " +
                std::to_string(kSignatureVersion));
  PublicKey signer;
  std::memcpy(signer.data(), bytes.data() + 8, signer.size());
  if (signer != key.public_key)
    return fail(make_error(dir.path() + " is signed by another key (" + key_fingerprint(signer) + "...), not by " +
                           key_fingerprint(key.public_key) + "...")
                    .with_hint("give the public key of whoever dumped it, or do not trust it"));
  std::string message = signed_message(inventory_bytes);
  const auto* signature = reinterpret_cast<const unsigned char*>(bytes.data() + 8 + kPublicKeyBytes);
  if (::crypto_sign_verify_detached(signature, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                    key.public_key.data()) != 0)
    return fail(make_error(dir.path() + ": the signature does not match the image")
                    .with_hint("it was changed after it was signed; do not restore it"));
  return {};
}

}  // namespace cryo::image
