// Checkpoint/restore workload: per-mapping advice and locks, the VmFlags of /proc/self/smaps.
//
//   cr_madvise [--mlockall=0|1|2] [--merge-any=0|1] [--guards=1|0]
//
// Run as the init of a PID namespace (cryo run). It maps one row of slots, each of 8 pages filled
// with a pattern, and gives every other slot one advice (MADV_DONTFORK, MADV_WIPEONFORK, ...), so
// each advised slot is a VMA of its own between plain neighbours. Some flags need mappings of
// their own (MAP_GROWSDOWN, MAP_NORESERVE, MAP_LOCKED, MAP_DROPPABLE, mseal). Guard regions
// (MADV_GUARD_INSTALL) sit on some pages of a filled slot, and one slot's guards were removed
// again (its VmFlags keep "gu"). Half of one slot was given MADV_FREE: each of its pages must read
// back as its data or as zeros, never anything else. A child is forked before the checkpoint (its
// DONTFORK slot is absent, its WIPEONFORK slot zero).
// --mlockall=1 calls mlockall(MCL_FUTURE), 2 mlockall(MCL_FUTURE|MCL_ONFAULT): after the restore a
// new mapping must still be locked. --merge-any=1 calls prctl(PR_SET_MEMORY_MERGE): new mappings
// must still be mergeable, and /proc/self/ksm_stat must say so.
// On SIGUSR1 every process checks the VmFlags of each slot and its neighbours (every flag the slot
// must have, none that the neighbours must not), the data, the guards (pagemap bit 58, and a
// child that touches one dies of SIGSEGV), and forks a new child that checks DONTFORK (the slot
// is not mapped) and WIPEONFORK (the slot reads zeros) in the fork.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cr_common.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define PAGE 4096UL
#define SLOT_PAGES 8UL
#define SLOT (SLOT_PAGES * PAGE)
#define PM_GUARD (1ULL << 58)

// One advised slot: what was done to it and what its VmFlags must show.
struct advised {
  const char* name;
  int advice;             // madvise advice, or -1
  const char* must_have;  // space-separated VmFlags mnemonics
  char* at;
};

static struct advised row[] = {
    {"MADV_DONTFORK", MADV_DONTFORK, "dc", NULL},
    {"MADV_WIPEONFORK", MADV_WIPEONFORK, "wf", NULL},
    {"MADV_DONTDUMP", MADV_DONTDUMP, "dd", NULL},
    {"MADV_MERGEABLE", MADV_MERGEABLE, "mg", NULL},
    {"MADV_HUGEPAGE", MADV_HUGEPAGE, "hg", NULL},
    {"MADV_NOHUGEPAGE", MADV_NOHUGEPAGE, "nh", NULL},
    {"MADV_SEQUENTIAL", MADV_SEQUENTIAL, "sr", NULL},
    {"MADV_RANDOM", MADV_RANDOM, "rr", NULL},
    {"mlock", -1, "lo", NULL},
    {"mlock2(MLOCK_ONFAULT)", -1, "lo lf", NULL},
    {"MADV_GUARD_INSTALL", MADV_GUARD_INSTALL, "gu", NULL},
    {"guards removed", MADV_GUARD_REMOVE, "gu", NULL},
};
#define ROW_SLOTS (sizeof row / sizeof row[0])
// Flags that no plain neighbour may have ("gu" is sticky: a neighbour may merge with it).
static const char* const advice_flags[] = {"dc", "wf", "dd", "mg", "hg", "nh", "sr", "rr", "lo", "lf", "sl", "dp", "gd", "nr"};

// Pages of the MADV_GUARD_INSTALL slot that are guards.
static const size_t guard_pages[] = {2, 3, 6};

static char* plain_row;  // 2 * ROW_SLOTS + 1 slots: neighbour, advised, neighbour, ...
static char* growsdown;
static char* noreserve;
static char* map_locked;
static char* droppable;
static char* sealed;
static char* lazily_freed;  // its first half was MADV_FREE'd
static char* emptied;       // written, emptied with MADV_DONTNEED, then PROT_NONE: keeps "ac"
static char* untouched;     // never written, then PROT_NONE: mprotect took its "ac"
static int mlockall_mode;
static int merge_any;
static int with_guards = 1;  // --guards=0 leaves out guard regions
static pid_t child;
static const char* who = "init";
static int is_child;  // mlock, MAP_LOCKED and mlockall are not inherited by a fork

