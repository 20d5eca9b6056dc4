// The README demo's workload: counts, keeping its counter only in memory, and prints one line a
// second with its PID, the counter and its clocks, so a checkpoint/restore shows that it carries on:
//   tick 7 pid=1 uptime=4233600.93s monotonic=4233600.93s boottime=4233600.93s
// Runs until killed.
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double seconds_of(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double uptime(void) {
  double value = -1;
  FILE* file = fopen("/proc/uptime", "r");
  if (!file) return value;
  if (fscanf(file, "%lf", &value) != 1) value = -1;
  fclose(file);
  return value;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (unsigned long tick = 1;; ++tick) {
    printf("tick %lu pid=%d uptime=%.2fs monotonic=%.2fs boottime=%.2fs\n", tick, getpid(), uptime(),
           seconds_of(CLOCK_MONOTONIC), seconds_of(CLOCK_BOOTTIME));
    struct timespec second = {1, 0};
    while (nanosleep(&second, &second) != 0) {
    }
  }
}
