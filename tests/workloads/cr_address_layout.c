// Checkpoint/restore workload: a tree exec'd without address-space randomisation (as under
// setarch -R or a debugger) keeps it, and its next mapping lands where it would have.
//
//   cr_address_layout [--unrandomized]
//
// With --unrandomized the init execs itself again with the ADDR_NO_RANDOMIZE personality first, so
// PF_RANDOMIZE is clear in its stat flags. The init forks a child (inheriting the flag). Each maps
// 1 MiB of anonymous memory, notes its address and unmaps it: without randomisation the kernel puts
// the next such mapping in the same hole, below the mm's mmap_base, which only exec sets. On
// SIGUSR1 each checks that its PF_RANDOMIZE flag is as it was and, without randomisation, that a
// new 1 MiB mapping lands at the noted address; the child reports to the init over a pipe.
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/wait.h>

#include "cr_common.h"

static const unsigned long kPfRandomize = 0x00400000;
static const size_t kProbeSize = 1 << 20;

static unsigned long own_stat_flags(void) {
  FILE* stat = fopen("/proc/self/stat", "r");
  char line[1024] = {0};
  if (stat) {
    if (!fgets(line, sizeof line, stat)) line[0] = 0;
    fclose(stat);
  }
  char* after_comm = strrchr(line, ')');
  unsigned long flags = 0;
  // Fields after the comm: state, ppid, pgrp, session, tty_nr, tpgid, flags.
  if (!after_comm || sscanf(after_comm + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1) say("FAIL: cannot read /proc/self/stat\n");
  return flags;
}

static void* probe_mapping(void) {
  void* at = mmap(NULL, kProbeSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(at != MAP_FAILED, "mmap: %s\n", strerror(errno));
  munmap(at, kProbeSize);
  return at;
}

struct layout {
  unsigned long randomize;
  void* next_mapping;
};

static struct layout note_layout(void) {
  struct layout noted = {own_stat_flags() & kPfRandomize, probe_mapping()};
  return noted;
}

static void check_layout(const char* who, const struct layout* noted) {
  unsigned long randomize = own_stat_flags() & kPfRandomize;
  EXPECT_OR_FAIL(randomize == noted->randomize, "%s: PF_RANDOMIZE is %s, was %s\n", who, randomize ? "set" : "clear",
                 noted->randomize ? "set" : "clear");
  void* next = probe_mapping();
  if (!noted->randomize)
    EXPECT_OR_FAIL(next == noted->next_mapping, "%s: a new 1 MiB mapping lands at %p, was %p (mmap_base moved)\n", who, next,
                   noted->next_mapping);
}

int main(int argc, char** argv) {
  int unrandomized = 0;
  for (int i = 1; i < argc; ++i) unrandomized |= strcmp(argv[i], "--unrandomized") == 0;
  if (unrandomized && (own_stat_flags() & kPfRandomize)) {
    SETUP_OR_DIE(personality(PER_LINUX | ADDR_NO_RANDOMIZE) != -1, "personality: %s\n", strerror(errno));
    execv("/proc/self/exe", argv);
    SETUP_OR_DIE(0, "exec: %s\n", strerror(errno));
  }
  install_check_handler();
  int report[2];
  SETUP_OR_DIE(pipe(report) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    struct layout noted = note_layout();
    (void)!write(report[1], "r", 1);
    wait_for_check();
    check_layout("child", &noted);
    (void)!write(report[1], problems_found == 0 ? "P" : "F", 1);
    _exit(0);
  }
  struct layout noted = note_layout();
  char byte = 0;
  SETUP_OR_DIE(read(report[0], &byte, 1) == 1 && byte == 'r', "the child did not start\n");
  if (unrandomized) SETUP_OR_DIE(!noted.randomize, "PF_RANDOMIZE is still set after the exec\n");
  say("READY pid=%d randomized=%d\n", (int)getpid(), noted.randomize != 0);
  wait_for_check();
  check_layout("init", &noted);
  kill(child, SIGUSR1);
  EXPECT_OR_FAIL(read(report[0], &byte, 1) == 1 && byte == 'P', "the child failed its checks\n");
  waitpid(child, NULL, 0);
  finish();
}
