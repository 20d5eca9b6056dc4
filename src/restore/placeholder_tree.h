// Creates the tree of placeholders in fresh namespaces and owns it until it is released: a helper
// forked from cryo creates the time namespace (so cryo itself stays in the host's), recreates the
// pipes, and clones the init into new PID and mount namespaces as cryo's child; the placeholders
// then create each other in tree order and report when they are ready to be seized.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "ns/time_namespace.h"
#include "image/image_set.h"
#include "restore/memory_objects.h"
#include "restore/placeholder.h"
#include "restore/report_channel.h"
#include "image/tree_plan.h"

namespace cryo::restore {

class PlaceholderTree {
 public:
  // Returns once every placeholder reported ready, or with the first failure (nothing left running).
  static Result<PlaceholderTree> create(const ImageSet& images, const TreePlan& plan, PidMethod method,
                                        const ClockOffsets& offsets);
  PlaceholderTree(PlaceholderTree&& other) noexcept;
  PlaceholderTree& operator=(PlaceholderTree&&) = delete;
  // Kills the whole tree unless it was released.
  ~PlaceholderTree();

  pid_t root() const { return root_; }
  // Host PID of a process by its PID inside the namespace.
  pid_t host_pid(uint32_t pid) const { return host_pids_.at(pid); }
  const PlaceholderContext& context() const { return ctx_; }
  // What each placeholder mapped before forking its children; complete once create() returned.
  const SeedBoard& seed_board() const { return *seed_board_; }

  // Lets the zombie placeholders exit and waits until each one is a zombie.
  Result<> let_zombies_exit();
  // SIGKILLs the init (the kernel then kills the whole namespace) and reaps what cryo must reap:
  // the placeholders it traces, and `traced_threads`, the other threads of restored processes that
  // cryo traces (a dead traced thread stays a zombie until its tracer collects it, and the dying
  // init waits for all of them).
  void kill(const std::vector<pid_t>& traced_threads = {});
  // Every process has its memory: cryo's copies of the memory objects may go.
  void close_memory_objects() { objects_ = {}; }
  // The tree runs on its own from now; the destructor no longer kills it.
  void release() { released_ = true; }

 private:
  PlaceholderTree() = default;
  Result<> collect_reports(pid_t helper);

  const ImageSet* images_ = nullptr;
  PlaceholderContext ctx_;
  ReportChannel channel_;
  pid_t root_ = 0;
  bool root_reaped_ = false;
  std::map<uint32_t, pid_t> host_pids_;
  UniqueFd hold_write_;    // Never written; closing it tells waiting placeholders to give up.
  UniqueFd zombie_write_;  // Closing it lets zombies exit.
  std::unique_ptr<SeedBoard> seed_board_;  // On the heap: placeholders hold its address.
  MemoryObjects objects_;  // Memory objects, inherited by the helper and placeholders.
  bool released_ = false;
  bool killed_ = false;
};

}  // namespace cryo::restore
