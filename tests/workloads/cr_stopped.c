// Checkpoint/restore workload: processes stopped by job control.
//
//   cr_stopped
//
//   P1 init   counts the SIGCHLDs it gets
//   +- A      own group; stopped itself with SIGTSTP; the init collected that stop (waitpid WUNTRACED)
//   +- B      own group, two threads; stopped by the init's SIGSTOP; the stop not collected yet
//
// At the check (SIGUSR1) the init expects: both still stopped (state T in /proc for every thread),
// no SIGCHLD since READY, waitpid(WUNTRACED|WNOHANG) reporting nothing for A (already collected)
// and SIGSTOP for B (not yet collected), and again nothing on a second try. Then it sends SIGCONT
// to both: each must report WCONTINUED and run on (B's second thread too) and exit 0.
#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>

#include "cr_common.h"

static volatile sig_atomic_t sigchld_count;
static void on_sigchld(int signo) {
  (void)signo;
  ++sigchld_count;
}

static volatile int b_thread_ran_after_stop;
static volatile int b_stopped_once;

static void* b_thread(void* arg) {
  (void)arg;
  while (!b_stopped_once) sleep_ms(1);
  b_thread_ran_after_stop = 1;
  return NULL;
}

// B's threads: the main one waits for the stop to have happened and gone (SIGCONT), the other one
// only runs on after it.
static void run_b(void) {
  setpgid(0, 0);
  // Stopped here by the init's SIGSTOP; SIGUSR2 from the init after SIGCONT says the stop is over.
  // Blocked before the thread exists, so both threads block it.
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR2);
  sigprocmask(SIG_BLOCK, &wake, NULL);
  pthread_t thread;
  SETUP_OR_DIE(pthread_create(&thread, NULL, b_thread, NULL) == 0, "B: pthread_create\n");
  int sig = 0;
  sigwait(&wake, &sig);
  b_stopped_once = 1;
  pthread_join(thread, NULL);
  if (!b_thread_ran_after_stop) say("FAIL: B: its second thread did not run after SIGCONT\n");
  _exit(b_thread_ran_after_stop ? 0 : 1);
}

// State of every thread of `pid`, as letters ("TT"), from /proc/PID/task/*/stat.
static void thread_states(pid_t pid, char* out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  size_t n = 0;
  DIR* dir = opendir(path);
  if (!dir) {
    snprintf(out, size, "?");
    return;
  }
  struct dirent* entry;
  while ((entry = readdir(dir)) && n + 1 < size) {
    if (entry->d_name[0] == '.') continue;
    char stat_path[400], text[512];
    snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, entry->d_name);
    FILE* f = fopen(stat_path, "r");
    if (!f) continue;
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = 0;
    char* close = strrchr(text, ')');
    out[n++] = close && close[1] ? close[2] : '?';
  }
  closedir(dir);
  out[n] = 0;
}

static int all_stopped(pid_t pid, size_t threads) {
  char states[64];
  thread_states(pid, states, sizeof states);
  if (strlen(states) != threads) return 0;
  for (size_t i = 0; i < threads; ++i)
    if (states[i] != 'T') return 0;
  return 1;
}

static void wait_until_stopped(pid_t pid, size_t threads, const char* who) {
  for (int i = 0; i < 5000 && !all_stopped(pid, threads); ++i) sleep_ms(1);
  SETUP_OR_DIE(all_stopped(pid, threads), "%s did not stop\n", who);
}

static void check_stopped(pid_t pid, size_t threads, const char* who) {
  char states[64];
  thread_states(pid, states, sizeof states);
  EXPECT_OR_FAIL(all_stopped(pid, threads), "%s: thread states are '%s', expected %zu times T (stopped)\n", who, states, threads);
}

