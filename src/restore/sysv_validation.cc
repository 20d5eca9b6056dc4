// Validation of sysv.img (restore/sysv_ipc.h restores it) and of the mappings that name its segments.
#include <climits>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "image/ipc_sysctls.h"
#include "image/object_limits.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

uint64_t whole_pages(uint64_t size) { return (size + 4095) / 4096 * 4096; }

}  // namespace

void validate_sysv(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& segments = set.sysv.segments();
  auto problem = [&](const std::string& text) { problems->push_back("sysv.img: " + text); };
  if (set.sysv.sysctls_size() > 0 && !set.namespaces.own_ipc()) problem("IPC sysctls of a tree without an IPC namespace of its own");
  std::set<std::string> seen;
  for (const auto& sysctl : set.sysv.sysctls()) {
    bool known = false;
    for (std::string_view name : image::kIpcSysctls) known |= sysctl.name() == name;
    if (!known) problem("sysctl '" + sysctl.name() + "' is not one of the IPC namespace's");
    if (!seen.insert(sysctl.name()).second) problem("sysctl " + sysctl.name() + " twice");
    // Numbers, separated by blanks (kernel.sem has four), as the kernel prints them.
    bool numbers = !sysctl.value().empty() && sysctl.value().size() <= 128 &&
                   sysctl.value().find_first_not_of("0123456789-\t ") == std::string::npos;
    if (!numbers) problem("sysctl " + sysctl.name() + ": value '" + sysctl.value().substr(0, 64) + "' is not numbers");
  }
  if (segments.empty()) {
    for (const auto& process : set.processes)
      for (const auto& vma : process.mm.vmas())
        if (vma.kind() == image::VMA_SYSV_SHM)
          problems->push_back("pid " + std::to_string(process.pid()) + ": maps SysV segment " + std::to_string(vma.shmid()) +
                              ", which the image does not hold");
    return;
  }
  if (!set.namespaces.own_ipc()) problem("SysV segments of a tree without an IPC namespace of its own");
  std::map<int64_t, const image::SysvShmSegment*> by_id;
  std::set<int32_t> live_keys;
  uint64_t total = 0;
  for (const auto& s : segments) {
    std::string name = "segment " + std::to_string(s.id());
    if (s.id() < 0) problem(name + ": negative id");
    if (!by_id.emplace(s.id(), &s).second) problem(name + ": a second segment with this id");
    if (s.size() == 0) problem(name + ": size 0");
    if (s.contents().size() != s.size())
      problem(name + ": " + std::to_string(s.contents().size()) + " bytes of contents for size " + std::to_string(s.size()));
    total += s.size();
    if (s.mode() & ~0777u) problem(name + ": mode " + std::to_string(s.mode()) + " has more than permission bits");
    if (s.removed()) {
      if (s.key() != 0) problem(name + ": removed but with key " + std::to_string(s.key()));
    } else {
      if (s.creation_key() != 0) problem(name + ": a creation key for a segment that is not removed");
      if (s.key() != 0 && !live_keys.insert(s.key()).second) problem(name + ": a second segment with key " + std::to_string(s.key()));
    }
  }
  if (total > image::kMaxObjectBytes) problem("segments hold " + std::to_string(total) + " bytes, more than cryo stores");
  std::set<int64_t> mapped;
  for (const auto& process : set.processes) {
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_SYSV_SHM) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": SysV mapping at " + std::to_string(vma.start());
      auto it = by_id.find(static_cast<int64_t>(vma.shmid()));
      if (vma.shmid() > INT32_MAX || it == by_id.end()) {
        problems->push_back(name + ": segment " + std::to_string(vma.shmid()) + " is not in sysv.img");
        continue;
      }
      const image::SysvShmSegment& s = *it->second;
      mapped.insert(s.id());
      if (vma.end() - vma.start() != whole_pages(s.size()))
        problems->push_back(name + ": " + std::to_string(vma.end() - vma.start()) + " bytes for segment " + std::to_string(s.id()) +
                            " of " + std::to_string(s.size()));
      unsigned key = 0;
      int32_t expected = s.removed() ? s.creation_key() : s.key();
      if (std::sscanf(vma.path().c_str(), "/SYSV%8x", &key) != 1 || static_cast<int32_t>(key) != expected)
        problems->push_back(name + ": named '" + vma.path() + "', not after the key of segment " + std::to_string(s.id()));
    }
  }
  for (const auto& s : segments)
    if (s.removed() && !mapped.count(s.id()))
      problem("segment " + std::to_string(s.id()) + " is removed and mapped by no process (it would be gone)");
}

}  // namespace cryo::restore
