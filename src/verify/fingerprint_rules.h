// The one reviewed list of fingerprint fields whose values legitimately differ between the dump and
// the restored process, each with its reason, and the separate list of differences that are real
// restore gaps other branches are closing (kAwaitingRestoreFix). Everything not listed must match.
#pragma once

#include <span>
#include <string_view>

namespace cryo::verify {

enum class Rule {
  NotRecorded,     // A counter or a reading of the moment: not even written into the image.
  Ignore,          // Recorded (it helps reading a failure's log) but never compared.
  InnermostPid,    // A list of PIDs from the host's view down to the tree's: compare the last one.
  RecreatedInode,  // "dev inode path" or an fd's link: the inode of an object restore recreates
                   // (pipe, socket, memfd, shared anonymous memory, deleted file) is new.
  AccountingFlags, // stat flags: compared without PF_FORKNOEXEC and PF_SUPERPRIV.
  IdlePriority,    // stat priority: ignored for a SCHED_IDLE thread only.
  TemporaryMask,   // A blocked mask: may differ while the dumped thread sat in sigsuspend & co.
  MaskInodes,      // Inode numbers inside the value ("ino:1a2b", "[1234]") are of recreated objects.
  LockHolder,      // fdinfo lock: compared without its holder's host PID and the file's device:inode.
  TimerSignals,    // A pending set: may hold more, but only signals that the process's timers send.
  TimerTicks,      // A timerfd's expirations: may grow, but only while the timer was armed at the dump.
  Unordered,       // A list of words whose order is the kernel's bookkeeping: compared as a set.
  AdjacentMerged,  // Documents the merging of neighbouring mappings (fingerprint_compare.cc).
  AwaitingFix,     // A real difference, tolerated (with a warning) until the named restore lands.
};

struct Normalisation {
  std::string_view file;    // Where the kernel shows it: "status", "stat", "smaps", "fdinfo" ...
  std::string_view name;    // The field; "*" for every field of that file.
  Rule rule;
  std::string_view reason;
};

// Legitimate differences.
std::span<const Normalisation> normalised_fields();
// Real differences whose restore is being built elsewhere; delete an entry when its fix merges.
std::span<const Normalisation> awaiting_restore_fix();

// The rule for a field, or nullptr when it must match exactly. Looks at the awaiting list too.
const Normalisation* rule_for(std::string_view file, std::string_view name);
bool is_recorded(std::string_view file, std::string_view name);

}  // namespace cryo::verify
