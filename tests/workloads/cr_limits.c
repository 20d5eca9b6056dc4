// Checkpoint/restore workload: resource limits, umask and credentials of a process that dropped
// privileges survive a restore.
//
//   cr_limits [--uid=N] [--gid=N] [--tight-address-space]
//
// It lowers a set of soft and hard limits to values no default has, sets umask 0027 and, with
// --uid/--gid, becomes that user (real, effective and saved ids, no supplementary groups), as a
// daemon does after start-up. On SIGUSR1 it checks every limit with getrlimit, the umask, and its
// ids. A dump of another user's process cannot use prlimit64 without CAP_SYS_RESOURCE, which this
// machine lacks, so this also proves that the dump reads limits another way. With
// --tight-address-space it last sets RLIMIT_AS to the size it has mapped, leaving no room for one
// more page (as stress-ng's rlimit stressor does).
#define _GNU_SOURCE
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cr_common.h"

struct wanted_limit {
  int resource;
  const char* name;
  rlim_t cur, max;
};

static const struct wanted_limit wanted[] = {
    {RLIMIT_NOFILE, "RLIMIT_NOFILE", 200, 300},
    {RLIMIT_STACK, "RLIMIT_STACK", 4 << 20, 6 << 20},
    {RLIMIT_CORE, "RLIMIT_CORE", 0, 1 << 20},
    {RLIMIT_NPROC, "RLIMIT_NPROC", 4000, 5000},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE", 1LL << 32, 1LL << 33},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 40000, 50000},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", 1000, 2000},
};
enum { kWanted = sizeof wanted / sizeof wanted[0] };

int main(int argc, char** argv) {
  install_check_handler();
  long long uid = arg_number(argc, argv, "uid", -1);
  long long gid = arg_number(argc, argv, "gid", -1);
  for (int i = 0; i < kWanted; ++i) {
    struct rlimit limit = {wanted[i].cur, wanted[i].max};
    SETUP_OR_DIE(setrlimit(wanted[i].resource, &limit) == 0, "setrlimit(%s): %s\n", wanted[i].name, strerror(errno));
  }
  umask(0027);
  if (gid >= 0) {
    SETUP_OR_DIE(setgroups(0, NULL) == 0, "setgroups: %s\n", strerror(errno));
    SETUP_OR_DIE(setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) == 0, "setresgid: %s\n", strerror(errno));
  }
  if (uid >= 0) SETUP_OR_DIE(setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) == 0, "setresuid: %s\n", strerror(errno));
  if (arg_number(argc, argv, "tight-address-space", 0)) {
    FILE* status = fopen("/proc/self/status", "r");
    SETUP_OR_DIE(status != NULL, "/proc/self/status: %s\n", strerror(errno));
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, status))
      if (sscanf(line, "VmSize: %llu kB", &kib) == 1) break;
    fclose(status);
    SETUP_OR_DIE(kib > 0, "no VmSize\n");
    struct rlimit limit = {kib * 1024, RLIM_INFINITY};
    SETUP_OR_DIE(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit(RLIMIT_AS): %s\n", strerror(errno));
  }
  say("READY pid=%d uid=%d gid=%d\n", (int)getpid(), (int)getuid(), (int)getgid());

  wait_for_check();
  for (int i = 0; i < kWanted; ++i) {
    struct rlimit limit;
    EXPECT_OR_FAIL(getrlimit(wanted[i].resource, &limit) == 0, "getrlimit(%s): %s\n", wanted[i].name, strerror(errno));
    EXPECT_OR_FAIL(limit.rlim_cur == wanted[i].cur && limit.rlim_max == wanted[i].max,
                   "%s is %llu/%llu, was %llu/%llu\n", wanted[i].name, (unsigned long long)limit.rlim_cur,
                   (unsigned long long)limit.rlim_max, (unsigned long long)wanted[i].cur, (unsigned long long)wanted[i].max);
  }
  mode_t mask = umask(0);
  EXPECT_OR_FAIL(mask == 0027, "umask is %04o, was 0027\n", (unsigned)mask);
  uid_t r, e, s;
  gid_t rg, eg, sg;
  getresuid(&r, &e, &s);
  getresgid(&rg, &eg, &sg);
  if (uid >= 0) EXPECT_OR_FAIL(r == uid && e == uid && s == uid, "uids are %d/%d/%d, were %lld\n", (int)r, (int)e, (int)s, uid);
  if (gid >= 0) {
    EXPECT_OR_FAIL(rg == gid && eg == gid && sg == gid, "gids are %d/%d/%d, were %lld\n", (int)rg, (int)eg, (int)sg, gid);
    EXPECT_OR_FAIL(getgroups(0, NULL) == 0, "%d supplementary groups, there were none\n", getgroups(0, NULL));
  }
  finish();
}
