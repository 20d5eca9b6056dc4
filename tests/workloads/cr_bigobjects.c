// Checkpoint/restore workload: memory objects larger than 256 MiB, mostly holes, shared by two
// processes after fork.
//
//   memfd "cryo-big": 320 MiB + 100 bytes (not whole pages). Data: 64 KiB at the start, 40 MiB in
//     the middle (one run longer than cryo's copy pieces), the last 10000 bytes up to its end; one
//     page written with zeros at 100 MiB. The rest is holes. Open in the init, mapped MAP_SHARED by
//     both processes.
//   shared anonymous memory: 300 MiB mmap(MAP_SHARED|MAP_ANONYMOUS). The init writes 64 KiB at the
//     start, the child 2 MiB at 150 MiB and the last page (pages the init never touches); page 16
//     holds the control block the two talk through.
//   SysV segment: IPC_PRIVATE, 300 MiB + 10 bytes, in the tree's own IPC namespace, attached by
//     the init (the child inherits the attachment). The init writes 64 KiB at the start, the child
//     1 MiB at 120 MiB and the last 10 bytes.
//   deleted file DIR/big: 288 MiB + 5000 bytes on DIR's filesystem (--dir=DIR), open read-write in
//     the init, then unlinked. Data: 64 KiB at the start, 4 MiB + 1 page at 144 MiB, the last 5000
//     bytes.
//
// On SIGUSR1 the init reads every byte of the four objects through fds (the shared memory and the
// segment through /proc/self/map_files, so that their holes are read without allocating them) and checks the data
// and the zeros between, their sizes, and that they are still sparse: each holds in blocks about
// its data, not its size (holes and zero pages were not written by the restore). Then it pings the
// child, which checks the data through its own mappings (the init's pages as well as its own) and
// answers with 64 KiB written at 200 MiB of the shared memory, the memfd and the segment, which
// the init must read through its mappings: after restore the objects are still shared.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

#define MIB (1024ull * 1024)
enum { PAGE = 4096, CONTROL_OFFSET = 16 * PAGE };

struct region {
  uint64_t offset, bytes;
  char tag;
};

#define MEMFD_SIZE (320 * MIB + 100)
static const struct region memfd_data[] = {
    {0, 64 * 1024, 'A'}, {160 * MIB, 40 * MIB, 'B'}, {MEMFD_SIZE - 10000, 10000, 'C'}};
#define SHMEM_SIZE (300 * MIB)
static const struct region shmem_data[] = {{0, 64 * 1024, 'D'}, {150 * MIB, 2 * MIB, 'E'}, {SHMEM_SIZE - PAGE, PAGE, 'F'}};
#define SEGMENT_SIZE (300 * MIB + 10)
static const struct region segment_data[] = {{0, 64 * 1024, 'J'}, {120 * MIB, MIB, 'K'}, {SEGMENT_SIZE - 10, 10, 'L'}};
#define DELETED_SIZE (288 * MIB + 5000)
static const struct region deleted_data[] = {
    {0, 64 * 1024, 'G'}, {144 * MIB, 4 * MIB + PAGE, 'H'}, {DELETED_SIZE - 5000, 5000, 'I'}};
#define REPLY_OFFSET (200 * MIB)
#define REPLY_BYTES (64 * 1024)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct control {
  volatile int ping;
  volatile int pong;
  volatile int child_problems;
  volatile pid_t child;
};

static int memfd, deleted;
static unsigned char *memfd_map, *shmem, *segment;
static struct control* ctl;

static void fill(unsigned char* base, const struct region* r) {
  for (uint64_t i = 0; i < r->bytes; ++i) base[i] = pattern_byte(r->tag, r->offset + i);
}

static void write_region(int fd, const struct region* r, const char* what) {
  unsigned char* buffer = malloc(r->bytes);
  SETUP_OR_DIE(buffer != NULL, "malloc\n");
  fill(buffer, r);
  SETUP_OR_DIE(pwrite(fd, buffer, r->bytes, (off_t)r->offset) == (ssize_t)r->bytes, "pwrite %s: %s\n", what, strerror(errno));
  free(buffer);
}

// The byte the object must hold at `offset`: a region's pattern, or zero (the reply region counts
// as zero until `with_reply`).
static unsigned char expected(const struct region* regions, size_t count, uint64_t offset) {
  for (size_t i = 0; i < count; ++i)
    if (offset >= regions[i].offset && offset < regions[i].offset + regions[i].bytes)
      return pattern_byte(regions[i].tag, offset);
  return 0;
}

