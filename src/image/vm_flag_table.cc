#include "image/vm_flag_table.h"

#include <sys/mman.h>

namespace cryo::image {
namespace {

#ifndef MAP_DROPPABLE
constexpr int MAP_DROPPABLE = 0x08;
#endif

using H = VmFlagHandling;

// REVIEWED: one row per mnemonic of show_smap_vma_flags() up to Linux 6.18 (proc.rst). A flag a
// process can set is restored or refused; what the kernel derives from the mapping comes back with
// the mapping, and verification (which compares the whole VmFlags line) proves it.
constexpr VmFlagRule kRules[] = {
    {"rd", "readable", H::Derived},
    {"wr", "writeable", H::Derived},
    {"ex", "executable", H::Derived},
    {"sh", "shared", H::Derived},
    {"mr", "may read", H::Derived},
    {"mw", "may write", H::Derived, &Vma::may_write, &Vma::set_may_write},
    {"me", "may execute", H::Derived},
    {"ms", "may share", H::Derived},
    {"gd", "stack segment grows down", H::MapFlag, nullptr, nullptr, MAP_GROWSDOWN},
    {"pf", "pure PFN range", H::Refused, nullptr, nullptr, 0, "device memory (VmFlags pf, a raw PFN mapping)"},
    {"dw", "disabled write to the mapped file (before 5.15)", H::Refused, nullptr, nullptr, 0,
     "mapped with VM_DENYWRITE (VmFlags dw), a flag of older kernels"},
    {"lo", "pages are locked in memory", H::Lock, &Vma::locked, &Vma::set_locked},
    {"io", "memory mapped I/O area", H::Refused, nullptr, nullptr, 0, "device memory (VmFlags io)"},
    {"sr", "sequential read advise provided", H::MadviseAfterFill, &Vma::madv_sequential, &Vma::set_madv_sequential,
     MADV_SEQUENTIAL},
    {"rr", "random read advise provided", H::MadviseAfterFill, &Vma::madv_random, &Vma::set_madv_random, MADV_RANDOM},
    {"dc", "do not copy area on fork", H::MadviseAfterFill, &Vma::madv_dontfork, &Vma::set_madv_dontfork, MADV_DONTFORK},
    // Only the kernel's special mappings have it (and drivers' ones, which are refused as device memory).
    {"de", "do not expand area on remapping", H::KernelOnly},
    {"ac", "area is accountable", H::Derived, &Vma::accountable, &Vma::set_accountable},
    {"nr", "swap space is not reserved for the area", H::MapFlag, nullptr, nullptr, MAP_NORESERVE},
    {"ht", "area uses huge tlb pages", H::Refused, nullptr, nullptr, 0, "hugetlbfs memory (VmFlags ht)"},
    {"sf", "perform synchronous page faults", H::Refused, nullptr, nullptr, 0, "a MAP_SYNC mapping of DAX memory (VmFlags sf)"},
    {"nl", "non-linear mapping (before 4.0)", H::Refused, nullptr, nullptr, 0, "a non-linear mapping (VmFlags nl)"},
    {"ar", "architecture specific flag", H::Refused, nullptr, nullptr, 0,
     "a mapping with an architecture's own flag (VmFlags ar; PAT memory on x86)"},
    {"wf", "wipe on fork", H::MadviseAfterFill, &Vma::madv_wipeonfork, &Vma::set_madv_wipeonfork, MADV_WIPEONFORK},
    {"dd", "do not include area into core dump", H::MadviseAfterFill, &Vma::madv_dontdump, &Vma::set_madv_dontdump,
     MADV_DONTDUMP},
    // CONFIG_MEM_SOFT_DIRTY marks every new mapping; restore's mappings are new like the originals were.
    {"sd", "soft dirty flag", H::Derived},
    {"mm", "mixed map area", H::Refused, nullptr, nullptr, 0, "a driver's mixed mapping (VmFlags mm)"},
    {"hg", "huge page advise flag", H::MadviseBeforeFill, &Vma::madv_hugepage, &Vma::set_madv_hugepage, MADV_HUGEPAGE},
    {"nh", "no huge page advise flag", H::MadviseAfterFill, &Vma::madv_nohugepage, &Vma::set_madv_nohugepage,
     MADV_NOHUGEPAGE},
    {"mg", "mergeable advise flag", H::MadviseAfterFill, &Vma::madv_mergeable, &Vma::set_madv_mergeable, MADV_MERGEABLE},
    {"bt", "arm64 BTI guarded page", H::Refused, nullptr, nullptr, 0, "an arm64 BTI-guarded mapping (VmFlags bt)"},
    {"mt", "arm64 MTE allocation tags are enabled", H::Refused, nullptr, nullptr, 0, "an arm64 MTE-tagged mapping (VmFlags mt)"},
    {"um", "userfaultfd missing tracking", H::Refused, nullptr, nullptr, 0,
     "registered with userfaultfd for missing pages (VmFlags um)"},
    {"uw", "userfaultfd wr-protect tracking", H::Refused, nullptr, nullptr, 0,
     "registered with userfaultfd for write protection (VmFlags uw)"},
    {"ui", "userfaultfd minor fault", H::Refused, nullptr, nullptr, 0, "registered with userfaultfd for minor faults (VmFlags ui)"},
    {"ss", "shadow stack page", H::Refused, nullptr, nullptr, 0, "a shadow stack (VmFlags ss)"},
    {"sl", "sealed", H::Seal, &Vma::sealed, &Vma::set_sealed},
    {"lf", "lock on fault pages", H::Lock, &Vma::lock_onfault, &Vma::set_lock_onfault},
    {"dp", "always lazily freeable mapping", H::MapFlag, &Vma::droppable, &Vma::set_droppable, MAP_DROPPABLE},
    {"gu", "maybe contains guard regions", H::GuardHistory, &Vma::maybe_guard, &Vma::set_maybe_guard},
};

}  // namespace

std::span<const VmFlagRule> vm_flag_rules() { return kRules; }

const VmFlagRule* vm_flag_rule(std::string_view mnemonic) {
  for (const auto& rule : kRules)
    if (rule.mnemonic == mnemonic) return &rule;
  return nullptr;
}

}  // namespace cryo::image
