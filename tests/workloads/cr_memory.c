// Checkpoint/restore workload: memory, live registers, PIDs and clocks.
//
//   cr_memory [--mib=64] [--text-mib=0] [--max-jump-ms=2000] [--min-jump-ms=0]
//
// --text-mib adds that much compressible memory (lines of text made from the seed, as a heap of
// small records would hold), checked after restore like the rest (for dump --compress).
// Run as the init of a PID namespace (cryo run). It forks one child, fills --mib MiB with
// xorshift64 data from a random seed and hashes it, then enters an assembly loop that holds known
// values in r12, r15 (callee-saved), xmm10 and ymm8, writes READY from inside the loop (so the
// values are live before the test can checkpoint), and spins comparing them until SIGUSR1 arrives.
// The loop is therefore always what a checkpoint interrupts. A mismatch ends it at once with FAIL.
// The child samples CLOCK_MONOTONIC and CLOCK_BOOTTIME every millisecond; the largest gap between
// two samples is the clock jump across the checkpoint, checked against the bounds given.
// On SIGUSR1 the init checks its registers, memory (regenerated and hashed), getpid() == 1 and
// getppid() == 0, then signals the child, which checks its own PIDs and the clocks.
#include <cpuid.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "cr_common.h"

#define R12_VALUE 0x0123456789abcdefULL
#define R15_VALUE 0xfedcba9876543210ULL

static const unsigned char xmm_pattern[16] __attribute__((aligned(16))) = {
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const unsigned char ymm_pattern[32] __attribute__((aligned(32))) = {
    0xa5, 0x5a, 0xc3, 0x3c, 0x96, 0x69, 0x0f, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89};

// Iterations of the register loop: shows the loop ran, before and after the checkpoint.
static uint64_t spin_iterations;

enum spin_result { SPIN_STOPPED = 0, SPIN_BAD_GENERAL = 1, SPIN_BAD_XMM = 2, SPIN_BAD_YMM = 3 };

// Loads the register values, writes `line` to stdout with a raw write system call (which keeps
// r12, r15 and the vector registers), then spins until check_requested is set or a register no
// longer holds its value. A signal handler running in between saves and restores all of them.
static long spin_with_live_registers(const char* line, size_t length) {
  long result;
  __asm__ volatile(
      "movabs $0x0123456789abcdef, %%r12\n\t"
      "movabs $0xfedcba9876543210, %%r15\n\t"
      "movdqa %[xmm_pattern], %%xmm10\n\t"
      "vmovdqa %[ymm_pattern], %%ymm8\n\t"
      "mov %[line], %%rsi\n\t"
      "mov %[length], %%rdx\n\t"
      "mov $1, %%edi\n\t"
      "mov $1, %%eax\n\t"  // __NR_write
      "syscall\n\t"
      "1:\n\t"
      "movabs $0x0123456789abcdef, %%rax\n\t"
      "cmp %%rax, %%r12\n\t"
      "jne 5f\n\t"
      "movabs $0xfedcba9876543210, %%rax\n\t"
      "cmp %%rax, %%r15\n\t"
      "jne 5f\n\t"
      "movdqa %%xmm10, %%xmm11\n\t"
      "pxor %[xmm_pattern], %%xmm11\n\t"
      "ptest %%xmm11, %%xmm11\n\t"
      "jnz 6f\n\t"
      "vxorps %[ymm_pattern], %%ymm8, %%ymm9\n\t"
      "vptest %%ymm9, %%ymm9\n\t"
      "jnz 7f\n\t"
      "incq %[iterations]\n\t"
      "cmpl $0, %[stop]\n\t"
      "je 1b\n\t"
      "xor %%eax, %%eax\n\t"
      "jmp 9f\n\t"
      "5: mov $1, %%eax\n\t"
      "jmp 9f\n\t"
      "6: mov $2, %%eax\n\t"
      "jmp 9f\n\t"
      "7: mov $3, %%eax\n\t"
      "9: vzeroupper\n\t"
      : "=&a"(result), [iterations] "+m"(spin_iterations)
      : [line] "r"(line), [length] "r"(length), [xmm_pattern] "m"(xmm_pattern), [ymm_pattern] "m"(ymm_pattern),
        [stop] "m"(check_requested)
      : "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r15", "xmm8", "xmm9", "xmm10", "xmm11", "cc", "memory");
  return result;
}

static int cpu_has_avx(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  return (ecx & bit_AVX) && (ecx & bit_OSXSAVE);
}

static void fill(uint64_t* words, size_t count, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < count; ++i) words[i] = xorshift64(&state);
}

// FNV-1a over 64-bit words: cheap, and any changed word changes it.
static uint64_t hash_words(const uint64_t* words, size_t count) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < count; ++i) hash = (hash ^ words[i]) * 0x100000001b3ULL;
  return hash;
}

// Returns the index of the first word that differs from the seed's sequence, or `count`.
static size_t first_wrong_word(const uint64_t* words, size_t count, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < count; ++i)
    if (words[i] != xorshift64(&state)) return i;
  return count;
}