// The byte that belongs at an address: every page holds a pattern of its own.
static unsigned char byte_for(const char* p) {
  uintptr_t a = (uintptr_t)p;
  return (unsigned char)((a >> 12) * 7 + (a & 0xfff) * 13 + 1);
}

static void fill_slot(char* at, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) at[i] = (char)byte_for(at + i);
}

static size_t wrong_bytes(const char* at, size_t bytes) {
  size_t bad = 0;
  for (size_t i = 0; i < bytes; ++i) bad += (unsigned char)at[i] != byte_for(at + i);
  return bad;
}

static int all_zero(const char* at, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i)
    if (at[i]) return 0;
  return 1;
}

// The VmFlags line (without "VmFlags:") of the mapping that holds `address`, or "" if none does.
static void vm_flags_of(const void* address, char* out, size_t size) {
  out[0] = 0;
  FILE* smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) return;
  char line[512];
  int inside = 0;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long start, end;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && strlen(perms) == 4) {
      inside = (uintptr_t)address >= start && (uintptr_t)address < end;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, size, " %s", line + 8);
      char* newline = strchr(out, '\n');
      if (newline) *newline = ' ';
      break;
    }
  }
  fclose(smaps);
}

static int has_flag(const char* flags, const char* mnemonic) {
  char word[8];
  snprintf(word, sizeof word, " %s ", mnemonic);
  return strstr(flags, word) != NULL;
}

static int is_mapped(const void* address) {
  unsigned char vec;
  return mincore((void*)((uintptr_t)address & ~(PAGE - 1)), PAGE, &vec) == 0 || errno != ENOMEM;
}

static uint64_t pagemap_entry(const void* address) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  if (fd >= 0) {
    if (pread(fd, &entry, sizeof entry, (off_t)((uintptr_t)address / PAGE * 8)) != sizeof entry) entry = 0;
    close(fd);
  }
  return entry;
}

// Checks that the mapping at `at` has every mnemonic of `must_have`.
static void expect_flags(const char* what, const void* at, const char* must_have) {
  char flags[512];
  vm_flags_of(at, flags, sizeof flags);
  char wanted[64];
  snprintf(wanted, sizeof wanted, "%s", must_have);
  for (char* m = strtok(wanted, " "); m; m = strtok(NULL, " ")) {
    if (is_child && (strcmp(m, "lo") == 0 || strcmp(m, "lf") == 0)) continue;
    EXPECT_OR_FAIL(has_flag(flags, m), "%s: %s at %p: VmFlags '%s' lack '%s'\n", who, what, at, flags, m);
  }
}

// Checks that a plain neighbour has none of the advice flags (a restore that spreads one is as wrong
// as one that drops it).
static void expect_plain(const char* what, const void* at) {
  char flags[512];
  vm_flags_of(at, flags, sizeof flags);
  for (size_t i = 0; i < sizeof advice_flags / sizeof advice_flags[0]; ++i) {
    if ((mlockall_mode || is_child) && (strcmp(advice_flags[i], "lo") == 0 || strcmp(advice_flags[i], "lf") == 0)) continue;
    if (merge_any && strcmp(advice_flags[i], "mg") == 0) continue;
    EXPECT_OR_FAIL(!has_flag(flags, advice_flags[i]), "%s: %s at %p: VmFlags '%s' have '%s'\n", who, what, at, flags,
                   advice_flags[i]);
  }
}

