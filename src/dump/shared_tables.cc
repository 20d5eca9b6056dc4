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

Result<> check_threads_share_their_tables(const std::vector<FrozenProcess>& processes, const std::map<pid_t, uint32_t>& inside) {
  // What unshare(2) can give one thread: a thread always shares its process's address space and
  // signal handlers (CLONE_THREAD needs CLONE_VM and CLONE_SIGHAND).
  constexpr Table kThreadTables[] = {
      {KCMP_FILES, "an fd table of its own (unshare(CLONE_FILES) in that thread)"},
      {KCMP_FS, "a cwd, root and umask of its own (unshare(CLONE_FS) in that thread)"},
  };
  for (const FrozenProcess& process : processes) {
    if (process.zombie || process.threads.size() < 2) continue;
    pid_t leader = process.threads.front().tid();
    for (size_t i = 1; i < process.threads.size(); ++i) {
      pid_t tid = process.threads[i].tid();
      for (const Table& table : kThreadTables) {
        long r = kcmp(leader, tid, table.type);
        if (r < 0) return fail_errno("kcmp(" + std::to_string(table.type) + ")");
        if (r == 0) continue;
        return fail(make_error("pid " + std::to_string(inside.at(process.pid)) + ": thread " + std::to_string(tid) + " (host TID) has " +
                               table.what + ", which cryo cannot dump yet: the threads of a restored process share their leader's"));
      }
    }
  }
  return {};
}

}  // namespace cryo::dump
