#include "kernel/host_facts.h"

#include <sys/utsname.h>

#include "base/file_util.h"
#include "kernel/proc_text.h"
#include "kernel/tree_identity.h"

namespace cryo {

std::vector<std::string> parse_cpu_flags(std::string_view cpuinfo) {
  std::vector<std::string> flags;
  for (auto line : proc_text::lines(cpuinfo)) {
    if (!line.starts_with("flags")) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    for (auto word : proc_text::fields(line.substr(colon + 1))) flags.emplace_back(word);
    break;  // Every CPU lists the same flags.
  }
  return flags;
}

Result<HostFacts> read_host_facts() {
  HostFacts facts;
  utsname uts;
  if (::uname(&uts) != 0) return fail_errno("uname");
  facts.kernel_release = uts.release;
  facts.arch = uts.machine;
  ASSIGN_OR_RETURN(std::string cpuinfo, read_file("/proc/cpuinfo"));
  facts.cpu_flags = parse_cpu_flags(cpuinfo);
  facts.xsave = read_xsave_layout();
  if (auto boot_id = read_boot_id()) facts.boot_id = *boot_id;
  else facts.boot_id_error = boot_id.error();
  ASSIGN_OR_RETURN(facts.vdso_layout, read_special_mappings());
  return facts;
}

}  // namespace cryo
