// cryo show: decodes every file of an image as text or JSON, driven by the image kind table.
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "base/file_util.h"
#include "cli/commands.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"

namespace cryo::cli {
namespace {

struct ShowOptions {
  std::string dir;
  bool json = false;
};

Result<std::string> to_json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return fail("JSON encoding: " + std::string(status.message()));
  return out;
}

std::string to_text(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  // Register blobs and page data would drown the rest; show their start only.
  printer.SetTruncateStringFieldLongerThan(64);
  std::string out;
  printer.PrintToString(message, &out);
  return out;
}

// Decodes one image file; raw files are described by their size.
Result<std::vector<std::unique_ptr<google::protobuf::Message>>> decode_file(const std::string& dir,
                                                                             const image::FileId& id,
                                                                             const std::string& name) {
  if (!image::kind_info(id.kind).prototype) return std::vector<std::unique_ptr<google::protobuf::Message>>{};
  ASSIGN_OR_RETURN(std::string bytes, read_file(dir + "/" + name));
  return image::decode_records(id.kind, bytes, name);
}

Result<int> show(const ShowOptions& options) {
  ASSIGN_OR_RETURN(image::Inventory inventory, image::open_image_dir(options.dir));
  std::string out;
  if (options.json) {
    ASSIGN_OR_RETURN(std::string inventory_json, to_json(inventory));
    out = "{\"inventory\":" + inventory_json + ",\"files\":{";
  } else {
    out = "== inventory.img ==\n" + to_text(inventory);
  }
  bool first = true;
  for (const auto& file : inventory.files()) {
    auto id = image::identify(file.name());
    if (!id) return fail(options.dir + ": unknown image file " + file.name());
    ASSIGN_OR_RETURN(auto records, decode_file(options.dir, *id, file.name()));
    if (options.json) {
      out += std::string(first ? "" : ",") + "\"" + file.name() + "\":";
      if (!image::kind_info(id->kind).prototype) {
        out += "{\"raw_bytes\":" + std::to_string(file.size()) + "}";
      } else {
        out += "[";
        for (size_t i = 0; i < records.size(); ++i) {
          ASSIGN_OR_RETURN(std::string json, to_json(*records[i]));
          out += (i ? "," : "") + json;
        }
        out += "]";
      }
    } else {
      out += "\n== " + file.name() + " ==\n";
      if (!image::kind_info(id->kind).prototype) out += "raw page data, " + std::to_string(file.size()) + " bytes\n";
      for (const auto& record : records) out += to_text(*record);
    }
    first = false;
  }
  if (options.json) out += "}}\n";
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
