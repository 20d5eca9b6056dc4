// Validation of what an image says about the host it came from: contents.img (file identities by
// content), included.img (files carried by --include), and the inventory's vdso symbols and XSAVE
// layout. Bounds are far above anything real; what fails them is refused before it is used.
#include <sys/stat.h>

#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr int kMaxContentRecords = 1 << 20;
constexpr int kMaxIncluded = 4096;
constexpr uint64_t kMaxIncludedFile = 64ull << 20;
constexpr uint64_t kMaxIncludedTotal = 192ull << 20;
constexpr size_t kMaxBuildId = 64;
constexpr int kMaxVdsoSymbols = 4096;
constexpr uint64_t kMaxVdsoSize = 1 << 20;

void validate_contents(const image::FileContents& contents, std::vector<std::string>* problems) {
  if (contents.files_size() > kMaxContentRecords) {
    problems->push_back("contents.img: " + std::to_string(contents.files_size()) + " files is more than cryo reads");
    return;
  }
  for (const auto& file : contents.files()) {
    std::string where = "contents.img: " + (file.path().size() <= 4096 ? file.path() : "a path of " + std::to_string(file.path().size()) + " bytes");
    if (file.path().size() > 4096) problems->push_back(where + " is too long");
    if (file.build_id().size() > kMaxBuildId)
      problems->push_back(where + ": build-id of " + std::to_string(file.build_id().size()) + " bytes");
    if (file.hashed() && file.size() > contents.hash_limit())
      problems->push_back(where + ": hashed, yet larger (" + std::to_string(file.size()) + " bytes) than the hash bound " +
                          std::to_string(contents.hash_limit()));
  }
}

void validate_included(const image::IncludedFiles& included, std::vector<std::string>* problems) {
  if (included.files_size() > kMaxIncluded) {
    problems->push_back("included.img: " + std::to_string(included.files_size()) + " files is more than cryo puts back");
    return;
  }
  uint64_t total = 0;
  std::set<std::string> seen;
  for (const auto& file : included.files()) {
    if (!is_clean_absolute_path(file.path()) || file.path().size() > 4096 || file.path() == "/") {
      problems->push_back("included.img: the path of a carried file is not a clean absolute path");
      continue;
    }
    std::string where = "included.img: " + file.path();
    if (!seen.insert(file.path()).second) problems->push_back(where + " is carried twice");
    if (file.mode() & ~07777u) problems->push_back(where + ": mode " + std::to_string(file.mode()) + " has more than permission bits");
    if (file.mtime_ns() < 0) problems->push_back(where + ": negative mtime");
    if (file.data().size() > kMaxIncludedFile) problems->push_back(where + ": more than 64 MiB");
    total += file.data().size();
  }
  if (total > kMaxIncludedTotal) problems->push_back("included.img: more than 192 MiB of files");
}

void validate_host_description(const image::Inventory& inv, std::vector<std::string>* problems) {
  const auto& vdso = inv.vdso();
  if (vdso.size() > kMaxVdsoSize) problems->push_back("inventory: a vdso of " + std::to_string(vdso.size()) + " bytes");
  if (!vdso.text().empty() && vdso.text().size() != vdso.size())
    problems->push_back("inventory: the vdso's text is " + std::to_string(vdso.text().size()) + " bytes, not " + std::to_string(vdso.size()));
  if (vdso.symbols_size() > kMaxVdsoSymbols) problems->push_back("inventory: " + std::to_string(vdso.symbols_size()) + " vdso symbols");
  for (const auto& sym : vdso.symbols()) {
    if (sym.name().empty() || sym.name().size() > 128 || sym.offset() >= vdso.size()) {
      problems->push_back("inventory: vdso symbol '" + sym.name().substr(0, 128) + "' is not a function inside the vdso");
      break;
    }
  }
  if (inv.boot_id().size() > 64) problems->push_back("inventory: boot id of " + std::to_string(inv.boot_id().size()) + " bytes");
  if (inv.xsave_size() > (1u << 20)) problems->push_back("inventory: an XSAVE area of " + std::to_string(inv.xsave_size()) + " bytes");
  if (inv.xsave_components_size() > 64) problems->push_back("inventory: " + std::to_string(inv.xsave_components_size()) + " XSAVE components");
}

}  // namespace

void validate_host_files(const ImageSet& set, std::vector<std::string>* problems) {
  validate_contents(set.contents, problems);
  validate_included(set.included, problems);
  validate_host_description(set.inventory, problems);
}

}  // namespace cryo::restore
