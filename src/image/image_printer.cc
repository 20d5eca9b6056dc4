#include "image/image_printer.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <memory>
#include <vector>

#include "base/file_util.h"
#include "image/framed_file.h"
#include "image/image_kinds.h"
#include "pagemap.pb.h"

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

// The bytes of page data a compressed pages file holds, from its process's pagemap.
Result<uint64_t> compressed_page_bytes(const DirFd& dir, const Inventory& inventory, uint32_t pid) {
  std::string name = file_name(Kind::Pagemap, pid);
  for (const auto& file : inventory.files()) {
    if (file.name() != name) continue;
    Pagemap pagemap;
    RETURN_IF_ERROR(read_image(dir, Kind::Pagemap, pid, &pagemap, file.size()));
    return pagemap.pages_file_size();
  }
  return fail(dir.path() + ": " + file_name(Kind::CompressedPages, pid) + " has no " + name);
}

std::string ratio_text(uint64_t data, uint64_t stored) {
  if (stored == 0) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(data) / static_cast<double>(stored));
  return text;
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
  uint64_t compressed_files = 0, stored_bytes = 0, page_bytes = 0;
  for (const auto& file : inventory.files()) {
    auto id = identify(file.name());
    if (!id) return fail(dir.path() + ": unknown image file " + file.name());
    ASSIGN_OR_RETURN(auto records, decode_file(dir, *id, file));
    const bool raw = !kind_info(id->kind).prototype;
    std::optional<uint64_t> holds;  // Bytes of pages in a compressed pages file.
    if (id->kind == Kind::CompressedPages) {
      ASSIGN_OR_RETURN(holds, compressed_page_bytes(dir, inventory, id->pid));
      ++compressed_files;
      stored_bytes += file.size();
      page_bytes += *holds;
    }
    if (json) {
      out += std::string(first ? "" : ",") + "\"" + file.name() + "\":";
      if (holds) {
        out += "{\"raw_bytes\":" + std::to_string(file.size()) + ",\"compression\":\"zstd\",\"page_bytes\":" + std::to_string(*holds) +
               ",\"ratio\":" + ratio_text(*holds, file.size()) + "}";
      } else if (raw) {
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
      if (holds)
        out += "zstd-compressed page data, " + std::to_string(file.size()) + " bytes holding " + std::to_string(*holds) +
               " bytes of pages (ratio " + ratio_text(*holds, file.size()) + ")\n";
      else if (raw)
        out += "raw page data, " + std::to_string(file.size()) + " bytes\n";
      for (const auto& record : records) out += record_to_text(*record);
    }
    first = false;
  }
  if (json) {
    out += "}";  // The files.
    // Only for compressed images, so that the decode of others stays as it was.
    if (compressed_files)
      out += ",\"compressed_pages\":{\"codec\":\"zstd\",\"stored_bytes\":" + std::to_string(stored_bytes) +
             ",\"page_bytes\":" + std::to_string(page_bytes) + ",\"ratio\":" + ratio_text(page_bytes, stored_bytes) + "}";
    out += "}\n";
  } else if (compressed_files) {
    out += "\n== pages ==\ncompressed with zstd: " + std::to_string(page_bytes) + " bytes of pages in " + std::to_string(stored_bytes) +
           " bytes (ratio " + ratio_text(page_bytes, stored_bytes) + ")\n";
  }
  return out;
}

}  // namespace cryo::image
