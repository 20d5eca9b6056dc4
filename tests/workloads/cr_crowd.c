// Checkpoint/restore workload for scale: an init with --procs=N - 1 children (default 1000 in
// all) and --threads=M threads of its own (default 1000, the main one included), every one of
// them idle, so that a tree of this size costs the machine nothing while it waits.
//
//   each child   fills 4 KiB with its pattern, notes its PID and parent, and waits in sigwait()
//                for SIGUSR2; then checks that its PID, its parent and its memory are the same
//                and exits 0 (or 1 after its FAIL lines)
//   each thread  notes its TID and waits on a condition variable for a round; then checks that
//                its TID and its stack's pattern are the same
//
// On SIGUSR1 the init checks that it has every thread (/proc/self/task), runs a round of its
// threads, and reaps each child by the PID it had before the dump: PASS, or a FAIL line for each
// problem.
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { CHILD_BYTES = 4096, STACK_PATTERN = 256 };

static void child(int index, pid_t parent) {
  char tag = (char)('a' + index % 26);
  unsigned char* memory = malloc(CHILD_BYTES);
  SETUP_OR_DIE(memory != NULL, "malloc\n");
  for (size_t i = 0; i < CHILD_BYTES; ++i) memory[i] = pattern_byte(tag, i);
  pid_t self = getpid();
  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGUSR2);
  int signo = 0;
  while (sigwait(&wait_set, &signo) != 0 || signo != SIGUSR2) {
  }
  char who[32];
  snprintf(who, sizeof who, "child %d", index);
  EXPECT_OR_FAIL(getpid() == self, "%s: its pid is %d, not %d\n", who, (int)getpid(), (int)self);
  EXPECT_OR_FAIL(getppid() == parent, "%s: its parent is %d, not %d\n", who, (int)getppid(), (int)parent);
  check_bytes(who, "memory", memory, tag, 0, CHILD_BYTES);
  _exit(problems_found == 0 ? 0 : 1);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t round_started = PTHREAD_COND_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
static long round_number, waiting, checked, changed;

static void* thread_main(void* arg) {
  long index = (long)arg;
  unsigned char stack[STACK_PATTERN];
  for (size_t i = 0; i < sizeof stack; ++i) stack[i] = pattern_byte((char)('A' + index % 26), i);
  pid_t tid = (pid_t)syscall(SYS_gettid);
  pthread_mutex_lock(&lock);
  long seen = round_number;
  ++waiting;
  pthread_cond_signal(&answered);
  for (;;) {
    while (round_number == seen) pthread_cond_wait(&round_started, &lock);
    seen = round_number;
    int same = (pid_t)syscall(SYS_gettid) == tid;
    for (size_t i = 0; i < sizeof stack; ++i) same = same && stack[i] == pattern_byte((char)('A' + index % 26), i);
    if (!same) ++changed;
    ++checked;
    pthread_cond_signal(&answered);
  }
  return NULL;
}

static int count_tasks(void) {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return -1;
  int count = 0;
  for (struct dirent* entry; (entry = readdir(dir)) != NULL;)
    if (entry->d_name[0] != '.') ++count;
  closedir(dir);
  return count;
}

int main(int argc, char** argv) {
  int procs = (int)arg_number(argc, argv, "procs", 1000);
  int threads = (int)arg_number(argc, argv, "threads", 1000);
  SETUP_OR_DIE(procs >= 1 && threads >= 1, "--procs and --threads count the init and its main thread\n");
  install_check_handler();
  // SIGUSR2 stays blocked in the children, which take it with sigwait.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR2);
  SETUP_OR_DIE(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0, "sigprocmask: %s\n", strerror(errno));
  int count = procs - 1;
  pid_t* children = calloc((size_t)count + 1, sizeof(pid_t));
  SETUP_OR_DIE(children != NULL, "calloc\n");
  pid_t self = getpid();
  for (int i = 0; i < count; ++i) {  // Before the threads: a fork copies only the calling thread.
    children[i] = fork();
    SETUP_OR_DIE(children[i] >= 0, "fork: %s\n", strerror(errno));
    if (children[i] == 0) child(i, self);
  }
  pthread_attr_t attr;
  SETUP_OR_DIE(pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, 64 * 1024) == 0, "pthread_attr\n");
  for (long i = 1; i < threads; ++i) {
    pthread_t thread;
    int err = pthread_create(&thread, &attr, thread_main, (void*)i);
    SETUP_OR_DIE(err == 0, "pthread_create: %s\n", strerror(err));
  }
  pthread_mutex_lock(&lock);
  while (waiting < threads - 1) pthread_cond_wait(&answered, &lock);
  pthread_mutex_unlock(&lock);
  say("READY procs=%d threads=%d\n", procs, threads);
  wait_for_check();

  int tasks = count_tasks();
  EXPECT_OR_FAIL(tasks == threads, "the init has %d threads, not %d\n", tasks, threads);
  pthread_mutex_lock(&lock);
  ++round_number;
  pthread_cond_broadcast(&round_started);
  while (checked < threads - 1) pthread_cond_wait(&answered, &lock);
  EXPECT_OR_FAIL(changed == 0, "%ld of %d threads changed their tid or stack\n", changed, threads - 1);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < count; ++i) kill(children[i], SIGUSR2);
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    int status = 0;
    pid_t got = waitpid(children[i], &status, 0);
    if (got != children[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (failed++ < 5)
        EXPECT_OR_FAIL(0, "child %d (pid %d): waitpid gave %d, status %d\n", i, (int)children[i], (int)got, status);
      else
        ++problems_found;
    }
  }
  EXPECT_OR_FAIL(failed == 0, "%d of %d children failed\n", failed, count);
  finish();
}
