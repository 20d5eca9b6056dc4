// /proc/PID/maps and the VmFlags lines of /proc/PID/smaps: the memory map of a process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cryo {

// The VmFlags mnemonics cryo acts on (see proc(5), "VmFlags").
struct VmFlags {
  bool growsdown = false;    // gd
  bool locked = false;       // lo
  bool io = false;           // io: memory-mapped I/O
  bool pfnmap = false;       // pf: raw PFN mapping (device memory)
  bool dontcopy = false;     // dc: MADV_DONTFORK
  bool dontdump = false;     // dd: MADV_DONTDUMP
  bool hugepage = false;     // hg: MADV_HUGEPAGE
  bool nohugepage = false;   // nh: MADV_NOHUGEPAGE
  bool noreserve = false;    // nr: MAP_NORESERVE
  bool wipeonfork = false;   // wf: MADV_WIPEONFORK
  bool mergeable = false;    // mg: MADV_MERGEABLE (KSM)
  bool hugetlb = false;      // ht: hugetlbfs memory
  bool droppable = false;    // dp: MAP_DROPPABLE
  // Every mnemonic as listed: src/image/vm_flag_table.cc says what cryo does with each.
  std::vector<std::string> all;
};

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  bool read = false;
  bool write = false;
  bool exec = false;
  bool shared = false;       // 's' instead of 'p'
  uint64_t pgoff = 0;        // Offset in bytes.
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string path;          // "" for anonymous memory; "[heap]", "[vdso]", ... for special ones;
                             // a file path, which ends in " (deleted)" when the file was unlinked.
  VmFlags vm_flags;          // Only filled by parse_proc_smaps.

  // The name of the entry under /proc/PID/map_files/.
  std::string map_files_name() const;
};

// Parses one maps line ("start-end perms offset major:minor inode   path").
Result<MapsEntry> parse_maps_line(std::string_view line);
// Parses all of /proc/PID/maps.
Result<std::vector<MapsEntry>> parse_proc_maps(std::string_view text);
// Parses /proc/PID/smaps: the maps line of each VMA and its VmFlags (other keys are skipped).
Result<std::vector<MapsEntry>> parse_proc_smaps(std::string_view text);
Result<std::vector<MapsEntry>> read_proc_smaps(pid_t pid);
// /proc/PID/smaps as `earlier` (a text of it read before) parses, if the process's mappings are
// still those it lists; read again otherwise. Reading smaps walks every page table (0.2 s at 2 GiB);
// /proc/PID/maps, compared line for line with the mapping lines of `earlier`, walks none.
Result<std::vector<MapsEntry>> read_proc_smaps_reusing(pid_t pid, std::string_view earlier);

}  // namespace cryo
