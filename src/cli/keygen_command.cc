// cryo keygen: makes an ed25519 key pair for signed images (cryo dump --sign, restore --verify).
#include <cstdio>

#include "cli/commands.h"
#include "image/signing_keys.h"

namespace cryo::cli {
namespace {

struct KeygenOptions {
  std::string output;
};

Result<int> keygen(const KeygenOptions& options) {
  RETURN_IF_ERROR(image::generate_key_pair(options.output));
  std::printf("secret key: %s (keep it private: it signs images that restore trusts)\npublic key: %s.pub\n",
              options.output.c_str(), options.output.c_str());
  return 0;
}

}  // namespace

Subcommand add_keygen_command(CLI::App& cryo) {
  auto options = std::make_shared<KeygenOptions>();
  auto* app = cryo.add_subcommand("keygen", "Make an ed25519 key pair to sign images with: KEYFILE and KEYFILE.pub");
  app->add_option("-o,--output", options->output, "The secret key file to create (0600); the public key is KEYFILE.pub")
      ->required();
  return {app, [options] { return keygen(*options); }};
}

}  // namespace cryo::cli
