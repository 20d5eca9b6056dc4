#include "image/image_kinds.h"

#include <charconv>
#include <stdexcept>

#include "core.pb.h"
#include "file_contents.pb.h"
#include "files.pb.h"
#include "included.pb.h"
#include "fingerprint.pb.h"
#include "inventory.pb.h"
#include "mm.pb.h"
#include "namespaces.pb.h"
#include "objects.pb.h"
#include "pagemap.pb.h"
#include "pipes.pb.h"
#include "pstree.pb.h"
#include "sysv.pb.h"

namespace cryo::image {
namespace {

template <typename M>
const google::protobuf::Message* prototype() {
  return &M::default_instance();
}

// Magics are ASCII tags read as little-endian u32, so a hexdump shows them.
constexpr uint32_t tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}

const KindInfo kKinds[] = {
    {Kind::Inventory, "inventory", "inventory", false, tag("CRIV"), prototype<Inventory>},
    {Kind::Namespaces, "namespaces", "namespaces", false, tag("CRNS"), prototype<Namespaces>},
    {Kind::ProcessTree, "pstree", "pstree", false, tag("CRPT"), prototype<ProcessTree>},
    {Kind::Core, "core", "core", true, tag("CRCO"), prototype<ProcessCore>},
    {Kind::MemoryMap, "mm", "mm", true, tag("CRMM"), prototype<MemoryMap>},
    {Kind::Pagemap, "pagemap", "pagemap", true, tag("CRPM"), prototype<Pagemap>},
    {Kind::Pages, "pages", "pages", true, 0, nullptr},
    {Kind::Files, "files", "files", true, tag("CRFD"), prototype<ProcessFiles>},
    {Kind::Pipes, "pipes", "pipes", false, tag("CRPP"), prototype<Pipes>},
    {Kind::MemoryObjects, "objects", "objects", false, tag("CROB"), prototype<MemoryObjects>},
    {Kind::ObjectPages, "objpages", "objpages", false, 0, nullptr},
    {Kind::FileContents, "contents", "contents", false, tag("CRFC"), prototype<FileContents>},
    {Kind::IncludedFiles, "included", "included", false, tag("CRIN"), prototype<IncludedFiles>},
    {Kind::Fingerprint, "fingerprint", "fingerprint", true, tag("CRFP"), prototype<ProcessFingerprint>},
    {Kind::SysvIpc, "sysv", "sysv", false, tag("CRSV"), prototype<SysvIpc>},
    // The page data of `dump --compress`: zstd frames, indexed by the pagemap's compression table.
    {Kind::CompressedPages, "zpages", "zpages", true, 0, nullptr},
};

}  // namespace

std::span<const KindInfo> all_kinds() { return kKinds; }

const KindInfo& kind_info(Kind kind) {
  for (const auto& info : kKinds)
    if (info.kind == kind) return info;
  throw std::logic_error("image kind missing from the table");
}

std::string file_name(Kind kind, uint32_t pid) {
  const auto& info = kind_info(kind);
  std::string name(info.prefix);
  if (info.per_process) name += "-" + std::to_string(pid);
  return name + ".img";
}

std::optional<FileId> identify(std::string_view name) {
  constexpr std::string_view kSuffix = ".img";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - kSuffix.size());
  for (const auto& info : kKinds) {
    if (!info.per_process) {
      if (stem == info.prefix) return FileId{info.kind, 0};
      continue;
    }
    if (stem.size() <= info.prefix.size() + 1 || !stem.starts_with(info.prefix) || stem[info.prefix.size()] != '-')
      continue;
    std::string_view digits = stem.substr(info.prefix.size() + 1);
    uint32_t pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc() || end != digits.data() + digits.size() || pid == 0 || digits[0] == '0') continue;
    return FileId{info.kind, pid};
  }
  return std::nullopt;
}

bool is_log_file(std::string_view name) { return name == "dump.log" || name == "restore.log"; }

bool is_stats_file(std::string_view name) {
  for (std::string_view stats : {dump_stats_file_name(), restore_stats_file_name()}) {
    if (name == stats) return true;
    // The temporary name of one being replaced: "." + name + ".new".
    if (name.size() == stats.size() + 5 && name.starts_with('.') && name.substr(1, stats.size()) == stats &&
        name.ends_with(".new"))
      return true;
  }
  return false;
}

std::unique_ptr<google::protobuf::Message> new_message(Kind kind) {
  const auto& info = kind_info(kind);
  if (!info.prototype) return nullptr;
  return std::unique_ptr<google::protobuf::Message>(info.prototype()->New());
}

}  // namespace cryo::image
