// Checkpoint/restore workload for dump --pre-copy: memory that keeps changing while it is dumped.
//
//   cr_precopy [--mib=64] [--pages-per-ms=2] [--userfaultfd=0]
//
// Fills --mib MiB, one generation number per page, and then rewrites --pages-per-ms random pages
// every millisecond until SIGUSR1 arrives. Page p of generation g holds g in its first word and
// words made from (p, g) after it; every third generation is a zero page instead, half of them
// written with zeros and half dropped with MADV_DONTNEED, so pages go from data to zero and back.
// The generation table is updated after each page is whole, and every 64 writes the count so far
// goes to a progress file in the --tag directory ("WRITES n"). On SIGUSR1 the process finishes the page in hand and checks every
// page against the table, and that its count is not below the last one it printed: memory older
// than the freeze (a dump that missed the last writes) fails there. --userfaultfd=1 also holds a
// userfaultfd of its own (with nothing registered), which cryo cannot dump.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "cr_common.h"

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t word_of(uint64_t page, uint64_t generation, uint64_t i) {
  return (page * 0x9e3779b97f4a7c15ULL) ^ (generation * 0xbf58476d1ce4e5b9ULL) ^ (i * 0x94d049bb133111ebULL);
}

static void write_page(uint64_t* data, uint64_t page, uint64_t generation) {
  uint64_t* words = data + page * WORDS;
  if (generation % 3 == 0) {
    if (page % 2) madvise(words, PAGE, MADV_DONTNEED);
    else memset(words, 0, PAGE);
    return;
  }
  for (uint64_t i = 1; i < WORDS; ++i) words[i] = word_of(page, generation, i);
  words[0] = generation;
}

// The progress file: fixed-width "WRITES n" lines written at this process's own file position, so
// that a copy restored from a dump writes on from where the position was at the freeze, over what
// the original (which ran on) wrote after it.
#define PROGRESS_LINE 20
static int progress_fd = -1;

static void print_progress(long long writes) {
  char line[32];
  snprintf(line, sizeof line, "WRITES %012lld\n", writes % 1000000000000LL);
  if (write(progress_fd, line, PROGRESS_LINE) != PROGRESS_LINE) say("FAIL: writing the progress file: %s\n", strerror(errno));
}

// The last count written before the file position: the last one this process printed.
static long long last_printed_count(void) {
  off_t end = lseek(progress_fd, 0, SEEK_CUR);
  if (end < PROGRESS_LINE) return -1;
  char line[PROGRESS_LINE + 1] = {0};
  if (pread(progress_fd, line, PROGRESS_LINE, end - PROGRESS_LINE) != PROGRESS_LINE || strncmp(line, "WRITES ", 7) != 0) return -2;
  return atoll(line + 7);
}

int main(int argc, char** argv) {
  long long mib = arg_number(argc, argv, "mib", 64);
  long long per_ms = arg_number(argc, argv, "pages-per-ms", 2);
  install_check_handler();
  char progress_path[4096];
  snprintf(progress_path, sizeof progress_path, "%s/precopy-progress", arg_string(argc, argv, "tag", "/tmp"));
  progress_fd = open(progress_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  SETUP_OR_DIE(progress_fd >= 0, "open(%s): %s\n", progress_path, strerror(errno));
  if (arg_number(argc, argv, "userfaultfd", 0)) {
    int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    SETUP_OR_DIE(uffd >= 0, "userfaultfd: %s\n", strerror(errno));
    struct uffdio_api api = {.api = UFFD_API};
    SETUP_OR_DIE(ioctl(uffd, UFFDIO_API, &api) == 0, "UFFDIO_API: %s\n", strerror(errno));
  }
  uint64_t pages = (uint64_t)mib << 8;
  uint64_t* data = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint64_t* generations = mmap(NULL, pages * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(data != MAP_FAILED && generations != MAP_FAILED, "mmap: %s\n", strerror(errno));
  for (uint64_t p = 0; p < pages; ++p) {
    write_page(data, p, 1);
    generations[p] = 1;
  }
  uint64_t seed = 0;
  SETUP_OR_DIE(getrandom(&seed, sizeof seed, 0) == sizeof seed, "getrandom: %s\n", strerror(errno));
  seed |= 1;
  long long writes = 0;
  say("READY %lld MiB, %lld pages a millisecond\n", mib, per_ms);
  while (!check_requested) {
    for (long long k = 0; k < per_ms && !check_requested; ++k) {
      uint64_t p = xorshift64(&seed) % pages;
      write_page(data, p, generations[p] + 1);
      generations[p] += 1;
      if (++writes % 64 == 0) print_progress(writes);
    }
    sleep_ms(1);
  }
  long long printed = last_printed_count();
  EXPECT_OR_FAIL(printed != -2, "the progress file does not end in a WRITES line at its position\n");
  EXPECT_OR_FAIL(printed >= 0 || writes < 64, "no WRITES line in the progress file after %lld writes\n", writes);
  EXPECT_OR_FAIL(writes >= printed, "%lld writes in memory, but %lld were printed before: the memory is older than that\n",
                 writes, printed);
  uint64_t bad = 0;
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t* words = data + p * WORDS;
    uint64_t g = generations[p];
    int ok = 1;
    for (uint64_t i = 0; i < WORDS && ok; ++i) {
      uint64_t want = g % 3 == 0 ? 0 : i == 0 ? g : word_of(p, g, i);
      ok = words[i] == want;
    }
    if (!ok && bad++ < 5) say("FAIL: page %llu does not hold generation %llu (first word %llu)\n", (unsigned long long)p,
                              (unsigned long long)g, (unsigned long long)words[0]);
  }
  if (bad) ++problems_found;
  EXPECT_OR_FAIL(bad == 0, "%llu of %llu pages differ from their generation\n", (unsigned long long)bad, (unsigned long long)pages);
  say("checked %llu pages after %lld writes\n", (unsigned long long)pages, writes);
  finish();
}