// Whether touching `address` kills a forked child with SIGSEGV.
static int touching_faults(const volatile char* address) {
  pid_t pid = fork();
  if (pid == 0) {
    (void)*address;
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return 0;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static int is_guard_page(const struct advised* a, size_t page) {
  if (a->advice != MADV_GUARD_INSTALL) return 0;
  for (size_t i = 0; i < sizeof guard_pages / sizeof guard_pages[0]; ++i)
    if (guard_pages[i] == page) return 1;
  return 0;
}

static struct advised* find_slot(int advice) {
  for (size_t i = 0; i < ROW_SLOTS; ++i)
    if (row[i].advice == advice) return &row[i];
  return NULL;
}

// In a fork (made now, after the restore): the DONTFORK slot is not mapped, the WIPEONFORK slot is zero.
static void check_fork_semantics(int has_dontfork_slot) {
  struct advised* dontfork = find_slot(MADV_DONTFORK);
  struct advised* wipe = find_slot(MADV_WIPEONFORK);
  pid_t pid = fork();
  if (pid == 0) {
    problems_found = 0;
    if (is_mapped(dontfork->at)) {
      ++problems_found;
      say("FAIL: %s's fork: the MADV_DONTFORK slot %p is mapped in a new fork\n", who, (void*)dontfork->at);
    }
    if (!all_zero(wipe->at, SLOT)) {
      ++problems_found;
      say("FAIL: %s's fork: the MADV_WIPEONFORK slot %p is not zero in a new fork\n", who, (void*)wipe->at);
    }
    _exit(problems_found == 0 ? 0 : 1);
  }
  int status = 0;
  EXPECT_OR_FAIL(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "%s: the fork that checks DONTFORK/WIPEONFORK failed (status %#x)\n", who, status);
  (void)has_dontfork_slot;
}

static void check_row(int forked_before) {
  for (size_t i = 0; i < ROW_SLOTS; ++i) {
    struct advised* a = &row[i];
    char* left = a->at - SLOT;
    expect_plain("neighbour before", left);
    if (i + 1 == ROW_SLOTS) expect_plain("neighbour after", a->at + SLOT);
    EXPECT_OR_FAIL(wrong_bytes(left, SLOT) == 0, "%s: neighbour of %s: data wrong\n", who, a->name);
    if (forked_before && a->advice == MADV_DONTFORK) {
      EXPECT_OR_FAIL(!is_mapped(a->at), "%s: the MADV_DONTFORK slot %p is mapped in the child\n", who, (void*)a->at);
      continue;
    }
    expect_flags(a->name, a->at, a->must_have);
    if (forked_before && a->advice == MADV_WIPEONFORK) {
      EXPECT_OR_FAIL(all_zero(a->at, SLOT), "%s: the MADV_WIPEONFORK slot is not zero in the child\n", who);
      continue;
    }
    for (size_t p = 0; p < SLOT_PAGES; ++p) {
      char* page = a->at + p * PAGE;
      int guard = is_guard_page(a, p);
      EXPECT_OR_FAIL(!!(pagemap_entry(page) & PM_GUARD) == guard, "%s: %s: page %zu %s a guard\n", who, a->name, p,
                     guard ? "is not" : "is");
      if (guard) continue;
      size_t bad = wrong_bytes(page, PAGE);
      EXPECT_OR_FAIL(bad == 0, "%s: %s: page %zu: %zu bytes wrong\n", who, a->name, p, bad);
    }
    if (a->advice == MADV_GUARD_INSTALL)
      EXPECT_OR_FAIL(touching_faults(a->at + guard_pages[0] * PAGE), "%s: touching a guard page did not fault\n", who);
  }
}

static void check_others(void) {
  expect_flags("MAP_GROWSDOWN", growsdown + PAGE, "gd");
  expect_flags("MAP_NORESERVE", noreserve, "nr");
  expect_flags("MAP_LOCKED", map_locked, "lo");
  expect_flags("MAP_DROPPABLE", droppable, "dp");
  expect_flags("mseal", sealed, "sl");
  EXPECT_OR_FAIL(wrong_bytes(growsdown + PAGE, SLOT - PAGE) == 0, "%s: MAP_GROWSDOWN data wrong\n", who);
  EXPECT_OR_FAIL(wrong_bytes(noreserve, SLOT) == 0, "%s: MAP_NORESERVE data wrong\n", who);
  EXPECT_OR_FAIL(wrong_bytes(map_locked, SLOT) == 0, "%s: MAP_LOCKED data wrong\n", who);
  EXPECT_OR_FAIL(wrong_bytes(sealed, SLOT) == 0, "%s: sealed data wrong\n", who);
  // Droppable memory may lose its pages at any time: data or zero, page by page.
  for (size_t p = 0; p < SLOT_PAGES; ++p) {
    char* page = droppable + p * PAGE;
    EXPECT_OR_FAIL(wrong_bytes(page, PAGE) == 0 || all_zero(page, PAGE), "%s: droppable page %zu is neither its data nor zero\n",
                   who, p);
  }
  errno = 0;
  EXPECT_OR_FAIL(munmap(sealed, SLOT) != 0 && errno == EPERM, "%s: munmap of the sealed mapping: %s\n", who,
                 errno ? strerror(errno) : "it worked");
  // MADV_FREE: a page the kernel has not reclaimed yet still holds its data; one it has reads zero.
  for (size_t p = 0; p < SLOT_PAGES; ++p) {
    char* page = lazily_freed + p * PAGE;
    int ok = wrong_bytes(page, PAGE) == 0 || (p < SLOT_PAGES / 2 && all_zero(page, PAGE));
    EXPECT_OR_FAIL(ok, "%s: MADV_FREE slot page %zu is neither its data nor (freed half only) zero\n", who, p);
  }
  // mprotect takes VM_ACCOUNT only from an anonymous mapping that was never written.
  expect_flags("a mapping written, emptied and made PROT_NONE", emptied, "ac");
  char untouched_flags[512];
  vm_flags_of(untouched, untouched_flags, sizeof untouched_flags);
  EXPECT_OR_FAIL(!has_flag(untouched_flags, "ac"), "%s: a mapping never written and made PROT_NONE has VmFlags '%s' with 'ac'\n",
                 who, untouched_flags);
  if ((mlockall_mode && !is_child) || merge_any) {
    char* fresh = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_OR_FAIL(fresh != MAP_FAILED, "%s: mmap: %s\n", who, strerror(errno));
    if (fresh != MAP_FAILED) {
      if (mlockall_mode && !is_child) expect_flags("a mapping made after the restore (mlockall MCL_FUTURE)", fresh, mlockall_mode == 2 ? "lo lf" : "lo");
      if (merge_any) expect_flags("a mapping made after the restore (PR_SET_MEMORY_MERGE)", fresh, "mg");
      munmap(fresh, SLOT);
    }
  }
  if (merge_any) {
    EXPECT_OR_FAIL(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1, "%s: PR_GET_MEMORY_MERGE is not 1\n", who);
  }
}

static void setup(void) {
  size_t slots = 2 * ROW_SLOTS + 1;
  plain_row = mmap(NULL, slots * SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(plain_row != MAP_FAILED, "mmap: %s\n", strerror(errno));
  fill_slot(plain_row, slots * SLOT);
  for (size_t i = 0; i < ROW_SLOTS; ++i) {
    struct advised* a = &row[i];
    a->at = plain_row + (2 * i + 1) * SLOT;
    int done;
    if (strcmp(a->name, "mlock") == 0) {
      done = mlock(a->at, SLOT);
    } else if (a->advice == -1) {
      done = (int)syscall(SYS_mlock2, a->at, SLOT, MLOCK_ONFAULT);
    } else if (!with_guards && (a->advice == MADV_GUARD_INSTALL || a->advice == MADV_GUARD_REMOVE)) {
      a->advice = -2;
      a->must_have = "";
      done = 0;
    } else if (a->advice == MADV_GUARD_INSTALL) {
      done = 0;
      for (size_t g = 0; g < sizeof guard_pages / sizeof guard_pages[0] && done == 0; ++g)
        done = madvise(a->at + guard_pages[g] * PAGE, PAGE, MADV_GUARD_INSTALL);
    } else if (a->advice == MADV_GUARD_REMOVE) {
      done = madvise(a->at + PAGE, PAGE, MADV_GUARD_INSTALL);
      if (done == 0) done = madvise(a->at + PAGE, PAGE, MADV_GUARD_REMOVE);
      fill_slot(a->at + PAGE, PAGE);  // The guard zapped it.
    } else {
      done = madvise(a->at, SLOT, a->advice);
    }
    SETUP_OR_DIE(done == 0, "%s: %s\n", a->name, strerror(errno));
  }
  // MAP_GROWSDOWN: its lowest page is the kernel's stack guard gap, so only the rest is filled.
  growsdown = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
  noreserve = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  map_locked = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
  droppable = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
  sealed = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  lazily_freed = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(growsdown != MAP_FAILED && noreserve != MAP_FAILED && map_locked != MAP_FAILED && droppable != MAP_FAILED &&
                   sealed != MAP_FAILED && lazily_freed != MAP_FAILED,
               "mmap: %s\n", strerror(errno));
  fill_slot(growsdown + PAGE, SLOT - PAGE);
  fill_slot(noreserve, SLOT);
  fill_slot(map_locked, SLOT);
  fill_slot(droppable, SLOT);
  fill_slot(sealed, SLOT);
  fill_slot(lazily_freed, SLOT);
  SETUP_OR_DIE(mprotect(sealed, SLOT, PROT_READ) == 0, "mprotect: %s\n", strerror(errno));
  SETUP_OR_DIE(syscall(SYS_mseal, sealed, SLOT, 0) == 0, "mseal: %s\n", strerror(errno));
  SETUP_OR_DIE(madvise(lazily_freed, SLOT / 2, MADV_FREE) == 0, "MADV_FREE: %s\n", strerror(errno));
  // As valgrind and allocators leave memory they gave back.
  // Mapped one after the other, not together, so that each is a VMA of its own (one anon_vma).
  emptied = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(emptied != MAP_FAILED, "mmap: %s\n", strerror(errno));
  fill_slot(emptied, SLOT);
  SETUP_OR_DIE(madvise(emptied, SLOT, MADV_DONTNEED) == 0 && mprotect(emptied, SLOT, PROT_NONE) == 0, "emptying: %s\n",
               strerror(errno));
  untouched = mmap(NULL, SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(untouched != MAP_FAILED && mprotect(untouched, SLOT, PROT_NONE) == 0, "untouched: %s\n", strerror(errno));
  if (merge_any) SETUP_OR_DIE(prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0, "PR_SET_MEMORY_MERGE: %s\n", strerror(errno));
  if (mlockall_mode)
    SETUP_OR_DIE(mlockall(MCL_FUTURE | (mlockall_mode == 2 ? MCL_ONFAULT : 0)) == 0, "mlockall: %s\n", strerror(errno));
}

// With --dir: a read-only shared mapping of a file opened read-write (VmFlags mw), which may be
// made writable later; restored from a read-only open, mprotect would fail with EACCES.
static char* shared_readonly;

static void setup_shared_readonly(const char* dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/shared_rw", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  SETUP_OR_DIE(fd >= 0 && ftruncate(fd, PAGE) == 0, "%s: %s\n", path, strerror(errno));
  shared_readonly = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
  SETUP_OR_DIE(shared_readonly != MAP_FAILED, "mmap(%s): %s\n", path, strerror(errno));
  close(fd);
}

static void check_shared_readonly(void) {
  if (!shared_readonly) return;
  char flags[256];
  vm_flags_of(shared_readonly, flags, sizeof flags);
  EXPECT_OR_FAIL(has_flag(flags, "mw"), "%s: read-only shared mapping of a read-write file: VmFlags '%s' lack 'mw'\n", who, flags);
  EXPECT_OR_FAIL(mprotect(shared_readonly, PAGE, PROT_READ | PROT_WRITE) == 0,
                 "%s: mprotect(PROT_WRITE) of the shared mapping of a read-write file: %s\n", who, strerror(errno));
  shared_readonly[0] = 'w';
}

static void check_everything(int forked_before) {
  check_row(forked_before);
  check_others();
  check_fork_semantics(!forked_before);
}

int main(int argc, char** argv) {
  mlockall_mode = (int)arg_number(argc, argv, "mlockall", 0);
  merge_any = (int)arg_number(argc, argv, "merge-any", 0);
  with_guards = (int)arg_number(argc, argv, "guards", 1);
  install_check_handler();
  SETUP_OR_DIE(getpid() == 1, "not the init of a PID namespace\n");
  setup();
  const char* dir = arg_string(argc, argv, "dir", NULL);
  if (dir) setup_shared_readonly(dir);
  child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    who = "child";
    is_child = 1;
    // Before the checkpoint: the fork semantics as the kernel gave them.
    SETUP_OR_DIE(!is_mapped(find_slot(MADV_DONTFORK)->at), "the DONTFORK slot is mapped in the child\n");
    SETUP_OR_DIE(all_zero(find_slot(MADV_WIPEONFORK)->at, SLOT), "the WIPEONFORK slot is not zero in the child\n");
    wait_for_check();
    check_everything(1);
    _exit(problems_found == 0 ? 0 : 1);
  }
  say("READY pid=%d child=%d row=%p\n", (int)getpid(), (int)child, (void*)plain_row);
  wait_for_check();
  check_everything(0);
  check_shared_readonly();
  EXPECT_OR_FAIL(kill(child, SIGUSR1) == 0, "kill(child): %s\n", strerror(errno));
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(reaped == child && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ended with status %#x\n", status);
  finish();
}
