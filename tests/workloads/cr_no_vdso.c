// Checkpoint/restore workload: processes that unmapped their vdso mappings.
//
// Valgrind's tools unmap [vdso], and so may a sandbox or a runtime that wants every clock read to
// be a real system call. Such a process has nowhere cryo usually runs its injected syscalls, and a
// restore must not give it this kernel's vdso back. The init unmaps [vdso], [vvar] and
// [vvar_vclock], forks a child (which inherits the same holes), fills a page with a pattern and
// reads CLOCK_MONOTONIC through the system call (glibc's clock_gettime would jump into the
// unmapped vdso). On SIGUSR1 both check that no vdso mapping came back, the page and their PIDs,
// and that the clock went on forward.
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr_common.h"

static const char* const vdso_names[] = {"[vdso]", "[vvar]", "[vvar_vclock]"};

// Unmaps (or, with `unmap` 0, counts) the vdso mappings named in /proc/self/maps.
static int vdso_mappings(int unmap) {
  FILE* maps = fopen("/proc/self/maps", "re");
  SETUP_OR_DIE(maps != NULL, "/proc/self/maps: %s\n", strerror(errno));
  uintptr_t starts[8], ends[8];
  int found = 0;
  char line[512];
  while (fgets(line, sizeof line, maps) && found < 8) {
    line[strcspn(line, "\n")] = 0;
    for (size_t i = 0; i < sizeof vdso_names / sizeof vdso_names[0]; ++i) {
      size_t n = strlen(line), m = strlen(vdso_names[i]);
      if (n < m || strcmp(line + n - m, vdso_names[i]) != 0) continue;
      if (sscanf(line, "%lx-%lx", &starts[found], &ends[found]) == 2) ++found;
    }
  }
  fclose(maps);
  // After the read: unmapping while reading maps could skip a line.
  for (int i = 0; unmap && i < found; ++i)
    SETUP_OR_DIE(munmap((void*)starts[i], ends[i] - starts[i]) == 0, "munmap: %s\n", strerror(errno));
  return found;
}

static void check(const char* who, pid_t pid, const unsigned char* page, int64_t clock_before) {
  int left = vdso_mappings(0);
  EXPECT_OR_FAIL(left == 0, "%s: %d vdso mappings are back after the restore\n", who, left);
  EXPECT_OR_FAIL(getpid() == pid, "%s: getpid() is %d, was %d\n", who, (int)getpid(), (int)pid);
  check_bytes(who, "the page", page, 'v', 0, 4096);
  int64_t now = clock_ns_syscall(CLOCK_MONOTONIC);
  EXPECT_OR_FAIL(now >= clock_before, "%s: CLOCK_MONOTONIC went back from %lld to %lld ns\n", who, (long long)clock_before,
                 (long long)now);
}

int main(void) {
  install_check_handler();
  SETUP_OR_DIE(getpid() == 1, "not the init of a PID namespace\n");
  SETUP_OR_DIE(vdso_mappings(1) > 0, "no vdso mapping to unmap\n");
  SETUP_OR_DIE(vdso_mappings(0) == 0, "the vdso mappings are still there\n");
  unsigned char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(page != MAP_FAILED, "mmap: %s\n", strerror(errno));
  for (size_t i = 0; i < 4096; ++i) page[i] = pattern_byte('v', i);
  int64_t clock_before = clock_ns_syscall(CLOCK_MONOTONIC);

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    pid_t me = getpid();
    wait_for_check();
    check("child", me, page, clock_before);
    _exit(problems_found == 0 ? 0 : 1);
  }
  say("READY pid=%d child=%d\n", (int)getpid(), (int)child);
  wait_for_check();
  check("init", 1, page, clock_before);
  EXPECT_OR_FAIL(kill(child, SIGUSR1) == 0, "kill(child): %s\n", strerror(errno));
  int status = 0;
  EXPECT_OR_FAIL(waitpid(child, &status, 0) == child, "waitpid: %s\n", strerror(errno));
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ended with status %#x\n", status);
  finish();
}
