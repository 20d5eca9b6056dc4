// The x86_64 kernel structures and constants that cryo passes to system calls itself, where glibc's
// types differ from the kernel's (sigaction, stack_t, sigevent) or Debian 12's headers predate them.
// Dump reads them out of a tracee's memory and restore writes them in, so both use these.
#pragma once

#include <cstdint>

namespace cryo::kernel_abi {

// struct sigaction of rt_sigaction(2): not glibc's, which orders the fields differently and has a
// 128-byte mask.
struct Sigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
static_assert(sizeof(Sigaction) == 32);

// stack_t of sigaltstack(2).
struct Stack {
  uint64_t sp;
  int32_t flags;
  int32_t pad;
  uint64_t size;
};
static_assert(sizeof(Stack) == 24);

// struct itimerval of getitimer(2)/setitimer(2).
struct Itimerval {
  int64_t interval_sec, interval_usec, value_sec, value_usec;
};
static_assert(sizeof(Itimerval) == 32);

// struct itimerspec of timer_gettime(2)/timer_settime(2).
struct Itimerspec {
  int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};
static_assert(sizeof(Itimerspec) == 32);

// struct sigevent of timer_create(2): value, signo, notify, then a 48-byte union whose first int is
// the thread ID of SIGEV_THREAD_ID.
struct Sigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};
static_assert(sizeof(Sigevent) == 64);

// rseq(2) flag that unregisters the area.
constexpr uint32_t kRseqFlagUnregister = 1;

// prctl(2) option of Linux 6.17: timer_create takes the ID it is given (for checkpoint/restore).
constexpr int kPrTimerCreateRestoreIds = 77;

}  // namespace cryo::kernel_abi
