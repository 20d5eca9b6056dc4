#include "restore/host_vdso_check.h"

#include <map>

#include "base/hex.h"

namespace cryo::restore {
namespace {

const char* special_name(image::VmaKind kind) {
  switch (kind) {
    case image::VMA_VDSO: return "[vdso]";
    case image::VMA_VVAR: return "[vvar]";
    case image::VMA_VVAR_VCLOCK: return "[vvar_vclock]";
    default: return nullptr;
  }
}

// Returns what makes the image's vdso mappings unusable on this kernel, or "".
std::string layout_difference(const std::map<std::string, NamedRange>& image, const std::map<std::string, NamedRange>& here) {
  for (const auto& [name, range] : here)
    if (!image.count(name)) return "has no " + name + " mapping, which this kernel gives every process";
  for (const auto& [name, range] : image)
    if (!here.count(name)) return "has a " + name + " mapping, which this kernel does not have";
  if (image.empty()) return "";
  // Same names on both sides from here on; both maps iterate in the same order.
  uint64_t image_base = image.begin()->second.start, here_base = here.begin()->second.start;
  for (const auto& [name, range] : image) {
    const NamedRange& mine = here.at(name);
    if (mine.size() != range.size())
      return name + " is " + std::to_string(range.size()) + " bytes, " + std::to_string(mine.size()) + " on this kernel";
    if (range.start - image_base != mine.start - here_base) return "the distances between its vdso mappings differ from this kernel's";
  }
  return "";
}

// Same text, or every function at the same offset: the process's cached pointers stay right.
void check_symbols(const image::VdsoText& dumped, const HostFacts& host, HostCheck* out) {
  if (dumped.size() == 0) return;  // An image from before vdso symbols were recorded: layout only.
  if (!host.vdso) {
    out->problems.push_back("this kernel's vdso could not be read, so the image's cannot be compared with it");
    return;
  }
  if (dumped.xxh3() == host.vdso->xxh3 && dumped.size() == host.vdso->size) return;
  std::map<std::string, uint64_t> here;
  for (const auto& sym : host.vdso->symbols) here[sym.name] = sym.offset;
  std::string moved;
  for (const auto& sym : dumped.symbols()) {
    auto it = here.find(sym.name());
    if (it == here.end())
      moved += (moved.empty() ? "" : ", ") + sym.name() + " (missing here)";
    else if (it->second != sym.offset())
      moved += (moved.empty() ? "" : ", ") + sym.name() + " (at " + hex(sym.offset()) + " in the image, " + hex(it->second) + " here)";
  }
  if (!moved.empty()) {
    out->problems.push_back("this kernel's vdso differs from the dump's (text xxh3 " + hex(dumped.xxh3()) + ", here " + hex(host.vdso->xxh3) +
                            ") and the processes may have cached its functions: " + moved);
    return;
  }
  out->notes.push_back("this kernel's vdso differs from the dump's, but every function is at the same offset: not a problem");
}

}  // namespace

void check_vdso(const ImageSet& set, const HostFacts& host, HostCheck* out) {
  std::map<std::string, NamedRange> here;
  for (const auto& r : host.vdso_layout) here[r.name] = r;
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    std::map<std::string, NamedRange> image;
    for (const auto& vma : process.mm.vmas())
      if (const char* name = special_name(vma.kind())) image[name] = {name, vma.start(), vma.end()};
    std::string problem = layout_difference(image, here);
    if (!problem.empty()) {
      out->problems.push_back("pid " + std::to_string(process.pid()) + ": " + problem + " (a vdso from another kernel cannot work here)");
      return;  // Every process has the same layout; one line says it.
    }
  }
  check_symbols(set.inventory.vdso(), host, out);
}

}  // namespace cryo::restore
