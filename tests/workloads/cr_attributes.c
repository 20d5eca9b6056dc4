// Checkpoint/restore workload: process attributes that nothing else in the suite sets away from
// what it inherits, so that a restore which forgot them would show: umask 0027, RLIMIT_NOFILE
// 200/hard, RLIMIT_STACK 4 MiB, RLIMIT_CORE 0, a cwd of its own (--dir) and a supplementary
// group 4321. (Not a saved uid or gid of its own: dump reads rlimits with prlimit, which needs
// CAP_SYS_RESOURCE for a process whose ids differ from cryo's.) On SIGUSR1 it checks
// umask, RLIMIT_NOFILE and its cwd itself. It deliberately does not check RLIMIT_STACK, RLIMIT_CORE,
// its groups or the read-only RELRO of its libraries: those only restore's verification (the fingerprint
// comparison before the release) sees, which is what tests/mutants/ shows.
#define _GNU_SOURCE  // setgroups
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cr_common.h"

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "--dir", "/tmp");
  SETUP_OR_DIE(chdir(dir) == 0, "chdir(%s): %s\n", dir, strerror(errno));
  umask(0027);
  struct rlimit nofile;
  SETUP_OR_DIE(getrlimit(RLIMIT_NOFILE, &nofile) == 0, "getrlimit: %s\n", strerror(errno));
  nofile.rlim_cur = 200;
  SETUP_OR_DIE(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "setrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
  struct rlimit stack = {4 << 20, RLIM_INFINITY};
  SETUP_OR_DIE(getrlimit(RLIMIT_STACK, &stack) == 0, "getrlimit: %s\n", strerror(errno));
  stack.rlim_cur = 4 << 20;
  SETUP_OR_DIE(setrlimit(RLIMIT_STACK, &stack) == 0, "setrlimit(RLIMIT_STACK): %s\n", strerror(errno));
  struct rlimit core = {0, 0};
  SETUP_OR_DIE(setrlimit(RLIMIT_CORE, &core) == 0, "setrlimit(RLIMIT_CORE): %s\n", strerror(errno));

  gid_t groups[] = {0, 4321};
  SETUP_OR_DIE(setgroups(2, groups) == 0, "setgroups: %s\n", strerror(errno));

  say("READY umask=0027 nofile=200 cwd=%s\n", dir);
  wait_for_check();

  mode_t mask = umask(0);
  EXPECT_OR_FAIL(mask == 0027, "umask is %04o, was 0027\n", (unsigned)mask);
  struct rlimit now;
  EXPECT_OR_FAIL(getrlimit(RLIMIT_NOFILE, &now) == 0 && now.rlim_cur == 200, "RLIMIT_NOFILE is %llu, was 200\n",
                 (unsigned long long)now.rlim_cur);
  char cwd[4096];
  EXPECT_OR_FAIL(getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0, "cwd is %s, was %s\n", cwd, dir);
  finish();
}
