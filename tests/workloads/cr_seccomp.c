// Checkpoint workload: seccomp filters. The init runs without one; its child installs three, as
// root without no_new_privs, then starts a thread that inherits them:
//   1. sysinfo fails with ENOTTY;
//   2. (SECCOMP_FILTER_FLAG_LOG) getpriority fails with EDOM;
//   3. keyctl, setresuid, setresgid, capset and userfaultfd kill the process: calls the dump (its
//      --pre-copy too) and the restore inject themselves, so the filters must be suspended while
//      cryo injects them.
// After restore the child and its thread each find all three at work and /proc/self/status showing
// mode 2 with 3 filters, and the thread can still add a filter for both threads at once
// (SECCOMP_FILTER_FLAG_TSYNC), which works only while the threads share one chain of filters.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#include "cr_common.h"

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (action))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static long install(struct sock_filter* program, unsigned short length, unsigned int flags) {
  struct sock_fprog fprog = {length, program};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
}

static void install_filters(void) {
  struct sock_filter sysinfo_filter[] = {LOAD_NR, ON(SYS_sysinfo, SECCOMP_RET_ERRNO | ENOTTY), ALLOW};
  struct sock_filter priority_filter[] = {LOAD_NR, ON(SYS_getpriority, SECCOMP_RET_ERRNO | EDOM), ALLOW};
  struct sock_filter killing_filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      LOAD_NR,
      ON(SYS_keyctl, SECCOMP_RET_KILL_PROCESS),
      ON(SYS_setresuid, SECCOMP_RET_KILL_PROCESS),
      ON(SYS_setresgid, SECCOMP_RET_KILL_PROCESS),
      ON(SYS_capset, SECCOMP_RET_KILL_PROCESS),
      ON(SYS_userfaultfd, SECCOMP_RET_KILL_PROCESS),
      ALLOW,
  };
  SETUP_OR_DIE(install(sysinfo_filter, 4, 0) == 0, "seccomp(sysinfo filter): %s\n", strerror(errno));
  SETUP_OR_DIE(install(priority_filter, 4, SECCOMP_FILTER_FLAG_LOG) == 0, "seccomp(getpriority filter): %s\n", strerror(errno));
  SETUP_OR_DIE(install(killing_filter, sizeof killing_filter / sizeof killing_filter[0], 0) == 0,
               "seccomp(killing filter): %s\n", strerror(errno));
}

// What the status file of this thread says after `field` ("Seccomp:", "Seccomp_filters:"), or -1.
static long status_number(const char* field) {
  char path[64], text[8192];
  snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
  FILE* file = fopen(path, "r");
  if (!file) return -1;
  size_t length = fread(text, 1, sizeof text - 1, file);
  fclose(file);
  text[length] = '\0';
  const char* at = strstr(text, field);
  return at ? strtol(at + strlen(field), NULL, 10) : -1;
}

static void expect_filters(const char* who, long mode, long count) {
  EXPECT_OR_FAIL(status_number("Seccomp:") == mode, "%s: seccomp mode %ld, not %ld\n", who, status_number("Seccomp:"), mode);
  EXPECT_OR_FAIL(status_number("Seccomp_filters:") == count, "%s: %ld seccomp filters, not %ld\n", who,
                 status_number("Seccomp_filters:"), count);
  if (mode == 0) return;
  struct sysinfo info;
  errno = 0;
  EXPECT_OR_FAIL(sysinfo(&info) == -1 && errno == ENOTTY, "%s: sysinfo is not refused with ENOTTY: %s\n", who, strerror(errno));
  errno = 0;
  EXPECT_OR_FAIL(syscall(SYS_getpriority, PRIO_PROCESS, 0) == -1 && errno == EDOM, "%s: getpriority is not refused with EDOM: %s\n",
                 who, strerror(errno));
}

static volatile sig_atomic_t thread_check, thread_verdict;  // 0 waiting, 1 passed, 2 failed

static void* second_thread(void* arg) {
  (void)arg;
  while (!thread_check) sleep_ms(5);
  int before = problems_found;
  expect_filters("child's thread", 2, 3);
  struct sock_filter allow[] = {ALLOW};
  long synced = install(allow, 1, SECCOMP_FILTER_FLAG_TSYNC);
  EXPECT_OR_FAIL(synced == 0, "child's thread: TSYNC failed (%ld, %s): the threads no longer share their filters\n", synced,
                 strerror(errno));
  thread_verdict = problems_found == before ? 1 : 2;
  return NULL;
}

static void run_child(int report) {
  install_filters();
  pthread_t thread;
  SETUP_OR_DIE(pthread_create(&thread, NULL, second_thread, NULL) == 0, "pthread_create\n");
  (void)!write(report, "r", 1);
  wait_for_check();
  expect_filters("child", 2, 3);
  thread_check = 1;
  pthread_join(thread, NULL);
  EXPECT_OR_FAIL(thread_verdict == 1, "the child's thread failed its checks\n");
  // The thread's TSYNC filter reached this thread too.
  EXPECT_OR_FAIL(status_number("Seccomp_filters:") == 4, "child: %ld filters after the thread's TSYNC, not 4\n",
                 status_number("Seccomp_filters:"));
  (void)!write(report, problems_found == 0 ? "P" : "F", 1);
  _exit(0);
}

int main(void) {
  install_check_handler();
  int report;
  pid_t child = fork_reporting_child(run_child, &report);
  say("READY child=%d\n", (int)child);
  wait_for_check();
  expect_filters("init", 0, 0);
  expect_child_passes(child, report);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_OR_FAIL(WIFEXITED(status), "the child was killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  finish();
}
