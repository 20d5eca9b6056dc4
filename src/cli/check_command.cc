// cryo check: probes the kernel features and capabilities checkpoint/restore needs, and says what to
// do about each one that is missing. Exits 0 only when everything required is there.
#include <cstdio>

#include "cli/commands.h"
#include "probe/feature_report.h"
#include "probe/features.h"

namespace cryo::cli {
namespace {

struct CheckOptions {
  bool json = false;
};

Result<int> check(const CheckOptions& options) {
  const KernelFeatures& features = kernel_features();
  std::string out = options.json ? format_features_json(features) : format_features_text(features);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return features.ready() ? 0 : 1;
}

}  // namespace

Subcommand add_check_command(CLI::App& cryo) {
  auto options = std::make_shared<CheckOptions>();
  auto* app = cryo.add_subcommand("check", "Report the kernel features and capabilities checkpoint/restore needs");
  app->add_flag("--json", options->json, "Print one JSON object instead of a table");
  return {app, [options] { return check(*options); }};
}

}  // namespace cryo::cli
