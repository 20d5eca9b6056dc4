// Shared by the bench workloads (bench_memory.c, bench_scale.c): the check signal and one-write
// lines. Header-only: each workload is its own executable.
#pragma once

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

// Set by the SIGUSR1 handler: the bench asks the restored workload to check itself.
static volatile sig_atomic_t check_requested;

static void on_check_signal(int signo) {
  (void)signo;
  check_requested = 1;
}

// Installs on_check_signal for SIGUSR1 (a PID-namespace init gets only signals it handles).
static int install_check_handler(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_check_signal;
  sigemptyset(&action.sa_mask);
  return sigaction(SIGUSR1, &action, NULL);
}

// One line, one write(2): the line is whole even if the log is shared.
static void say(const char* line) {
  size_t length = strlen(line);
  while (length > 0) {
    ssize_t written = write(STDOUT_FILENO, line, length);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    line += written;
    length -= (size_t)written;
  }
}
