#include "restore/host_vdso_check.h"

#include <cstddef>
#include <map>

#include "base/fault_injection.h"
#include "base/hex.h"
#include "ptrace/registers.h"
#include "restore/vdso_mappings.h"

namespace cryo::restore {
namespace {

// Returns what makes the image's vdso mappings unusable on this kernel, or "". A mapping the process
// unmapped itself (valgrind's tools unmap [vdso], a sandbox may unmap them all) is no problem:
// restore unmaps this kernel's too. The ones it kept must be this kernel's, at the same distances.
std::string layout_difference(const std::map<std::string, NamedRange>& image, const std::map<std::string, NamedRange>& here) {
  for (const auto& [name, range] : image)
    if (!here.count(name)) return "has a " + name + " mapping, which this kernel does not have";
  if (image.empty()) return "";
  uint64_t image_base = image.begin()->second.start, here_base = here.at(image.begin()->first).start;
  for (const auto& [name, range] : image) {
    const NamedRange& mine = here.at(name);
    if (mine.size() != range.size())
      return name + " is " + std::to_string(range.size()) + " bytes, " + std::to_string(mine.size()) + " on this kernel";
    if (range.start - image_base != mine.start - here_base) return "the distances between its vdso mappings differ from this kernel's";
  }
  return "";
}

// The first process's layout problem, or "" ("pid N: ..."). Every process has the same layout.
std::string first_layout_difference(const ImageSet& set, const RestoreHostFacts& host) {
  std::map<std::string, NamedRange> here;
  for (const auto& r : host.vdso_layout)
    if (is_vdso_mapping_name(r.name)) here[r.name] = {r.name, r.start, r.end};  // [vsyscall] never moves.
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    std::map<std::string, NamedRange> image;
    for (const auto& vma : process.mm.vmas())
      if (const char* name = vdso_mapping_name(vma.kind())) image[name] = {name, vma.start(), vma.end()};
    std::string problem = layout_difference(image, here);
    if (!problem.empty()) return "pid " + std::to_string(process.pid()) + ": " + problem;
  }
  return "";
}

// Entry points that moved or are missing here, "" when every one is where it was.
std::string moved_symbols(const image::VdsoText& dumped, const VdsoText& mine) {
  std::map<std::string, uint64_t> here;
  for (const auto& sym : mine.symbols) here[sym.name] = sym.offset;
  std::string moved;
  for (const auto& sym : dumped.symbols()) {
    auto it = here.find(sym.name());
    if (it == here.end())
      moved += (moved.empty() ? "" : ", ") + sym.name() + " (missing here)";
    else if (it->second != sym.offset())
      moved += (moved.empty() ? "" : ", ") + sym.name() + " (at " + hex(sym.offset()) + " in the image, " + hex(it->second) + " here)";
  }
  return moved;
}

// A thread stopped inside the old vdso would go on in the proxy, whose code is not this kernel's.
std::string thread_inside_vdso(const ImageSet& set) {
  for (const auto& process : set.processes) {
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_VDSO) continue;
      for (const auto& thread : process.core.threads()) {
        Registers regs;
        if (!registers_from_bytes(thread.gpregs(), &regs)) continue;  // validate_image's problem.
        if (regs.gp.rip >= vma.start() && regs.gp.rip < vma.end())
          return "thread " + std::to_string(thread.tid()) + " of pid " + std::to_string(process.pid()) + " was executing inside the vdso (at " +
                 hex(regs.gp.rip) + ")";
      }
    }
  }
  return "";
}

}  // namespace

void check_vdso(const ImageSet& set, const RestoreHostFacts& host, HostCheck* out) {
  std::string layout = first_layout_difference(set, host);
  const image::VdsoText& dumped = set.inventory.vdso();
  if (dumped.size() == 0) {
    // An image from before vdso symbols were recorded: the layout is all there is to compare.
    if (!layout.empty()) out->problems.push_back(layout + " (a vdso from another kernel cannot work here)");
    return;
  }
  if (!host.vdso) {
    out->problems.push_back("this kernel's vdso could not be read, so the image's cannot be compared with it");
    return;
  }
  bool same_text = dumped.xxh3() == host.vdso->xxh3 && dumped.size() == host.vdso->size;
  std::string moved = moved_symbols(dumped, *host.vdso);
  if (layout.empty() && moved.empty() && !host.vdso_redirect_forced) {
    if (!same_text) out->notes.push_back("this kernel's vdso differs from the dump's, but every function is at the same offset: not a problem");
    return;
  }
  std::string why = !layout.empty() ? "its vdso mappings are laid out differently (" + layout + ")"
                    : !moved.empty() ? "its functions moved: " + moved
                                     : "a redirect was asked for (" + std::string(kVdsoRedirectVariable) + ")";
  std::string what = "this kernel's vdso differs from the dump's (text xxh3 " + hex(dumped.xxh3()) + ", here " + hex(host.vdso->xxh3) + "; " + why + ")";
  VdsoRedirect& redirect = out->vdso_redirect;
  for (const auto& sym : dumped.symbols()) redirect.old_symbols.push_back({sym.name(), sym.offset()});
  redirect.new_symbols = host.vdso->symbols;
  std::vector<std::string> problems = redirect_problems(redirect.old_symbols, dumped.size(), redirect.new_symbols);
  if (std::string inside = thread_inside_vdso(set); !inside.empty()) problems.push_back(inside);
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += (list.empty() ? "" : "; ") + p;
    out->problems.push_back(what + ", and the processes' cached entry points cannot be redirected to it: " + list);
    redirect = {};
    return;
  }
  redirect.needed = true;
  redirect.old_text.assign(dumped.text().begin(), dumped.text().end());
  out->notes.push_back(what + ": the processes' " + std::to_string(dumped.symbols_size()) +
                       " entry points are redirected to it, and its vdso is placed at another address");
}

}  // namespace cryo::restore
