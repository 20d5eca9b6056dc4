#include "dump/shared_tables.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace cryo::dump {
namespace {

struct Table {
  int type;
  const char* what;
};

// CLONE_VM first: a process sharing the address space (vfork) usually shares nothing else, and
// CLONE_SIGHAND requires CLONE_VM.
constexpr Table kTables[] = {
    {KCMP_VM, "one address space (clone CLONE_VM without CLONE_THREAD, e.g. vfork)"},
    {KCMP_SIGHAND, "one signal handler table (clone CLONE_SIGHAND)"},
    {KCMP_FILES, "one fd table (clone CLONE_FILES)"},
    {KCMP_FS, "one cwd, root and umask (clone CLONE_FS)"},
};

// 0 equal, 1 less, 2 greater; 3 (or an error) means the kernel gives no order.
long kcmp(pid_t a, pid_t b, int type) { return ::syscall(SYS_kcmp, a, b, type, 0, 0); }

}  // namespace

Result<> check_shared_kernel_tables(const std::vector<FrozenProcess>& processes, const std::map<pid_t, uint32_t>& inside) {
  std::vector<pid_t> live;
  for (const auto& p : processes)
    if (!p.zombie) live.push_back(p.pid);
  for (const Table& table : kTables) {
    bool unordered = false;
    std::vector<pid_t> sorted = live;
    std::sort(sorted.begin(), sorted.end(), [&](pid_t a, pid_t b) {
      long r = kcmp(a, b, table.type);
      if (r < 0 || r > 2) unordered = true;
      return r == 1;
    });
    if (unordered) return fail_errno("kcmp(" + std::to_string(table.type) + ")");
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (kcmp(sorted[i - 1], sorted[i], table.type) != 0) continue;
      uint32_t a = inside.at(sorted[i - 1]), b = inside.at(sorted[i]);
      if (a > b) std::swap(a, b);
      return fail(make_error("pid " + std::to_string(a) + " and pid " + std::to_string(b) + " share " + table.what +
                             ", which cryo cannot dump yet")
                      .with_hint("let them stop sharing it (exec, or unshare) before the dump"));
    }
  }
  return {};
}

}  // namespace cryo::dump
