#include "image/image_printer.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "base/file_util.h"
#include "image/framed_file.h"
#include "image/image_kinds.h"

namespace cryo::image {
namespace {

using Records = std::vector<std::unique_ptr<google::protobuf::Message>>;

// Decodes one image file; raw files hold no records.
Result<Records> decode_file(const DirFd& dir, const FileId& id, const ImageFile& file) {
  const std::string& name = file.name();
  if (!kind_info(id.kind).prototype) return Records{};
  ASSIGN_OR_RETURN(std::string bytes, dir.read_regular(name, std::min(file.size(), kMaxFramedFileSize)));
  return decode_records(id.kind, bytes, name);
}

}  // namespace

std::string record_to_text(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  // Register blobs and page data would drown the rest; show their start only.
  printer.SetTruncateStringFieldLongerThan(64);
  std::string out;
  printer.PrintToString(message, &out);
  return out;
}

Result<std::string> record_to_json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return fail("JSON encoding: " + std::string(status.message()));
  return out;
}

Result<std::string> render_image(const std::string& dir_path, const Inventory& inventory, PrintFormat format) {
  ASSIGN_OR_RETURN(DirFd dir, DirFd::open(dir_path));
  return render_image(dir, inventory, format);
}

Result<std::string> render_image(const DirFd& dir, const Inventory& inventory, PrintFormat format) {
  const bool json = format == PrintFormat::Json;
  std::string out;
  if (json) {
    ASSIGN_OR_RETURN(std::string inventory_json, record_to_json(inventory));
    out = "{\"inventory\":" + inventory_json + ",\"files\":{";
  } else {
    out = "== inventory.img ==\n" + record_to_text(inventory);
  }
  bool first = true;
  for (const auto& file : inventory.files()) {
    auto id = identify(file.name());
    if (!id) return fail(dir.path() + ": unknown image file " + file.name());
    ASSIGN_OR_RETURN(auto records, decode_file(dir, *id, file));
    const bool raw = !kind_info(id->kind).prototype;
    if (json) {
      out += std::string(first ? "" : ",") + "\"" + file.name() + "\":";
      if (raw) {
        out += "{\"raw_bytes\":" + std::to_string(file.size()) + "}";
      } else {
        out += "[";
        for (size_t i = 0; i < records.size(); ++i) {
          ASSIGN_OR_RETURN(std::string record_json, record_to_json(*records[i]));
          out += (i ? "," : "") + record_json;
        }
        out += "]";
      }
    } else {
      out += "\n== " + file.name() + " ==\n";
      if (raw) out += "raw page data, " + std::to_string(file.size()) + " bytes\n";
      for (const auto& record : records) out += record_to_text(*record);
    }
    first = false;
  }
  if (json) out += "}}\n";
  return out;
}

}  // namespace cryo::image
