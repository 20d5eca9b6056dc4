// The one table of image kinds: file-name pattern, magic and message type. Nothing else in cryo
// knows image file names or framing.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cryo::image {

constexpr uint32_t kFormatVersion = 1;

// New kinds go at the end: the fuzzer's seeds select a kind by its index in the table.
enum class Kind { Inventory, Namespaces, ProcessTree, Core, MemoryMap, Pagemap, Pages, Files, Pipes, MemoryObjects, ObjectPages,
                  FileContents, IncludedFiles, Fingerprint, SysvIpc, CompressedPages };

struct KindInfo {
  Kind kind;
  std::string_view name;         // Short name for messages: "core".
  std::string_view prefix;       // File name is prefix + ".img", or prefix + "-<pid>.img" when per_process.
  bool per_process;
  uint32_t magic;                // First 4 bytes of a framed file; 0 for raw files.
  // The message type of the records; nullptr for raw files (pages).
  const google::protobuf::Message* (*prototype)();
};

std::span<const KindInfo> all_kinds();
const KindInfo& kind_info(Kind kind);

// The file name of an image: "inventory.img", "core-42.img".
std::string file_name(Kind kind, uint32_t pid = 0);

struct FileId {
  Kind kind;
  uint32_t pid;  // 0 for kinds that are not per process.
};
// Which kind a file name is, or nullopt when it is not an image file.
std::optional<FileId> identify(std::string_view file_name);

// Log files live in the image directory but are not part of the image.
bool is_log_file(std::string_view file_name);

// The stats of the dump and of the latest restore (image/run_stats.h) live beside the image and are
// not part of it either: the dump's describe the commit that seals the inventory, and a restore's
// are written into an image that is already complete. Each is replaced atomically through a
// temporary name, which counts as a stats file too (a cryo killed in between leaves it behind).
constexpr std::string_view dump_stats_file_name() { return "stats-dump.json"; }
constexpr std::string_view restore_stats_file_name() { return "stats-restore.json"; }
bool is_stats_file(std::string_view file_name);

// What the inventory does not list and an image reader therefore skips: logs and stats.
inline bool is_outside_inventory(std::string_view file_name) { return is_log_file(file_name) || is_stats_file(file_name); }

// The signature of a signed image (image_signature.h): written after the inventory, not listed in it.
constexpr std::string_view signature_file_name() { return "signature.img"; }

// A fresh, empty message of the kind's type (for decoding).
std::unique_ptr<google::protobuf::Message> new_message(Kind kind);

}  // namespace cryo::image
