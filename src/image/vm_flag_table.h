// The one home of every VmFlags mnemonic of /proc/PID/smaps: which image field holds it, how
// restore brings it back, or why a dump refuses it. Dump, validation and restore all read this
// table, so a flag is either restored exactly or refused, never dropped in silence.
#pragma once

#include <span>
#include <string_view>

#include "mm.pb.h"

namespace cryo::image {

enum class VmFlagHandling {
  // Follows from the mapping itself (protection, sharing, the file's open mode and mount, the
  // kernel's accounting): the mmap and mprotect restore does anyway give it back.
  Derived,
  MapFlag,            // An mmap flag of the mapping (MAP_GROWSDOWN, MAP_NORESERVE, MAP_DROPPABLE).
  MadviseBeforeFill,  // madvise(advice) right after mmap, before the pages arrive.
  MadviseAfterFill,   // madvise(advice) once the pages are in place.
  Lock,               // mlock, or mlock2(MLOCK_ONFAULT) with lf, after the pages are in place.
  GuardHistory,       // gu: a guard installed and removed before the pages arrive, then the image's guards.
  Seal,               // mseal after the final mprotect: nothing may change the mapping after it.
  KernelOnly,         // Set by the kernel on its own special mappings ([vdso], [vvar]), which restore moves.
  Refused,            // The dump refuses the mapping, naming this reason.
};

struct VmFlagRule {
  std::string_view mnemonic;
  std::string_view meaning;
  VmFlagHandling handling;
  // The Vma field that holds it (nullptr where the flag lives elsewhere: Derived, MapFlag's
  // flags bits, KernelOnly, Refused).
  bool (Vma::*get)() const = nullptr;
  void (Vma::*set)(bool) = nullptr;
  int advice = 0;  // madvise advice, or the MAP_* flag for MapFlag
  std::string_view refusal = "";  // For Refused: what the mapping is, in a sentence's middle.
};

// Every mnemonic this kernel generation may print (Documentation/filesystems/proc.rst).
std::span<const VmFlagRule> vm_flag_rules();

// The rule for a mnemonic, or nullptr for one the table does not know (a dump refuses those: a
// newer kernel's flag that nobody has checked).
const VmFlagRule* vm_flag_rule(std::string_view mnemonic);

}  // namespace cryo::image
