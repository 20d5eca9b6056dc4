// Benchmark workload: a process with MIB MiB of anonymous memory that no dumper may skip.
//
//   bench_memory MIB
//
// Run as the init of a PID namespace (cryo run). It maps MIB MiB of private anonymous memory,
// fills every 8-byte word with xorshift64 output (never zero, so no page is all zero and a dumper
// that drops zero pages must still store every one), prints "READY <MIB> MiB" to stdout and waits.
// On SIGUSR1 it regenerates the sequence and compares, printing "PASS" or "FAIL: ..." and waiting
// on: run.sh asks this of every restored tree so that it never times a restore that lost data.
// It ends only on SIGKILL (a namespace init ignores signals it has no handler for).
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_common.h"

// xorshift64 never yields 0 from a non-zero state, so every word written is non-zero.
static uint64_t next(uint64_t* state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

static const uint64_t kSeed = 0x9e3779b97f4a7c15ULL;

int main(int argc, char** argv) {
  char* end = NULL;
  unsigned long mib = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
  if (argc != 2 || mib == 0 || *end != '\0') {
    fprintf(stderr, "usage: bench_memory MIB\n");
    return 2;
  }
  size_t words = (size_t)mib * (1 << 20) / sizeof(uint64_t);
  uint64_t* memory = mmap(NULL, words * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    perror("bench_memory: mmap");
    return 1;
  }
  uint64_t state = kSeed;
  for (size_t i = 0; i < words; ++i) memory[i] = next(&state);

  if (install_check_handler() != 0) {
    perror("bench_memory: sigaction");
    return 1;
  }

  char line[128];
  snprintf(line, sizeof line, "READY %lu MiB\n", mib);
  say(line);
  for (;;) {
    while (!check_requested) pause();
    check_requested = 0;
    state = kSeed;
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < words; ++i) {
      if (memory[i] != next(&state) && bad++ == 0) first_bad = i;
    }
    if (bad == 0) {
      say("PASS\n");
    } else {
      snprintf(line, sizeof line, "FAIL: %zu of %zu words differ, the first at byte offset %zu\n", bad, words,
               first_bad * sizeof(uint64_t));
      say(line);
    }
  }
}
