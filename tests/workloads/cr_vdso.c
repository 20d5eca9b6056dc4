// Calls the vdso through pointers cached before the dump, as glibc and language runtimes do.
// At start it finds __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time and __vdso_getcpu in the
// vdso that AT_SYSINFO_EHDR names, and keeps the pointers. After the restore it calls each one and
// compares with the system call, calls glibc's clock_gettime (its own cached pointer), and parses
// the ELF at AT_SYSINFO_EHDR again, as a late parser would, and calls what it finds there.
//   --moved=1: the restore redirected the vdso (CRYO_TEST_VDSO_REDIRECT): [vdso] must be elsewhere
//   now and the old address must hold executable memory; --moved=0: [vdso] must be where it was.
#define _GNU_SOURCE
#include <elf.h>
#include <sys/auxv.h>
#include <sys/time.h>

#include "cr_common.h"

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);
typedef int (*gettimeofday_fn)(struct timeval*, void*);
typedef time_t (*time_fn)(time_t*);
typedef long (*getcpu_fn)(unsigned*, unsigned*, void*);

// The address of a dynamic function of the ELF image mapped at `base`, or NULL.
static void* vdso_function(uintptr_t base, const char* name) {
  const Elf64_Ehdr* h = (const Elf64_Ehdr*)base;
  const Elf64_Phdr* ph = (const Elf64_Phdr*)(base + h->e_phoff);
  uintptr_t bias = 0;
  for (int i = 0; i < h->e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD) {
      bias = base + ph[i].p_offset - ph[i].p_vaddr;
      break;
    }
  const Elf64_Shdr* sh = (const Elf64_Shdr*)(base + h->e_shoff);
  for (int i = 0; i < h->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_DYNSYM) continue;
    const Elf64_Sym* syms = (const Elf64_Sym*)(base + sh[i].sh_offset);
    const char* strings = (const char*)(base + sh[sh[i].sh_link].sh_offset);
    for (size_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); ++j)
      if (ELF64_ST_TYPE(syms[j].st_info) == STT_FUNC && syms[j].st_shndx != SHN_UNDEF && strcmp(strings + syms[j].st_name, name) == 0)
        return (void*)(bias + syms[j].st_value);
  }
  return NULL;
}

// The start of the mapping named `name` in /proc/self/maps, or of the one at `at` (name NULL), and its perms.
static uintptr_t find_mapping(const char* name, uintptr_t at, char perms[5]) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return 0;
  char line[512];
  uintptr_t found = 0;
  while (fgets(line, sizeof line, maps)) {
    unsigned long start, end;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &start, &end, p) != 3) continue;
    if ((name && strstr(line, name)) || (!name && at >= start && at < end)) {
      found = start;
      if (perms) memcpy(perms, p, 5);
      break;
    }
  }
  fclose(maps);
  return found;
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

// Calls a clock_gettime through `fn` between two system calls: its reading must lie between them.
static void check_clock(clock_gettime_fn fn, const char* how) {
  struct timespec before, via, after;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &before);
  int rc = fn(CLOCK_MONOTONIC, &via);
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &after);
  EXPECT_OR_FAIL(rc == 0, "%s: clock_gettime returned %d\n", how, rc);
  EXPECT_OR_FAIL(ns(before) <= ns(via) && ns(via) <= ns(after), "%s: CLOCK_MONOTONIC %lld not within [%lld, %lld]\n", how,
                 (long long)ns(via), (long long)ns(before), (long long)ns(after));
}

int main(int argc, char** argv) {
  long moved = arg_number(argc, argv, "moved", 0);
  install_check_handler();
  uintptr_t ehdr = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  SETUP_OR_DIE(ehdr != 0, "no AT_SYSINFO_EHDR\n");
  clock_gettime_fn cached_clock = (clock_gettime_fn)vdso_function(ehdr, "__vdso_clock_gettime");
  gettimeofday_fn cached_tod = (gettimeofday_fn)vdso_function(ehdr, "__vdso_gettimeofday");
  time_fn cached_time = (time_fn)vdso_function(ehdr, "__vdso_time");
  getcpu_fn cached_getcpu = (getcpu_fn)vdso_function(ehdr, "__vdso_getcpu");
  SETUP_OR_DIE(cached_clock && cached_tod && cached_time && cached_getcpu, "a vdso function is missing\n");
  check_clock(cached_clock, "before the dump");
  say("READY vdso at %#lx\n", (unsigned long)ehdr);
  while (!check_requested) {
    // glibc's own cached pointer, all along.
    clock_ns(CLOCK_MONOTONIC);
    sleep_ms(5);
  }

  char perms[5] = "";
  uintptr_t vdso_now = find_mapping("[vdso]", 0, NULL);
  if (moved) {
    EXPECT_OR_FAIL(vdso_now != 0 && vdso_now != ehdr, "[vdso] is at %#lx, the redirect should have moved it from %#lx\n",
                   (unsigned long)vdso_now, (unsigned long)ehdr);
    EXPECT_OR_FAIL(find_mapping(NULL, ehdr, perms) == ehdr && strcmp(perms, "r-xp") == 0,
                   "the old vdso address %#lx holds no r-xp proxy (%s)\n", (unsigned long)ehdr, perms);
  } else {
    EXPECT_OR_FAIL(vdso_now == ehdr, "[vdso] is at %#lx, not at %#lx\n", (unsigned long)vdso_now, (unsigned long)ehdr);
  }
  check_clock(cached_clock, "cached __vdso_clock_gettime");
  check_clock(clock_gettime, "glibc clock_gettime");
  // A late parser of AT_SYSINFO_EHDR finds functions that work.
  clock_gettime_fn reparsed = (clock_gettime_fn)vdso_function(ehdr, "__vdso_clock_gettime");
  EXPECT_OR_FAIL(reparsed != NULL, "__vdso_clock_gettime not found at AT_SYSINFO_EHDR after the restore\n");
  if (reparsed) check_clock(reparsed, "re-parsed __vdso_clock_gettime");
  struct timeval tv;
  struct timespec real;
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &real);
  EXPECT_OR_FAIL(cached_tod(&tv, NULL) == 0 && tv.tv_sec - real.tv_sec <= 1 && real.tv_sec - tv.tv_sec <= 1,
                 "cached __vdso_gettimeofday: %ld s, the system call says %ld s\n", (long)tv.tv_sec, (long)real.tv_sec);
  time_t t = cached_time(NULL);
  EXPECT_OR_FAIL(t - real.tv_sec <= 1 && real.tv_sec - t <= 1, "cached __vdso_time: %ld, the system call says %ld\n", (long)t,
                 (long)real.tv_sec);
  unsigned cpu = 9999, node = 9999;
  long rc = cached_getcpu(&cpu, &node, NULL);
  EXPECT_OR_FAIL(rc == 0 && cpu < 4096 && node < 4096, "cached __vdso_getcpu: rc %ld, cpu %u, node %u\n", rc, cpu, node);
  finish();
}
