#include "restore/restorer.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "base/fault_injection.h"
#include "base/logging.h"
#include "kernel/capabilities.h"
#include "ns/signal_forwarder.h"
#include "restore/host_check.h"
#include "restore/image_set.h"
#include "restore/image_validation.h"
#include "restore/placeholder_tree.h"
#include "restore/process_restorer.h"
#include "restore/tree_verification.h"

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

}  // namespace

Result<int> restore_tree(const RestoreOptions& options) {
  auto log = logging::get("restore");
  auto started = Clock::now();
  // Before anything is created, not even the restore log.
  RETURN_IF_ERROR(require_capabilities(required_checkpoint_restore_capabilities(), "cryo restore"));
  struct stat st;
  if (::stat(options.dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    auto opened = logging::open_file(options.dir + "/restore.log");
    if (!opened) log->warn("no restore log: {}", opened.error().message);
  }
  ASSIGN_OR_RETURN(ImageSet images, load_image_set(options.dir));
  log->debug("images verified and read in {:.2f} ms", ms_since(started));
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
    auto restored = restore_process(process, tree.host_pid(process.pid()), tree.context(), tracees);
    if (!restored) {
      log->debug("failed: {}", restored.error().message);
      tree.kill(tids_of(tracees));
      return fail(restored.error());
    }
  }
  log->debug("processes restored in {:.2f} ms", ms_since(restoring));
  tree.close_memory_objects();
  if (!options.verify) {
    log->info("not verified: --no-verify");
  } else if (auto verified = verify_restored_tree(images, tree); !verified) {
    tree.kill(tids_of(tracees));
    return fail(verified.error());
  }

  if (auto injected = fault_point("restore:before-release"); !injected) {
    tree.kill(tids_of(tracees));
    return fail(injected.error());
  }
  // Every process is ready: release them all together.
  for (auto& tracee : tracees) {
    if (auto detached = tracee->detach(); !detached) {
      tree.kill(tids_of(tracees));
      return fail(detached.error().context("release"));
    }
  }
  tree.release();
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

}  // namespace cryo::restore
