// cryo show: decodes every file of an image as text or JSON, driven by the image kind table.
#include <cstdio>

#include "cli/commands.h"
#include "image/image_dir.h"
#include "image/image_printer.h"

namespace cryo::cli {
namespace {

struct ShowOptions {
  std::string dir;
  bool json = false;
};

Result<int> show(const ShowOptions& options) {
  ASSIGN_OR_RETURN(image::Inventory inventory, image::open_image_dir(options.dir));
  ASSIGN_OR_RETURN(std::string out,
                   image::render_image(options.dir, inventory,
                                       options.json ? image::PrintFormat::Json : image::PrintFormat::Text));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Subcommand add_show_command(CLI::App& cryo) {
  auto options = std::make_shared<ShowOptions>();
  auto* app = cryo.add_subcommand("show", "Decode an image directory as text or JSON");
  app->add_option("-D,--images-dir", options->dir, "Image directory")->required();
  app->add_flag("--json", options->json, "Print JSON instead of text");
  return {app, [options] { return show(*options); }};
}

}  // namespace cryo::cli
