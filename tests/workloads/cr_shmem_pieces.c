// Checkpoint/restore workload: many pieces of shared anonymous memory, one page each (as
// stress-ng's mlock stressor maps them), each a memory object of its own that restore holds open
// at once. --pieces=N (300) pages are mapped MAP_SHARED|MAP_ANONYMOUS one by one and filled with a
// pattern of their own; the init forks a child that shares them all. On SIGUSR1 the init checks
// every piece, and asks the child (through piece 0) to write into the last piece, which the init
// must then see: the pieces came back shared, not copied.
#include <sys/mman.h>

#include "cr_common.h"

enum { PAGE = 4096 };

struct control {
  volatile int ping;
  volatile int pong;
};

int main(int argc, char** argv) {
  install_check_handler();
  long pieces = arg_number(argc, argv, "--pieces", 300);
  SETUP_OR_DIE(pieces >= 2, "--pieces must be at least 2\n");
  unsigned char** piece = calloc((size_t)pieces, sizeof *piece);
  SETUP_OR_DIE(piece != NULL, "calloc\n");
  for (long i = 0; i < pieces; ++i) {
    piece[i] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    SETUP_OR_DIE(piece[i] != MAP_FAILED, "mmap piece %ld: %s\n", i, strerror(errno));
    if (i > 0)
      for (size_t b = 0; b < PAGE; ++b) piece[i][b] = pattern_byte('S', (size_t)i * PAGE + b);
  }
  struct control* ctl = (struct control*)piece[0];
  unsigned char* last = piece[pieces - 1];
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    for (;;) {
      if (ctl->ping) {
        for (size_t b = 0; b < PAGE; ++b) last[b] = pattern_byte('R', b);
        __sync_synchronize();
        ctl->pong = 1;
        for (;;) pause();  // The namespace dies with the init.
      }
      sleep_ms(1);
    }
  }
  say("READY pieces=%ld child=%d\n", pieces, (int)child);
  wait_for_check();
  for (long i = 1; i < pieces; ++i) {
    size_t bad = 0;
    for (size_t b = 0; b < PAGE; ++b) bad += piece[i][b] != pattern_byte('S', (size_t)i * PAGE + b);
    EXPECT_OR_FAIL(bad == 0, "piece %ld has %zu wrong bytes\n", i, bad);
  }
  ctl->ping = 1;
  for (int waited = 0; !ctl->pong && waited < 5000; ++waited) sleep_ms(1);
  EXPECT_OR_FAIL(ctl->pong, "the child never answered through the shared piece 0\n");
  size_t bad = 0;
  for (size_t b = 0; b < PAGE; ++b) bad += last[b] != pattern_byte('R', b);
  EXPECT_OR_FAIL(bad == 0, "the child's write into the last piece is not seen by the init (%zu bytes differ)\n", bad);
  finish();
}
