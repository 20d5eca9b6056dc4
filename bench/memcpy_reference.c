// The physical reference for bench/run.sh: how fast this machine copies and stores SIZE bytes.
//
//   memcpy_reference --mib N --dir DIR [--reps R]
//   memcpy_reference --mib N --dir DIR --prime
//
// Prints one `key=value` line per figure (seconds; medians of R timed repetitions, after one
// untimed warm-up of each operation):
//   memcpy_warm_s    memcpy of N MiB between two buffers that are already faulted in (in-process).
//   memcpy_fresh_s   memcpy of N MiB into freshly mapped memory: includes its page faults, which is
//                    what a restore pays too (its target memory is always new).
//   write_s          write(2) of the same N MiB to a new file in DIR, in 8 MiB calls (cryo dump's
//                    batch size), page cache only.
//   write_fsync_s    the same write followed by fsync(2): what cryo dump does (its image writer
//                    fsyncs every file when it commits the image), so this is the reference used.
//   first_write_fsync_s  the untimed warm-up's write + fsync (one sample, not a median): the same
//                    operation into page cache that was not just recycled; see below.
// The source buffer holds non-zero pseudo-random data, like the benchmark workload. The file is
// unlinked after every repetition.
//
// Why the warm-up matters here: in this VM, page cache that the kernel takes from memory it has
// not used lately is several times slower to write than page cache it recycles from a file just
// deleted (freed memory returns to the host after about 2 s). With --prime it only writes N MiB
// to a file in DIR, fsyncs and deletes it, and prints nothing: run.sh does that right before each
// cryo dump, so that the dump writes its image into the same kind of memory as the reference.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const size_t kChunk = 8 << 20;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void* map_or_die(size_t bytes) {
  void* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("memcpy_reference: mmap");
    exit(1);
  }
  return p;
}

// Keeps the compiler from treating a copy whose result is never read as dead.
static void use(const void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static double time_memcpy(void* dst, const void* src, size_t bytes) {
  double start = now();
  memcpy(dst, src, bytes);
  use(dst);
  return now() - start;
}

static double time_memcpy_fresh(const void* src, size_t bytes) {
  double start = now();
  void* dst = map_or_die(bytes);
  memcpy(dst, src, bytes);
  use(dst);
  double took = now() - start;
  munmap(dst, bytes);
  return took;
}

// Writes `bytes` from `src` to a new file in `dir`; returns the time of the writes alone in
// *write_s and of writes plus fsync as the result.
static double time_write(const char* dir, const char* src, size_t bytes, double* write_s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/memcpy_reference.%d.tmp", dir, (int)getpid());
  double start = now();
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fprintf(stderr, "memcpy_reference: open(%s): %s\n", path, strerror(errno));
    exit(1);
  }
  for (size_t at = 0; at < bytes;) {
    size_t want = bytes - at < kChunk ? bytes - at : kChunk;
    ssize_t n = write(fd, src + at, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "memcpy_reference: write(%s): %s\n", path, n < 0 ? strerror(errno) : "wrote nothing");
      unlink(path);
      exit(1);
    }
    at += (size_t)n;
  }
  *write_s = now() - start;
  if (fsync(fd) != 0) {
    fprintf(stderr, "memcpy_reference: fsync(%s): %s\n", path, strerror(errno));
    unlink(path);
    exit(1);
  }
  double took = now() - start;
  close(fd);
  unlink(path);
  return took;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double median(double* v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void) {
  fprintf(stderr, "usage: memcpy_reference --mib N --dir DIR [--reps R]\n");
  exit(2);
}

int main(int argc, char** argv) {
  unsigned long mib = 0;
  const char* dir = NULL;
  int reps = 3;
  int prime = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--prime") == 0) {
      prime = 1;
      continue;
    }
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--mib") == 0) {
      mib = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--dir") == 0) {
      dir = argv[++i];
    } else if (strcmp(argv[i], "--reps") == 0) {
      reps = atoi(argv[++i]);
    } else {
      usage();
    }
  }
  if (mib == 0 || dir == NULL || reps < 1 || reps > 100) usage();
  size_t bytes = (size_t)mib << 20;

  uint64_t* src = map_or_die(bytes);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < bytes / sizeof *src; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    src[i] = state;
  }
  double write_only = 0;
  if (prime) {
    time_write(dir, (const char*)src, bytes, &write_only);
    return 0;
  }
  char* dst = map_or_die(bytes);
  memset(dst, 1, bytes);

  // Warm-up: one untimed round of each operation.
  time_memcpy(dst, src, bytes);
  time_memcpy_fresh(src, bytes);
  double first_write_fsync = time_write(dir, (const char*)src, bytes, &write_only);

  // Interleaved: each repetition runs every operation once.
  double warm[100], fresh[100], written[100], synced[100];
  for (int r = 0; r < reps; ++r) {
    warm[r] = time_memcpy(dst, src, bytes);
    fresh[r] = time_memcpy_fresh(src, bytes);
    synced[r] = time_write(dir, (const char*)src, bytes, &written[r]);
  }
  printf("bytes=%zu\n", bytes);
  printf("memcpy_warm_s=%.6f\n", median(warm, reps));
  printf("memcpy_fresh_s=%.6f\n", median(fresh, reps));
  printf("write_s=%.6f\n", median(written, reps));
  printf("write_fsync_s=%.6f\n", median(synced, reps));
  printf("first_write_fsync_s=%.6f\n", first_write_fsync);
  return 0;
}