// Compressible text: records "key-N=value-M;" with N counting up and M from the seed's sequence.
static void fill_text(char* text, size_t bytes, uint64_t seed) {
  uint64_t state = seed;
  size_t at = 0;
  for (uint64_t n = 0; at < bytes; ++n) {
    char record[64];
    int length = snprintf(record, sizeof record, "key-%llu=value-%llu;", (unsigned long long)n,
                          (unsigned long long)(xorshift64(&state) % 100000));
    size_t take = (size_t)length < bytes - at ? (size_t)length : bytes - at;
    memcpy(text + at, record, take);
    at += take;
  }
}

// The offset of the first byte that differs from fill_text's, or `bytes`.
static size_t first_wrong_text(const char* text, size_t bytes, uint64_t seed) {
  char* expected = malloc(bytes);
  if (!expected) return 0;
  fill_text(expected, bytes, seed);
  size_t at = 0;
  while (at < bytes && text[at] == expected[at]) ++at;
  free(expected);
  return at;
}

static _Noreturn void run_child(long long min_jump_ms, long long max_jump_ms) {
  pid_t pid = getpid();
  pid_t parent = getppid();
  struct clock_watch watch;
  clock_watch_start(&watch);
  while (!check_requested) {
    clock_watch_sample(&watch);
    sleep_ms(1);
  }
  clock_watch_sample(&watch);
  EXPECT_OR_FAIL(getpid() == pid, "child: getpid() is %d, was %d\n", (int)getpid(), (int)pid);
  EXPECT_OR_FAIL(getppid() == parent && parent == 1, "child: getppid() is %d, was %d\n", (int)getppid(), (int)parent);
  clock_watch_check(&watch, "child", min_jump_ms, max_jump_ms);
  check_vdso_agrees_with_syscall("child");
  _exit(problems_found == 0 ? 0 : 1);
}

int main(int argc, char** argv) {
  size_t mib = (size_t)arg_number(argc, argv, "mib", 64);
  size_t text_mib = (size_t)arg_number(argc, argv, "text-mib", 0);
  long long max_jump_ms = arg_number(argc, argv, "max-jump-ms", 2000);
  long long min_jump_ms = arg_number(argc, argv, "min-jump-ms", 0);
  install_check_handler();
  SETUP_OR_DIE(cpu_has_avx(), "this CPU has no AVX; the ymm check needs it\n");
  SETUP_OR_DIE(getpid() == 1 && getppid() == 0, "not the init of a PID namespace: pid %d, ppid %d\n", (int)getpid(),
               (int)getppid());

  // The child comes first, so it does not share (and double) the big buffer.
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child(min_jump_ms, max_jump_ms);

  uint64_t seed = 0;
  SETUP_OR_DIE(getrandom(&seed, sizeof seed, 0) == sizeof seed, "getrandom: %s\n", strerror(errno));
  seed |= 1;  // xorshift needs a non-zero state
  size_t bytes = mib << 20;
  size_t words = bytes / sizeof(uint64_t);
  uint64_t* memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SETUP_OR_DIE(memory != MAP_FAILED, "mmap %zu MiB: %s\n", mib, strerror(errno));
  fill(memory, words, seed);
  uint64_t hash = hash_words(memory, words);
  size_t text_bytes = text_mib << 20;
  char* text = NULL;
  if (text_bytes > 0) {
    text = mmap(NULL, text_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SETUP_OR_DIE(text != MAP_FAILED, "mmap %zu MiB of text: %s\n", text_mib, strerror(errno));
    fill_text(text, text_bytes, seed);
  }

  char ready[256];
  int length = snprintf(ready, sizeof ready, "READY pid=%d child=%d mib=%zu seed=%#llx hash=%#llx\n", (int)getpid(),
                        (int)child, mib, (unsigned long long)seed, (unsigned long long)hash);
  long spin = spin_with_live_registers(ready, (size_t)length);

  static const char* const spin_problems[] = {"", "r12/r15", "xmm10", "ymm8"};
  EXPECT_OR_FAIL(spin == SPIN_STOPPED, "%s lost its value in the register loop after %llu iterations\n",
                 spin_problems[spin], (unsigned long long)spin_iterations);
  say("register loop ran %llu iterations\n", (unsigned long long)spin_iterations);
  EXPECT_OR_FAIL(getpid() == 1, "init: getpid() is %d, not 1\n", (int)getpid());
  EXPECT_OR_FAIL(getppid() == 0, "init: getppid() is %d, not 0\n", (int)getppid());
  size_t wrong = first_wrong_word(memory, words, seed);
  EXPECT_OR_FAIL(wrong == words, "memory differs from the seed's data at offset %#zx (%p)\n", wrong * 8,
                 (void*)(memory + wrong));
  uint64_t hash_after = hash_words(memory, words);
  EXPECT_OR_FAIL(hash_after == hash, "memory hash %#llx, was %#llx\n", (unsigned long long)hash_after,
                 (unsigned long long)hash);
  if (text_bytes > 0) {
    size_t wrong_text = first_wrong_text(text, text_bytes, seed);
    EXPECT_OR_FAIL(wrong_text == text_bytes, "text memory differs at offset %#zx (%p)\n", wrong_text, (void*)(text + wrong_text));
  }

  EXPECT_OR_FAIL(kill(child, SIGUSR1) == 0, "kill(child %d, SIGUSR1): %s\n", (int)child, strerror(errno));
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(reaped == child, "waitpid(child %d): %s\n", (int)child, strerror(errno));
  if (reaped == child)
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d ended with status %#x\n", (int)child,
                   status);
  finish();
}
