#include "restore/restorer.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "base/fault_injection.h"
#include "base/interrupt.h"
#include "base/logging.h"
#include "kernel/capabilities.h"
#include "ns/signal_forwarder.h"
#include "restore/host_check.h"
#include "restore/image_set.h"
#include "restore/image_validation.h"
#include "restore/live_copy.h"
#include "restore/placeholder_tree.h"
#include "restore/process_restorer.h"

namespace cryo::restore {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::vector<pid_t> tids_of(const std::vector<std::unique_ptr<Tracee>>& tracees) {
  std::vector<pid_t> tids;
  for (const auto& tracee : tracees) tids.push_back(tracee->tid());
  return tids;
}

// Every problem of the image and of this host, in one error.
Result<TreePlan> check_everything(const ImageSet& set) {
  auto log = logging::get("restore");
  std::vector<std::string> problems;
  TreePlan plan = validate_image(set, &problems);
  ASSIGN_OR_RETURN(HostFacts host, read_host_facts(set));
  HostCheck host_check = check_host(set, host, stat_path);
  for (const auto& note : host_check.notes) log->info("{}", note);
  problems.insert(problems.end(), host_check.problems.begin(), host_check.problems.end());
  if (problems.empty()) return plan;
  std::string message = "cannot restore " + set.dir + ": ";
  message += problems.size() == 1 ? "1 problem: " : std::to_string(problems.size()) + " problems: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    log->debug("problem: {}", problems[i]);
    message += (i ? "; " : "") + problems[i];
  }
  return fail(make_error(message).with_hint("nothing was started"));
}

// A restore that ended early: if a signal ended it, say so (everything it created is gone by now).
Error restore_failure(Error e) {
  if (int sig = interrupt_taken())
    return make_error("restore interrupted by " + interrupt_signal_name(sig) + "; every process it had created is killed");
  return e;
}

Result<int> restore_tree_interruptibly(const RestoreOptions& options);

}  // namespace

Result<int> restore_tree(const RestoreOptions& options) {
  InterruptSignals interrupts;
  auto restored = restore_tree_interruptibly(options);
  if (!restored) return fail(restore_failure(restored.error()));
  return restored;
}

namespace {

Result<int> restore_tree_interruptibly(const RestoreOptions& options) {
  auto log = logging::get("restore");
  auto started = Clock::now();
  // Before anything is created, not even the restore log.
  RETURN_IF_ERROR(require_capabilities(required_checkpoint_restore_capabilities(), "cryo restore"));
  struct stat st;
  if (::stat(options.dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    auto opened = logging::open_file(options.dir + "/restore.log");
    if (!opened) log->warn("no restore log: {}", opened.error().message);
  }
  std::optional<RestoreLock> lock;
  if (!options.allow_copy) {
    ASSIGN_OR_RETURN(lock, RestoreLock::acquire(options.dir));
    RETURN_IF_ERROR(lock->check_no_restored_copy_runs());
  }
  ASSIGN_OR_RETURN(ImageSet images, load_image_set(options.dir));
  log->debug("images verified and read in {:.2f} ms", ms_since(started));
  if (!options.allow_copy) RETURN_IF_ERROR(check_source_tree_gone(images.inventory, options.dir));
  ASSIGN_OR_RETURN(TreePlan plan, check_everything(images));
  log->debug("image and host checked in {:.2f} ms", ms_since(started));
  RETURN_IF_ERROR(fault_point("restore:after-image-check"));

  for (const auto& pipe : images.pipes.pipes()) {
    if (pipe.has_reader_in_tree() && pipe.has_writer_in_tree()) continue;
    // The other end belonged to a process outside the tree, which cryo cannot give back.
    log->warn("pipe {}: its {} end was outside the tree; restored without it ({})", pipe.pipe_id(),
              pipe.has_reader_in_tree() ? "write" : "read", pipe.has_reader_in_tree() ? "reads see end-of-file" : "writes fail with EPIPE");
  }

  ClockPlan clocks = plan_clock_offsets(images.namespaces, options.clock, options.shift_ns, read_host_clocks());
  if (!clocks.note.empty()) log->warn("{}", clocks.note);
  log->debug("time namespace offsets: monotonic {} ns, boottime {} ns (elapsed {} ns, shift {} ns)", clocks.offsets.monotonic_ns,
             clocks.offsets.boottime_ns, clocks.elapsed_ns, options.shift_ns);

  auto creating = Clock::now();
  ASSIGN_OR_RETURN(PlaceholderTree tree, PlaceholderTree::create(images, plan, options.pid_method, clocks.offsets));
  log->debug("{} placeholders created in {:.2f} ms", images.processes.size(), ms_since(creating));
  if (auto zombies = tree.let_zombies_exit(); !zombies) {
    tree.kill();
    return fail(zombies.error());
  }
  if (auto injected = fault_point("restore:after-placeholders"); !injected) {
    tree.kill();
    return fail(injected.error());
  }

  auto restoring = Clock::now();
  // Half-restored processes must die before their tracees are dropped (dropping detaches them):
  // on every failure below the tree is killed first.
  std::vector<std::unique_ptr<Tracee>> tracees;
  for (size_t index : plan.creation_order) {
    const ProcessImage& process = images.processes[index];
    if (process.zombie()) continue;
    if (auto interrupted = check_interrupt(); !interrupted) {
      tree.kill(tids_of(tracees));
      return fail(interrupted.error());
    }
    auto restored = restore_process(process, tree.host_pid(process.pid()), tree.context(), tracees);
    if (!restored) {
      log->debug("failed: {}", restored.error().message);
      tree.kill(tids_of(tracees));
      return fail(restored.error());
    }
  }
  log->debug("processes restored in {:.2f} ms", ms_since(restoring));
  tree.close_memory_objects();

  if (auto injected = fault_point("restore:before-release"); !injected) {
    tree.kill(tids_of(tracees));
    return fail(injected.error());
  }
  // The last moment a signal stops the restore; once released, the tree is the user's (in the
  // foreground, cryo forwards signals to it from then on).
  if (auto interrupted = check_interrupt(); !interrupted) {
    tree.kill(tids_of(tracees));
    return fail(interrupted.error());
  }
  // Every process is ready: release them all together.
  for (auto& tracee : tracees) {
    if (auto detached = tracee->detach(); !detached) {
      tree.kill(tids_of(tracees));
      return fail(detached.error().context("release"));
    }
  }
  tree.release();
  if (lock) lock->record_restored_tree(tree.root());
  log->info("restored {} processes from {} in {:.2f} ms; the init is host pid {}", images.processes.size(), options.dir,
            ms_since(started), tree.root());

  if (options.detach) {
    std::printf("%d\n", tree.root());
    std::fflush(stdout);
    return 0;
  }
  SignalForwarder forwarder;
  return forwarder.wait_for_exit(tree.root());
}

}  // namespace

}  // namespace cryo::restore
