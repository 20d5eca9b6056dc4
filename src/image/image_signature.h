// The signature of an image: signature.img, an ed25519 signature of the inventory file's bytes. The
// inventory holds the size and XXH3 of every other file and its own digest, so the signature covers
// every byte of the image: changing any file means changing the inventory, which breaks the signature.
// Written after the inventory and not listed in it.
//
// signature.img, 104 bytes:
//   offset 0   u32 magic "CRSG" (little-endian, like the framed files)
//   offset 4   u32 format version 1
//   offset 8   32 bytes: the signer's public key (to name the key in a refusal)
//   offset 40  64 bytes: ed25519 signature of kSignedPrefix followed by the bytes of inventory.img
#pragma once

#include <string>
#include <string_view>

#include "base/dir_fd.h"
#include "base/error.h"
#include "image/signing_keys.h"

namespace cryo::image {

constexpr uint64_t kSignatureFileSize = 8 + kPublicKeyBytes + kSignatureBytes;

// The file's bytes for a signature of inventory_bytes.
std::string sign_inventory(const SigningKey& key, std::string_view inventory_bytes);

// Checks dir's signature.img against inventory_bytes (the bytes cryo read and will decode) and key.
// Refuses an unsigned image, one signed with another key, and one changed since it was signed.
Result<> verify_inventory_signature(const DirFd& dir, std::string_view inventory_bytes, const VerifyKey& key);

}  // namespace cryo::image
