// The flags and tunables of a process and of each of its threads that prctl and /proc/PID set:
// parent-death signal, timer slack, TSC mode, machine-check kill policy (per thread); dumpable,
// child subreaper, THP disable, no_new_privs, coredump_filter, oom_score_adj (per process); and its
// umask (set by the placeholder before the restore, restore/placeholder.cc). Dump asks the threads
// themselves (injected prctl calls, remote_state.h) and reads /proc; restore sets them after the
// credentials, whose change resets some of them.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"

namespace cryo {

// Dump. coredump_filter (hex), oom_score_adj, timerslack_ns and the autogroup's nice, as /proc/PID
// shows them.
Result<> collect_process_tunables(pid_t pid, image::ProcessCore& core);
// The nice of a /proc/PID/autogroup text, "/autogroup-42 nice 7". An empty text is the root
// autogroup, which processes descending from PID 1 without a setsid share and which has no nice
// of its own (writing one fails): nullopt.
Result<std::optional<int32_t>> parse_autogroup_nice(std::string_view text);
// The flags of the thread `remote` runs in: parent-death signal and TSC mode are written to
// kThreadFlagsAnswerSize bytes of scratch memory at `at` (read_thread_flags), timer slack,
// machine-check policy and CPUID faulting come back as results.
constexpr size_t kThreadFlagsAnswerSize = 16;
Result<> ask_thread_flags(RemoteSyscalls& remote, uint64_t at, image::ThreadCore& thread);
void read_thread_flags(const char* answer, image::ThreadCore& thread);
// The process's own flags, asked in its leader: child subreaper (kProcessFlagsAnswerSize bytes at
// `at`), dumpable, THP disable, memory-deny-write-execute, membarrier registrations. A speculation
// mitigation the process chose (PR_SET_SPECULATION_CTRL) is refused: it can only be chosen again
// from inside, and cryo does not restore it yet. So is a local descriptor table (modify_ldt: Wine,
// DOS emulators), whose first entry is read into the second 8 bytes at `at`: a new mm has none.
constexpr size_t kProcessFlagsAnswerSize = 16;
// Debian 12's headers predate memory-deny-write-execute (Linux 6.3).
constexpr uint64_t kPrSetMdwe = 65, kPrGetMdwe = 66;
constexpr uint32_t kKnownMdweFlags = 1 /* PR_MDWE_REFUSE_EXEC_GAIN */ | 2 /* PR_MDWE_NO_INHERIT */;
// membarrier(2) commands: Debian 12's headers predate MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3).
constexpr uint64_t kMembarrierGetRegistrations = 1 << 9;
constexpr uint32_t kMembarrierRegistrations = 1 << 2 /* REGISTER_GLOBAL_EXPEDITED */ | 1 << 4 /* REGISTER_PRIVATE_EXPEDITED */ |
                                              1 << 6 /* REGISTER_PRIVATE_EXPEDITED_SYNC_CORE */ |
                                              1 << 8 /* REGISTER_PRIVATE_EXPEDITED_RSEQ */;
Result<> ask_process_flags(RemoteSyscalls& remote, uint64_t at, image::ProcessCore& core);
// Also the process's parent-death signal, its leader's (read_thread_flags of thread 0 first).
void read_process_flags(const char* answer, image::ProcessCore& core);

// Signals that are signals, prctl modes prctl knows, the kernel's ranges of the tunables, a umask
// that is a permission mask (task_flags_validation.cc).
void validate_task_flags(const image::ProcessCore& core, const image::ProblemSink& problem);

// Restore. coredump_filter, oom_score_adj, timerslack_ns and the autogroup's nice, written to
// /proc/PID by cryo. An oom_score_adj below cryo's own needs CAP_SYS_RESOURCE: an error naming it,
// never a different value.
Result<> restore_process_tunables(pid_t host_pid, uint32_t pid, const image::ProcessCore& core);
// One thread's own prctl state: parent-death signal and timer slack (not the leader's: those come
// from the process's fields), TSC mode, machine-check kill policy, CPUID faulting. After the credentials, whose
// change resets the parent-death signal.
Result<> restore_thread_prctl_state(RemoteTask& task, const image::ThreadCore& thread, bool leader);
// Flags that credential changes reset, so they come after: dumpable, parent-death signal, the
// leader's own prctl state, THP disable, membarrier registrations; then the child-subreaper flag,
// no_new_privs and memory-deny-write-execute (irreversible, last).
Result<> restore_process_flags(RemoteTask& task, const image::ProcessCore& core);
// The personality (personality(2)), set in the leader once its memory is in place, before its
// threads are made (they inherit it): with READ_IMPLIES_EXEC, every mapping made after it would
// gain PROT_EXEC.
Result<> restore_personality(RemoteTask& task, const image::ProcessCore& core);
// The bits personality(2) knows: the persona in the low byte and the flags of <sys/personality.h>.
constexpr uint32_t kKnownPersonalityBits = 0xff | 0x0020000 /* UNAME26 */ | 0x0040000 /* ADDR_NO_RANDOMIZE */ |
                                           0x0080000 /* FDPIC_FUNCPTRS */ | 0x0100000 /* MMAP_PAGE_ZERO */ |
                                           0x0200000 /* ADDR_COMPAT_LAYOUT */ | 0x0400000 /* READ_IMPLIES_EXEC */ |
                                           0x0800000 /* ADDR_LIMIT_32BIT */ | 0x1000000 /* SHORT_INODE */ |
                                           0x2000000 /* WHOLE_SECONDS */ | 0x4000000 /* STICKY_TIMEOUTS */ |
                                           0x8000000 /* ADDR_LIMIT_3GB */;

}  // namespace cryo
