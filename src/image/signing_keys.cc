#include "image/signing_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>

#include "base/dir_fd.h"
#include "base/file_util.h"
#include "base/unique_fd.h"

namespace cryo::image {
namespace {

constexpr std::string_view kSecretHeader = "cryo ed25519 secret key v1\n";
constexpr std::string_view kPublicHeader = "cryo ed25519 public key v1\n";
constexpr uint64_t kMaxKeyFile = 1024;  // A key file is about 160 bytes.

std::string to_hex(const unsigned char* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

bool from_hex(std::string_view text, unsigned char* out, size_t size) {
  if (text.size() != 2 * size) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < size; ++i) {
    int hi = digit(text[2 * i]), lo = digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

struct KeyFile {
  std::string text;
  mode_t mode = 0;
};

// A key file given by the user: its path is theirs to choose (symlinks included), but it must be a
// small regular file; O_NONBLOCK so that a FIFO given by mistake cannot hang the open.
Result<KeyFile> read_key_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_error("open(" + path + ")").with_hint("give the key file made by cryo keygen"));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  if (!S_ISREG(st.st_mode)) return fail(path + " is " + std::string(file_type_name(st.st_mode)) + ", not a key file");
  if (static_cast<uint64_t>(st.st_size) > kMaxKeyFile) return fail(path + " is too large to be a key file");
  KeyFile file;
  file.mode = st.st_mode;
  ASSIGN_OR_RETURN(file.text, read_bounded(fd.get(), kMaxKeyFile, path));
  return file;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

Result<> write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) {
    int err = errno;
    return fail(errno_error("open(" + path + ")", err).with_hint(err == EEXIST ? "cryo keygen never overwrites a key" : ""));
  }
  // The umask may have taken bits away; the public key is meant to be readable.
  if (::fchmod(fd.get(), mode) != 0) return fail_errno("fchmod(" + path + ")");
  RETURN_IF_ERROR(write_all(fd.get(), text.data(), text.size(), path));
  if (::fsync(fd.get()) != 0) return fail_errno("fsync(" + path + ")");
  return {};
}

}  // namespace

SigningKey::~SigningKey() { sodium_memzero(secret.data(), secret.size()); }

bool sodium_ready() {
  static const bool ready = ::sodium_init() >= 0;
  return ready;
}

std::string key_fingerprint(const PublicKey& key) { return to_hex(key.data(), 8); }

Result<> generate_key_pair(const std::string& path) {
  if (!sodium_ready()) return fail("libsodium cannot initialise (sodium_init)");
  SigningKey key;
  if (::crypto_sign_keypair(key.public_key.data(), key.secret.data()) != 0) return fail("crypto_sign_keypair failed");
  std::string secret_text = std::string(kSecretHeader) + to_hex(key.secret.data(), key.secret.size()) + "\n";
  std::string public_text = std::string(kPublicHeader) + to_hex(key.public_key.data(), key.public_key.size()) + "\n";
  std::string public_path = path + ".pub";
  // Both names are checked free before either is written, so a refusal leaves nothing behind.
  for (const std::string& p : {path, public_path}) {
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0)
      return fail(make_error(p + " already exists").with_hint("cryo keygen never overwrites a key; choose another name"));
  }
  RETURN_IF_ERROR(write_new_file(path, secret_text, 0600));
  sodium_memzero(secret_text.data(), secret_text.size());
  if (auto written = write_new_file(public_path, public_text, 0644); !written) {
    ::unlink(path.c_str());
    return written;
  }
  return {};
}

Result<SigningKey> load_signing_key(const std::string& path) {
  if (!sodium_ready()) return fail("libsodium cannot initialise (sodium_init)");
  ASSIGN_OR_RETURN(KeyFile file, read_key_file(path));
  if (file.mode & 077)
    return fail(make_error("secret key " + path + " is accessible by others (mode " + mode_text(file.mode) + ")")
                    .with_hint("whoever can read it can sign images that restore accepts: chmod 600 " + path +
                               ", and make a new key pair if others may have read it"));
  std::string_view text = file.text;
  SigningKey key;
  bool ok = text.starts_with(kSecretHeader) && text.ends_with("\n");
  if (ok) {
    text.remove_prefix(kSecretHeader.size());
    text.remove_suffix(1);
    ok = from_hex(text, key.secret.data(), key.secret.size());
  }
  sodium_memzero(file.text.data(), file.text.size());
  if (!ok) return fail(make_error(path + " is not a cryo secret key").with_hint("make one with cryo keygen -o " + path));
  // The secret key holds its public half: it must be the one the seed gives.
  PublicKey derived;
  if (::crypto_sign_ed25519_sk_to_pk(derived.data(), key.secret.data()) != 0) return fail(path + ": not an ed25519 secret key");
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed;
  ::crypto_sign_ed25519_sk_to_seed(seed.data(), key.secret.data());
  std::array<unsigned char, kSecretKeyBytes> regenerated;
  ::crypto_sign_seed_keypair(key.public_key.data(), regenerated.data(), seed.data());
  bool consistent = key.public_key == derived;
  sodium_memzero(seed.data(), seed.size());
  sodium_memzero(regenerated.data(), regenerated.size());
  if (!consistent) return fail(path + " is damaged: its public half does not belong to its secret half");
  return key;
}

Result<VerifyKey> load_verify_key(const std::string& path) {
  if (!sodium_ready()) return fail("libsodium cannot initialise (sodium_init)");
  ASSIGN_OR_RETURN(KeyFile file, read_key_file(path));
  if (file.mode & 022)
    return fail(make_error("public key " + path + " can be changed by others (mode " + mode_text(file.mode) + ")")
                    .with_hint("whoever can change it can make restore accept their images: chmod 644 " + path));
  std::string_view text = file.text;
  VerifyKey key;
  if (text.starts_with(kSecretHeader))
    return fail(make_error(path + " is a secret key").with_hint("give the public key, " + path + ".pub"));
  bool ok = text.starts_with(kPublicHeader) && text.ends_with("\n");
  if (ok) {
    text.remove_prefix(kPublicHeader.size());
    text.remove_suffix(1);
    ok = from_hex(text, key.public_key.data(), key.public_key.size());
  }
  if (!ok) return fail(make_error(path + " is not a cryo public key").with_hint("give the KEYFILE.pub made by cryo keygen"));
  return key;
}

}  // namespace cryo::image
