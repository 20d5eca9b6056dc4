// Checkpoint/restore workload: clocks and /proc/uptime of a time namespace continue across a restore.
//
//   cr_clocks [--min-uptime-s=0] [--max-jump-ms=2000] [--min-jump-ms=0]
//
// Started with e.g. `cryo run --boottime 49d`, it checks at setup that /proc/uptime and
// CLOCK_BOOTTIME already read at least --min-uptime-s, then samples CLOCK_MONOTONIC and
// CLOCK_BOOTTIME every 2 ms. On SIGUSR1 it checks: no clock went backwards and the largest gap
// between two samples (the jump across the checkpoint) lies within [--min-jump-ms, --max-jump-ms];
// /proc/uptime still reads at least --min-uptime-s and advanced as much as CLOCK_BOOTTIME did;
// CLOCK_BOOTTIME - CLOCK_MONOTONIC is unchanged (a restore applies the same policy to both); the
// vdso and the system call agree on both clocks (a misplaced [vvar] gives host time silently).
#include <fcntl.h>

#include "cr_common.h"

// /proc/uptime's first field in nanoseconds (it has centisecond resolution), or -1.
static int64_t uptime_ns(void) {
  int fd = open("/proc/uptime", O_RDONLY);
  if (fd < 0) return -1;
  char text[128] = {0};
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0) return -1;
  long long seconds = 0, hundredths = 0;
  if (sscanf(text, "%lld.%lld", &seconds, &hundredths) != 2) return -1;
  return seconds * 1000000000LL + hundredths * 10000000LL;
}

int main(int argc, char** argv) {
  install_check_handler();
  long long min_uptime_s = arg_number(argc, argv, "min-uptime-s", 0);
  long long max_jump_ms = arg_number(argc, argv, "max-jump-ms", 2000);
  long long min_jump_ms = arg_number(argc, argv, "min-jump-ms", 0);
  const int64_t min_uptime = min_uptime_s * 1000000000LL;

  int64_t uptime_before = uptime_ns();
  int64_t boottime_before = clock_ns(CLOCK_BOOTTIME);
  int64_t monotonic_before = clock_ns(CLOCK_MONOTONIC);
  SETUP_OR_DIE(uptime_before >= min_uptime, "/proc/uptime reads %lld s, expected at least %lld s\n",
               (long long)(uptime_before / 1000000000LL), min_uptime_s);
  SETUP_OR_DIE(boottime_before >= min_uptime, "CLOCK_BOOTTIME reads %lld s, expected at least %lld s\n",
               (long long)(boottime_before / 1000000000LL), min_uptime_s);
  struct clock_watch watch;
  clock_watch_start(&watch);
  say("READY pid=%d uptime=%.2f boottime=%.3f monotonic=%.3f\n", (int)getpid(), uptime_before / 1e9,
      boottime_before / 1e9, monotonic_before / 1e9);

  while (!check_requested) {
    clock_watch_sample(&watch);
    sleep_ms(2);
  }
  clock_watch_sample(&watch);
  int64_t uptime_after = uptime_ns();
  int64_t boottime_after = clock_ns(CLOCK_BOOTTIME);
  int64_t monotonic_after = clock_ns(CLOCK_MONOTONIC);
  say("after: uptime=%.2f boottime=%.3f monotonic=%.3f\n", uptime_after / 1e9, boottime_after / 1e9,
      monotonic_after / 1e9);

  clock_watch_check(&watch, "clocks", min_jump_ms, max_jump_ms);
  EXPECT_OR_FAIL(uptime_after >= uptime_before, "/proc/uptime went backwards: %.2f s, was %.2f s\n",
                 uptime_after / 1e9, uptime_before / 1e9);
  EXPECT_OR_FAIL(uptime_after >= min_uptime, "/proc/uptime reads %.2f s, expected at least %lld s\n",
                 uptime_after / 1e9, min_uptime_s);
  int64_t uptime_advance = uptime_after - uptime_before;
  int64_t boottime_advance = boottime_after - boottime_before;
  EXPECT_OR_FAIL(llabs(uptime_advance - boottime_advance) < 100000000LL,
                 "/proc/uptime advanced %.3f s but CLOCK_BOOTTIME %.3f s\n", uptime_advance / 1e9,
                 boottime_advance / 1e9);
  int64_t difference_before = boottime_before - monotonic_before;
  int64_t difference_after = boottime_after - monotonic_after;
  EXPECT_OR_FAIL(llabs(difference_after - difference_before) < 100000000LL,
                 "CLOCK_BOOTTIME - CLOCK_MONOTONIC is %.3f s, was %.3f s\n", difference_after / 1e9,
                 difference_before / 1e9);
  check_vdso_agrees_with_syscall("clocks");
  finish();
}