// Reads all `size` bytes of `fd` in 1 MiB pieces and counts those that differ from `regions`
// (zeros elsewhere; the reply region is skipped); then checks its size and that it is sparse.
static void check_object(const char* what, int fd, uint64_t size, const struct region* regions, size_t count,
                         uint64_t data_bytes) {
  static unsigned char buffer[MIB];
  uint64_t bad = 0, first_bad = UINT64_MAX;
  for (uint64_t at = 0; at < size; at += sizeof buffer) {
    size_t want = (size_t)(size - at < sizeof buffer ? size - at : sizeof buffer);
    ssize_t got = pread(fd, buffer, want, (off_t)at);
    if (got != (ssize_t)want) {
      EXPECT_OR_FAIL(0, "%s: pread at %llu returned %zd of %zu bytes\n", what, (unsigned long long)at, got, want);
      return;
    }
    int has_data = 0;
    for (size_t i = 0; i < count; ++i)
      has_data |= regions[i].offset < at + want && regions[i].offset + regions[i].bytes > at;
    int in_reply = at < REPLY_OFFSET + REPLY_BYTES && at + want > REPLY_OFFSET;
    if (!has_data && !in_reply) {
      for (size_t i = 0; i < want; ++i)
        if (buffer[i] != 0) {
          if (first_bad == UINT64_MAX) first_bad = at + i;
          ++bad;
        }
      continue;
    }
    for (size_t i = 0; i < want; ++i) {
      uint64_t offset = at + i;
      if (offset >= REPLY_OFFSET && offset < REPLY_OFFSET + REPLY_BYTES) continue;
      if (buffer[i] != expected(regions, count, offset)) {
        if (first_bad == UINT64_MAX) first_bad = offset;
        ++bad;
      }
    }
  }
  EXPECT_OR_FAIL(bad == 0, "init: %s: %llu wrong bytes, the first at offset %llu\n", what, (unsigned long long)bad,
                 (unsigned long long)first_bad);
  struct stat st;
  SETUP_OR_DIE(fstat(fd, &st) == 0, "fstat %s: %s\n", what, strerror(errno));
  EXPECT_OR_FAIL((uint64_t)st.st_size == size, "init: %s is %lld bytes, was %llu\n", what, (long long)st.st_size,
                 (unsigned long long)size);
  // Data, the reply, a zero page and a filesystem's own blocks (extents, a block rounded up): 4 MiB of slack.
  uint64_t allocated = (uint64_t)st.st_blocks * 512;
  EXPECT_OR_FAIL(allocated <= data_bytes + REPLY_BYTES + 4 * MIB,
                 "init: %s has %llu bytes allocated for %llu bytes of data: its holes were filled\n", what,
                 (unsigned long long)allocated, (unsigned long long)data_bytes);
}

static uint64_t data_bytes(const struct region* regions, size_t count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < count; ++i) sum += regions[i].bytes;
  return sum;
}

// Checks the data regions (and a page in the middle of each stretch of holes) through a mapping.
static void check_mapping(const char* who, const char* what, const unsigned char* map, const struct region* regions,
                          size_t count) {
  for (size_t r = 0; r < count; ++r) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < regions[r].bytes; ++i)
      bad += map[regions[r].offset + i] != pattern_byte(regions[r].tag, regions[r].offset + i);
    EXPECT_OR_FAIL(bad == 0, "%s: %s region %c: %llu of %llu bytes wrong\n", who, what, regions[r].tag,
                   (unsigned long long)bad, (unsigned long long)regions[r].bytes);
  }
  uint64_t samples[] = {100 * MIB + 5 * PAGE, 250 * MIB};
  for (size_t s = 0; s < COUNT(samples); ++s) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < PAGE; ++i) bad += map[samples[s] + i] != 0;
    EXPECT_OR_FAIL(bad == 0, "%s: %s: the hole at %llu holds %llu non-zero bytes\n", who, what,
                   (unsigned long long)samples[s], (unsigned long long)bad);
  }
}

static void run_child(void) {
  for (size_t r = 1; r < COUNT(shmem_data); ++r) fill(shmem + shmem_data[r].offset, &shmem_data[r]);
  for (size_t r = 1; r < COUNT(segment_data); ++r) fill(segment + segment_data[r].offset, &segment_data[r]);
  ctl->child = getpid();
  while (ctl->ping != 1) sleep_ms(1);
  check_mapping("child", "shared memory", shmem, shmem_data, COUNT(shmem_data));
  check_mapping("child", "memfd mapping", memfd_map, memfd_data, COUNT(memfd_data));
  check_mapping("child", "SysV segment", segment, segment_data, COUNT(segment_data));
  memset(segment + REPLY_OFFSET, 'S', REPLY_BYTES);
  memset(shmem + REPLY_OFFSET, 'R', REPLY_BYTES);
  memset(memfd_map + REPLY_OFFSET, 'r', REPLY_BYTES);
  ctl->child_problems = problems_found;
  __sync_synchronize();
  ctl->pong = 1;
  for (;;) pause();  // The namespace dies with the init.
}

