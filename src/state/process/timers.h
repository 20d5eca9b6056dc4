// The timers of a process: its POSIX timers (timer_create) and its three interval timers
// (setitimer). Dump reads the POSIX timers' clocks and notifications from /proc/PID/timers and asks
// the process for every timer's time left; restore creates the POSIX timers with their IDs early,
// while the process still has cryo's capabilities, and arms all timers last, since they count from then.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "kernel/kernel_abi.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/remote_task.h"

namespace cryo {

// Dump. The POSIX timers as /proc tells them; their times come later, from inside the process.
// `inside_tids` maps the host TIDs of its threads to their TIDs inside the namespace.
Result<> collect_posix_timers(pid_t pid, const std::map<pid_t, uint32_t>& inside_tids, image::ProcessCore& core);
// The time left on each of them (timer_gettime), asked through the scratch area of `task`, a
// scratch area's worth at a time.
Result<> collect_posix_timer_times(RemoteTask& task, image::ProcessCore& core);
// The three interval timers (getitimer) and CLOCK_MONOTONIC right after, kItimersAnswerSize bytes
// of scratch memory at `at`.
constexpr size_t kItimersAnswerSize = 3 * sizeof(kernel_abi::Itimerval) + 2 * sizeof(int64_t);
Result<> ask_itimers(RemoteSyscalls& remote, uint64_t at);
void read_itimers(const char* answer, image::ProcessCore& core);

// Bounded counts, unique IDs, clocks and notifications cryo restores, a thread of the process to
// signal, times a kernel timer holds (timers_validation.cc).
void validate_timers(const image::ProcessCore& core, const image::ProblemSink& problem);

// Restore. POSIX timers with their IDs, clocks and notifications, disarmed; while the process still
// has cryo's capabilities (choosing the IDs may need them).
Result<> create_posix_timers(RemoteTask& task, const image::ProcessCore& core);
// True if `siginfo` (a pending siginfo_t record) was sent by one of the process's POSIX timers.
// Restore does not queue a copy of such a signal: arm_posix_timers has the timer send it again, so
// that the kernel holds it as the timer's own (one pending signal that gathers overruns, where a
// copy would let the timer queue a second).
bool is_own_timer_signal(const image::ProcessCore& core, const std::string& siginfo);
// The time a timer had left at the freeze, from `left_ns` read later, at `read_at_ns` on a clock
// that read `freeze_ns` at the freeze. The tree is frozen during a dump, its timers are not: a timer
// read a second after the freeze had a second more left at the freeze, which is where the restored
// clocks continue from. No correction where either reading is missing (older images) or out of
// order. A periodic timer that expired in between shows its next expiry, which this puts one
// period late; one with its signal pending is armed from its phase instead (arm_posix_timers), so
// this is left to a SIGEV_NONE timer or one whose signal is ignored. Inline: timerfds use it too,
// and the image fuzzer links the fd kinds without the rest of this file.
inline uint64_t time_left_at_freeze(uint64_t left_ns, int64_t read_at_ns, int64_t freeze_ns) {
  if (left_ns == 0 || freeze_ns <= 0 || read_at_ns <= freeze_ns) return left_ns;
  return left_ns + static_cast<uint64_t>(read_at_ns - freeze_ns);
}

// Arms them with the time they had left at the freeze (`freeze`: the tree's clocks then): last,
// since they count from then on. A timer whose own signal was pending is armed to have expired
// already, in its old phase. Timers on CLOCK_REALTIME and CLOCK_TAI, which no time namespace stops,
// keep the time left when read; so do ITIMER_VIRTUAL and ITIMER_PROF, which count CPU time.
Result<> arm_posix_timers(RemoteTask& task, const image::ProcessCore& core, const image::ClockReadings& freeze);
Result<> restore_itimers(RemoteTask& task, const image::ProcessCore& core, const image::ClockReadings& freeze);

}  // namespace cryo
