#include "verify/fingerprint_rules.h"

#include <vector>

namespace cryo::verify {
namespace {

constexpr std::string_view kTemporaryMaskReason =
    "rt_sigsuspend, ppoll, pselect6, epoll_pwait(2), rt_sigtimedwait and io_pgetevents replace the blocked mask for "
    "their duration: a thread dumped inside one shows the temporary mask, while restore sets its real mask and lets "
    "the call run again, which installs the temporary one again (only for a thread dumped in one of these calls)";

// REVIEWED: every entry says why the value may differ in a correct restore. A field not listed
// here must read the same after the restore as at the dump. PIDs that name other processes (a
// parent, a session, a timer's target, children) are recorded as the tree sees them, so they are
// compared, not normalised.
constexpr Normalisation kNormalised[] = {
    // /proc/PID/task/TID/status
    {"status", "Tgid", Rule::Ignore, "host PID: the tree's own is NStgid"},
    {"status", "Pid", Rule::Ignore, "host PID: the tree's own is NSpid"},
    {"status", "TracerPid", Rule::Ignore, "the tracer is the cryo that dumps, then the cryo that restores"},
    {"status", "NStgid", Rule::InnermostPid, "the host's view of the PID is new; the tree's (last) must match"},
    {"status", "NSpid", Rule::InnermostPid, "the host's view of the PID is new; the tree's (last) must match"},
    {"status", "NSpgid", Rule::InnermostPid, "the host's view of the PID is new; the tree's (last) must match"},
    {"status", "NSsid", Rule::InnermostPid, "the host's view of the PID is new; the tree's (last) must match"},
    {"status", "FDSize", Rule::Ignore,
     "the fd table's capacity only grows; the placeholder, a fork of cryo, had cryo's fds open before it closed them"},
    {"status", "VmPeak", Rule::Ignore, "the placeholder's own mappings and the trampoline counted while restoring"},
    {"status", "VmHWM", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"status", "VmRSS", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"status", "RssAnon", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"status", "RssFile", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"status", "RssShmem", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"status", "VmPTE", Rule::NotRecorded, "page tables follow the resident pages"},
    {"status", "VmSwap", Rule::NotRecorded, "swap use is the host's choice"},
    {"status", "SigQ", Rule::Ignore, "queued signals of the whole user on the host / RLIMIT_SIGPENDING (the limit is in limits)"},
    {"status", "voluntary_ctxt_switches", Rule::NotRecorded, "a counter of events since the process started"},
    {"status", "nonvoluntary_ctxt_switches", Rule::NotRecorded, "a counter of events since the process started"},
    {"status", "SigBlk", Rule::TemporaryMask, kTemporaryMaskReason},
    {"status", "ShdPnd", Rule::TimerSignals,
     "restore arms the process's POSIX timers and itimers before the release, and time runs on: one that expires "
     "meanwhile queues its signal, as it would have in the original (every signal pending at the dump must still be, "
     "but the stale one of a one-shot POSIX timer armed again since, which the kernel drops at delivery)"},
    {"status", "SigPnd", Rule::TimerSignals,
     "a POSIX timer with SIGEV_THREAD_ID queues its signal to its thread the same way (every signal pending at the "
     "dump must still be)"},
    {"syscall", "nr", Rule::Ignore,
     "the restored thread is stopped before it enters its syscall again, the dumped one was stopped inside it"},
    // /proc/PID/task/TID/stat
    {"stat", "flags", Rule::AccountingFlags,
     "PF_FORKNOEXEC (forked, never exec'd) and PF_SUPERPRIV (used a capability) are process accounting's record of the "
     "process's history; a restored process is a fork of cryo that cannot exec, and used capabilities to be rebuilt"},
    {"stat", "blocked", Rule::TemporaryMask, kTemporaryMaskReason},
    {"stat", "priority", Rule::IdlePriority,
     "for a SCHED_IDLE thread it is the nice given to its last sched_setattr, which nothing reads back and which has no "
     "effect (idle threads have one fixed weight); its real nice is compared (stat nice, sched_getattr)"},
    {"stat", "minflt", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "cminflt", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "majflt", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "cmajflt", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "utime", Rule::NotRecorded, "CPU time is a counter the kernel keeps; it starts again at 0"},
    {"stat", "stime", Rule::NotRecorded, "CPU time is a counter the kernel keeps; it starts again at 0"},
    {"stat", "cutime", Rule::NotRecorded, "CPU time is a counter the kernel keeps; it starts again at 0"},
    {"stat", "cstime", Rule::NotRecorded, "CPU time is a counter the kernel keeps; it starts again at 0"},
    {"stat", "starttime", Rule::NotRecorded, "the process is new: its start time is the restore's"},
    {"stat", "rss", Rule::NotRecorded, "resident memory: pages fault in again after the restore"},
    {"stat", "processor", Rule::NotRecorded, "the CPU it last ran on"},
    {"stat", "delayacct_blkio_ticks", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "guest_time", Rule::NotRecorded, "a counter of events since the process started"},
    {"stat", "cguest_time", Rule::NotRecorded, "a counter of events since the process started"},
    // /proc/PID/smaps: per-mapping counters of resident pages.
    {"maps", "vdso redirect", Rule::Ignore,
     "on a kernel whose vdso differs from the dumping kernel's, its [vvar], [vvar_vclock] and [vdso] are placed at a free "
     "address and the old [vdso] range holds a proxy with jumps to it (restore/vdso_proxy.h): neither side's vdso mappings "
     "nor the proxy are compared, and the proxy's size is taken off the restored VmSize, VmLib and vsize (past_vdso_redirect); everything else of the address space is"},
    {"smaps", "Rss", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Pss", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Pss_Dirty", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Pss_Anon", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Pss_File", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Pss_Shmem", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Shared_Clean", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Shared_Dirty", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Private_Clean", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Private_Dirty", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Referenced", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "Anonymous", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "KSM", Rule::NotRecorded, "merging is the host's choice"},
    {"smaps", "LazyFree", Rule::NotRecorded, "resident pages fault in again after the restore"},
    {"smaps", "AnonHugePages", Rule::NotRecorded, "huge pages are the host's choice (the madvise flag is in VmFlags)"},
    {"smaps", "ShmemPmdMapped", Rule::NotRecorded, "huge pages are the host's choice"},
    {"smaps", "FilePmdMapped", Rule::NotRecorded, "huge pages are the host's choice"},
    {"smaps", "Shared_Hugetlb", Rule::NotRecorded, "resident pages"},
    {"smaps", "Private_Hugetlb", Rule::NotRecorded, "resident pages"},
    {"smaps", "Swap", Rule::NotRecorded, "swap use is the host's choice"},
    {"smaps", "SwapPss", Rule::NotRecorded, "swap use is the host's choice"},
    {"smaps", "Locked", Rule::NotRecorded, "resident locked pages; mlock itself shows as VmFlags 'lo'"},
    {"maps", "range", Rule::AdjacentMerged,
     "adjacent mappings with the same attributes are one to the process; the kernel keeps them apart by their history "
     "(anonymous memory faulted before and after a fork has different anon_vmas) and merges them when restore maps "
     "them again: both sides are compared with such neighbours merged. Neighbours of one file merge where their offsets "
     "continue (a child forked from a parent that mlocked part of its text keeps that part apart). VmFlags gu is sticky (Linux 6.18): neighbours "
     "that differ only in it merge into one that has it, so it does not keep them apart"},
    {"maps", "file", Rule::RecreatedInode,
     "memfds, shared anonymous memory and deleted files are recreated, with new inodes; a named file is the one at its "
     "path, whose identity (device and inode on this boot, else its content) restore's host check verified before "
     "anything was created, so on another host its device and inode differ (the path must match)"},
    // /proc/PID/fd and fdinfo
    {"fd", "link", Rule::RecreatedInode,
     "pipes, sockets and memfds are recreated, with new inodes, and a namespace file is opened on the restored tree's "
     "namespace of its type, new or the host's (their kind must match)"},
    {"fdinfo", "ino", Rule::RecreatedInode,
     "pipes, sockets, memfds and deleted files are recreated, with new inodes; a file opened by path is the one the host "
     "check verified, whose inode differs on another host (the fd's link, its path, must match)"},
    {"fdinfo", "lock", Rule::LockHolder,
     "a lock names its holder by host PID, new for a restored process, and its file by device:inode, which differ on "
     "another host (kind, type and range must match; that the process holds it shows in which fd lists it)"},
    {"fdinfo", "mnt_id", Rule::Ignore, "restore's mount namespace is new, and its mounts have new IDs"},
    {"fdinfo", "eventfd-id", Rule::Ignore, "the kernel numbers each eventfd when it is created"},
    {"fdinfo", "it_value", Rule::Ignore, "a timerfd's time left counts down while the restore runs"},
    {"fdinfo", "ticks", Rule::TimerTicks,
     "a timerfd armed at the dump goes on counting down once restored, and may expire before the restored process is "
     "compared (erlang's short timers do): its expirations may grow then, never shrink"},
    {"fdinfo", "tfd", Rule::MaskInodes, "an epoll watch names its target by inode, new for recreated objects"},
    {"fdinfo", "Pid", Rule::Ignore, "a pidfd names its process by host PID, new for a restored one: NSpid's last is the tree's"},
    {"fdinfo", "NSpid", Rule::InnermostPid, "a pidfd's process: the host's view of the PID is new; the tree's (last) must match"},
    {"children", "children", Rule::Unordered,
     "the order of /proc children is the order the kernel linked them in: restore forks some through helpers (sessions "
     "whose leader exited) in another order; which children there are must match"},
    {"oom_score", "oom_score", Rule::NotRecorded, "computed from resident memory (oom_score_adj is compared)"},
};

// Real differences that cryo does not restore yet and that another branch is fixing. Each entry
// names what is not restored; DELETE it when that fix merges, so verification enforces it again.
const std::vector<Normalisation> kAwaitingRestoreFix = {
};

bool matches(const Normalisation& n, std::string_view file, std::string_view name) {
  if (n.file != file) return false;
  if (n.name == "*" || n.name == name) return true;
  // "tfd" covers "tfd 5": one entry for every watch of an epoll set.
  return name.size() > n.name.size() && name.starts_with(n.name) && name[n.name.size()] == ' ';
}

}  // namespace

std::span<const Normalisation> normalised_fields() { return kNormalised; }
std::span<const Normalisation> awaiting_restore_fix() { return kAwaitingRestoreFix; }

const Normalisation* rule_for(std::string_view file, std::string_view name) {
  for (const auto& n : kNormalised)
    if (matches(n, file, name)) return &n;
  for (const auto& n : kAwaitingRestoreFix)
    if (matches(n, file, name)) return &n;
  return nullptr;
}

bool is_recorded(std::string_view file, std::string_view name) {
  const Normalisation* n = rule_for(file, name);
  return n == nullptr || n->rule != Rule::NotRecorded;
}

}  // namespace cryo::verify