static void expect_continued(pid_t pid, const char* who) {
  int status = 0;
  pid_t got = -1;
  for (int i = 0; i < 2000; ++i) {
    got = waitpid(pid, &status, WCONTINUED | WNOHANG);
    if (got != 0) break;
    sleep_ms(1);
  }
  EXPECT_OR_FAIL(got == pid && WIFCONTINUED(status), "%s: waitpid(WCONTINUED) gave %d status %#x after SIGCONT\n", who, (int)got,
                 status);
}

static void reap(pid_t pid, const char* who) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: ended with status %#x\n", who, status);
}

int main(void) {
  install_check_handler();
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_sigchld;
  action.sa_flags = SA_RESTART;
  SETUP_OR_DIE(sigaction(SIGCHLD, &action, NULL) == 0, "sigaction(SIGCHLD): %s\n", strerror(errno));

  pid_t a = fork();
  SETUP_OR_DIE(a >= 0, "fork A: %s\n", strerror(errno));
  if (a == 0) {
    // Its own group, whose parent is in another group of the session: not orphaned, so the
    // kernel does not discard SIGTSTP.
    setpgid(0, 0);
    // After SIGCONT it waits for SIGUSR2: had it exited at once, the init's waitpid(WCONTINUED)
    // could find a zombie and report its exit instead of the continue.
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, SIGUSR2);
    sigprocmask(SIG_BLOCK, &wake, NULL);
    raise(SIGTSTP);
    int sig = 0;
    sigwait(&wake, &sig);
    _exit(0);
  }
  setpgid(a, a);
  int status = 0;
  pid_t got;
  while ((got = waitpid(a, &status, WUNTRACED)) < 0 && errno == EINTR) {
  }
  SETUP_OR_DIE(got == a && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP, "A did not stop with SIGTSTP\n");

  pid_t b = fork();
  SETUP_OR_DIE(b >= 0, "fork B: %s\n", strerror(errno));
  if (b == 0) run_b();
  setpgid(b, b);
  for (int i = 0; i < 5000; ++i) {
    char states[64];
    thread_states(b, states, sizeof states);
    if (strlen(states) == 2) break;
    sleep_ms(1);
  }
  SETUP_OR_DIE(kill(b, SIGSTOP) == 0, "kill(B, SIGSTOP): %s\n", strerror(errno));
  wait_until_stopped(b, 2, "B");
  wait_until_stopped(a, 1, "A");
  sleep_ms(20);  // Let the SIGCHLDs of both stops arrive before counting.
  int sigchlds_at_ready = sigchld_count;
  say("READY A=%d B=%d sigchld=%d\n", (int)a, (int)b, sigchlds_at_ready);

  wait_for_check();
  check_stopped(a, 1, "A");
  check_stopped(b, 2, "B");
  EXPECT_OR_FAIL(sigchld_count == sigchlds_at_ready, "P1: %d SIGCHLD(s) arrived while nothing changed\n",
                 (int)(sigchld_count - sigchlds_at_ready));
  got = waitpid(a, &status, WUNTRACED | WNOHANG);
  EXPECT_OR_FAIL(got == 0, "P1: waitpid(A, WUNTRACED) reported its stop again (gave %d, status %#x)\n", (int)got, status);
  got = waitpid(b, &status, WUNTRACED | WNOHANG);
  EXPECT_OR_FAIL(got == b && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP,
                 "P1: waitpid(B, WUNTRACED) gave %d status %#x, expected its SIGSTOP stop\n", (int)got, status);
  got = waitpid(b, &status, WUNTRACED | WNOHANG);
  EXPECT_OR_FAIL(got == 0, "P1: waitpid(B, WUNTRACED) reported its stop twice\n");

  EXPECT_OR_FAIL(kill(a, SIGCONT) == 0 && kill(b, SIGCONT) == 0, "P1: kill(SIGCONT): %s\n", strerror(errno));
  expect_continued(a, "A");
  expect_continued(b, "B");
  EXPECT_OR_FAIL(kill(a, SIGUSR2) == 0 && kill(b, SIGUSR2) == 0, "P1: kill(SIGUSR2): %s\n", strerror(errno));
  reap(a, "A");
  reap(b, "B");
  finish();
}
