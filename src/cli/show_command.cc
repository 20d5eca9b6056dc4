// cryo show: decodes every file of an image as text or JSON, driven by the image kind table.
#include <cerrno>
#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "image/image_dir.h"
#include "image/image_printer.h"
#include "image/image_summaries.h"
#include "image/run_stats.h"
#include "image/signing_keys.h"

namespace cryo::cli {
namespace {

struct ShowOptions {
  std::string dir;
  bool json = false;
  bool stats = false;
  std::string verify_key;
  bool ps = false, fds = false, mems = false;  // Summaries (image/image_summaries.h) instead of the whole decode.
};

Result<int> show(const ShowOptions& options) {
  std::optional<image::VerifyKey> key;
  if (!options.verify_key.empty()) {
    auto loaded = image::load_verify_key(options.verify_key);
    if (!loaded) return fail(loaded.error().context("--verify"));
    key = *loaded;
  }
  auto dir = DirFd::open(options.dir);
  if (!dir) {
    if (dir.error().err == ENOENT)
      return fail(errno_error("image directory " + options.dir, ENOENT).with_hint("check the path given with -D"));
    return fail(dir.error());
  }
  if (options.stats) {
    // The stats are beside the image, not in it (image/run_stats.h): read and checked on their own.
    ASSIGN_OR_RETURN(std::string out, image::render_stats_files(*dir, options.json));
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  ASSIGN_OR_RETURN(image::Inventory inventory, image::open_image_dir(*dir, key ? &*key : nullptr));
  const auto format = options.json ? image::PrintFormat::Json : image::PrintFormat::Text;
  std::string out;
  if (options.ps || options.fds || options.mems) {
    auto summary = options.ps ? image::Summary::Tree : options.fds ? image::Summary::Fds : image::Summary::Memory;
    ASSIGN_OR_RETURN(out, image::render_summary(*dir, inventory, summary, format));
  } else {
    ASSIGN_OR_RETURN(out, image::render_image(*dir, inventory, format));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Subcommand add_show_command(CLI::App& cryo) {
  auto options = std::make_shared<ShowOptions>();
  auto* app = cryo.add_subcommand("show", "Decode an image directory as text or JSON");
  app->add_option("-D,--images-dir", options->dir, "Image directory")->required();
  app->add_flag("--json", options->json, "Print JSON instead of text");
  auto* verify = app->add_option("--verify", options->verify_key, "Show the image only if this public key's owner signed it");
  auto* ps = app->add_flag("--ps", options->ps, "Summarise the process tree: PIDs, parents, sessions, groups, commands, states");
  auto* fds = app->add_flag("--fds", options->fds, "Summarise each process's fds: number, kind and target")->excludes(ps);
  auto* mems =
      app->add_flag("--mems", options->mems, "Summarise each process's mappings and where their pages are")->excludes(ps)->excludes(fds);
  app->add_flag("--stats", options->stats,
                "Print the stats of the dump and of the latest restore (stats-dump.json, stats-restore.json; not signed)")
      ->excludes(verify)
      ->excludes(ps)
      ->excludes(fds)
      ->excludes(mems);
  return {app, [options] { return show(*options); }};
}

}  // namespace cryo::cli
