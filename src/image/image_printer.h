// Turns decoded images into the text and JSON that `cryo show` prints. Shared by show and the image
// fuzzer, so what is fuzzed is what users run.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "base/dir_fd.h"
#include "base/error.h"
#include "inventory.pb.h"

namespace cryo::image {

enum class PrintFormat { Text, Json };

// One record as protobuf text format; long string and bytes fields (registers, pipe data) are cut
// to their start.
std::string record_to_text(const google::protobuf::Message& message);

// One record as a JSON object with the .proto field names and every field present.
Result<std::string> record_to_json(const google::protobuf::Message& message);

// Decodes every file the inventory lists from `dir` and renders the whole image. The directory must
// already have been verified by open_image_dir; raw files are described by their size only.
Result<std::string> render_image(const DirFd& dir, const Inventory& inventory, PrintFormat format);
Result<std::string> render_image(const std::string& dir, const Inventory& inventory, PrintFormat format);

}  // namespace cryo::image
