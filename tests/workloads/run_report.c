// For `cryo run` tests: reports what the workload sees inside its namespaces as key=value lines
// (its PIDs, /proc/uptime, CLOCK_BOOTTIME and CLOCK_MONOTONIC, hostname, processes visible in /proc),
// then ends as asked: `run_report` exits 0, `run_report exit N` exits N, `run_report segv` crashes.
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_processes(void) {
  DIR* proc = opendir("/proc");
  if (!proc) return -1;
  int count = 0;
  struct dirent* entry;
  while ((entry = readdir(proc)) != NULL)
    if (isdigit((unsigned char)entry->d_name[0])) ++count;
  closedir(proc);
  return count;
}

int main(int argc, char** argv) {
  char uptime[64] = "";
  FILE* f = fopen("/proc/uptime", "r");
  if (f) {
    if (fscanf(f, "%63s", uptime) != 1) uptime[0] = '\0';
    fclose(f);
  }
  char hostname[256] = "";
  gethostname(hostname, sizeof hostname - 1);
  printf("pid=%d\nppid=%d\nuptime=%s\nboottime=%.3f\nmonotonic=%.3f\nhostname=%s\nprocesses=%d\n", getpid(), getppid(),
         uptime, clock_seconds(CLOCK_BOOTTIME), clock_seconds(CLOCK_MONOTONIC), hostname, count_processes());
  fflush(stdout);
  if (argc >= 3 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "segv") == 0) {
    // A PID-namespace init ignores signals sent to it from inside, but a fault's SIGSEGV is forced.
    *(volatile int*)0 = 1;
  }
  return 0;
}