static void check_reply(const char* what, const unsigned char* map, unsigned char value) {
  uint64_t bad = 0;
  for (uint64_t i = 0; i < REPLY_BYTES; ++i) bad += map[REPLY_OFFSET + i] != value;
  EXPECT_OR_FAIL(bad == 0, "init: the child's reply in the %s is not visible (%llu bytes wrong)\n", what, (unsigned long long)bad);
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* dir = arg_string(argc, argv, "dir", NULL);
  SETUP_OR_DIE(dir != NULL, "--dir=DIR is required\n");

  memfd = memfd_create("cryo-big", 0);
  SETUP_OR_DIE(memfd >= 0, "memfd_create: %s\n", strerror(errno));
  SETUP_OR_DIE(ftruncate(memfd, (off_t)MEMFD_SIZE) == 0, "ftruncate memfd: %s\n", strerror(errno));
  for (size_t r = 0; r < COUNT(memfd_data); ++r) write_region(memfd, &memfd_data[r], "memfd");
  static unsigned char zeros[PAGE];
  SETUP_OR_DIE(pwrite(memfd, zeros, PAGE, (off_t)(100 * MIB)) == PAGE, "pwrite zeros: %s\n", strerror(errno));
  memfd_map = mmap(NULL, MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  SETUP_OR_DIE(memfd_map != MAP_FAILED, "mmap memfd: %s\n", strerror(errno));

  shmem = mmap(NULL, SHMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(shmem != MAP_FAILED, "mmap shared: %s\n", strerror(errno));
  fill(shmem, &shmem_data[0]);
  ctl = (struct control*)(shmem + CONTROL_OFFSET);

  int id = shmget(IPC_PRIVATE, SEGMENT_SIZE, IPC_CREAT | 0600);
  SETUP_OR_DIE(id >= 0, "shmget: %s\n", strerror(errno));
  segment = shmat(id, NULL, 0);
  SETUP_OR_DIE(segment != (void*)-1, "shmat: %s\n", strerror(errno));
  fill(segment, &segment_data[0]);

  char path[4096];
  snprintf(path, sizeof path, "%s/big", dir);
  deleted = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
  SETUP_OR_DIE(deleted >= 0, "open %s: %s\n", path, strerror(errno));
  SETUP_OR_DIE(ftruncate(deleted, (off_t)DELETED_SIZE) == 0, "ftruncate %s: %s\n", path, strerror(errno));
  for (size_t r = 0; r < COUNT(deleted_data); ++r) write_region(deleted, &deleted_data[r], path);
  SETUP_OR_DIE(unlink(path) == 0, "unlink %s: %s\n", path, strerror(errno));

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  for (int i = 0; i < 5000 && ctl->child != child; ++i) sleep_ms(1);
  SETUP_OR_DIE(ctl->child == child, "the child did not start\n");
  say("READY memfd %d, shared memory at %p, deleted file %d, child %d\n", memfd, (void*)shmem, deleted, (int)child);
  wait_for_check();

  check_object("memfd", memfd, MEMFD_SIZE, memfd_data, COUNT(memfd_data), data_bytes(memfd_data, COUNT(memfd_data)));
  char self[64];
  unsigned long segment_end = ((unsigned long)segment + SEGMENT_SIZE + PAGE - 1) & ~(unsigned long)(PAGE - 1);
  snprintf(self, sizeof self, "/proc/self/map_files/%lx-%lx", (unsigned long)segment, segment_end);
  int segment_fd = open(self, O_RDONLY);
  EXPECT_OR_FAIL(segment_fd >= 0, "init: open(%s): %s\n", self, strerror(errno));
  if (segment_fd >= 0) {
    check_object("SysV segment", segment_fd, SEGMENT_SIZE, segment_data, COUNT(segment_data),
                 data_bytes(segment_data, COUNT(segment_data)));
    close(segment_fd);
  }
  snprintf(self, sizeof self, "/proc/self/map_files/%lx-%lx", (unsigned long)shmem, (unsigned long)(shmem + SHMEM_SIZE));
  int shared = open(self, O_RDONLY);
  EXPECT_OR_FAIL(shared >= 0, "init: open(%s): %s\n", self, strerror(errno));
  if (shared >= 0) {
    struct control saved = *ctl;  // Zeroed for the scan, which expects zeros outside the data regions.
    memset((void*)ctl, 0, sizeof *ctl);
    check_object("shared memory", shared, SHMEM_SIZE, shmem_data, COUNT(shmem_data), data_bytes(shmem_data, COUNT(shmem_data)));
    memcpy((void*)ctl, &saved, sizeof saved);
    close(shared);
  }
  check_object("deleted file", deleted, DELETED_SIZE, deleted_data, COUNT(deleted_data),
               data_bytes(deleted_data, COUNT(deleted_data)));
  struct stat st;
  SETUP_OR_DIE(fstat(deleted, &st) == 0, "fstat: %s\n", strerror(errno));
  EXPECT_OR_FAIL(st.st_nlink == 0, "init: the deleted file has %lu links\n", (unsigned long)st.st_nlink);
  check_mapping("init", "shared memory", shmem, shmem_data, COUNT(shmem_data));

  ctl->ping = 1;
  for (int i = 0; i < 10000 && !ctl->pong; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(ctl->pong, "init: the child never answered through shared memory after restore\n");
  if (ctl->pong) {
    EXPECT_OR_FAIL(ctl->child_problems == 0, "init: the child found %d problems in its view\n", ctl->child_problems);
    check_reply("shared memory", shmem, 'R');
    check_reply("memfd", memfd_map, 'r');
    check_reply("SysV segment", segment, 'S');
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  finish();
}
