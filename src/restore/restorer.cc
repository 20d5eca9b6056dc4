#include "restore/restorer.h"


#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "base/dir_fd.h"
#include "base/fault_injection.h"
#include "base/interrupt.h"
#include "base/logging.h"
#include "base/progress_line.h"
#include "base/stage_timer.h"
#include "image/run_stats.h"
#include "image/summary_input.h"
#include "image/signing_keys.h"
#include "kernel/capabilities.h"
#include "ns/signal_forwarder.h"
#include "ptrace/reap.h"
#include "restore/cgroups.h"
#include "restore/fork_footprint.h"
#include "restore/host_check.h"
#include "state/process/address_randomization.h"
#include "state/process/job_control_stop.h"
#include "image/image_set.h"
#include "restore/image_validation.h"
#include "restore/page_server.h"
#include "restore/included_files.h"
#include "restore/live_copy.h"
#include "restore/placeholder_tree.h"
#include "restore/preflight.h"
#include "restore/process_restorer.h"
#include "restore/shared_memory_plan.h"
#include "restore/sysv_ipc.h"
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

// Detaches every restored thread, which then runs on its own. The first ones released may end
// others before their turn, and rightly so: a stress-ng stressor whose time is up SIGKILLs its
// helper child, a thread's exit_group ends its siblings. Such a thread is no longer stopped
// (PTRACE_DETACH fails with ESRCH) but dying: it is collected here, so that its parent, not cryo,
// gets its exit status. One that is neither stopped nor dying is an error.
Result<> release_threads(std::vector<std::unique_ptr<Tracee>>& tracees) {
  std::vector<pid_t> ended;
  const long gap_ms = test_delay_ms(kReleaseGapVariable);
  for (auto& tracee : tracees) {
    auto detached = tracee->detach();
    if (gap_ms > 0 && &tracee == &tracees.front()) std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    if (detached) continue;
    if (detached.error().err != ESRCH) return fail(detached.error().context("release"));
    tracee->abandon();
    ended.push_back(tracee->tid());
  }
  if (ended.empty()) return {};
  logging::get("restore")->debug("{} threads ended by the tree itself during the release", ended.size());
  std::vector<pid_t> left = reap_killed(std::move(ended), std::chrono::seconds(2));
  if (!left.empty())
    return fail("release: tid " + std::to_string(left.front()) + " could not be detached and did not end (a bug of cryo)");
  return {};
}

// Every problem of the image and of this host, in one error.
Result<Preflight> check_everything(const ImageSet& set) {
  auto log = logging::get("restore");
  ASSIGN_OR_RETURN(Preflight preflight, run_preflight(set));
  for (const auto& note : preflight.notes) log->info("{}", note);
  const auto& problems = preflight.problems;
  if (problems.empty()) return preflight;
  std::string message = "cannot restore " + set.dir + ": ";
  message += problems.size() == 1 ? "1 problem: " : std::to_string(problems.size()) + " problems: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    log->debug("problem: {}", problems[i]);
    message += (i ? "; " : "") + problems[i];
  }
  return fail(make_error(message).with_hint("nothing was started; `cryo restore --check` lists each problem on its own line"));
}

// Opens the image directory and the restore log in it. A log name that is not a regular file is
// refused before anything else is done (it could point anywhere, or hang the open); a directory
// cryo cannot write (read-only media) only costs the log.
Result<DirFd> open_restore_dir(const std::string& path) {
  auto log = logging::get("restore");
  auto dir = DirFd::open(path);
  if (!dir) {
    if (dir.error().err == ENOENT)
      return fail(errno_error("image directory " + path, ENOENT).with_hint("check the path given with -D"));
    return fail(dir.error());
  }
  RETURN_IF_ERROR(dir->refuse_non_regular("restore.log"));
  if (auto file = dir->replace_file("restore.log"))
    logging::open_file(std::move(*file));
  else
    log->warn("no restore log: {}", file.error().message);
  return std::move(*dir);
}

// The init's parent is the restoring cryo, so its parent-death signal (PR_SET_PDEATHSIG, which
// `cryo run` without --detach sets to SIGKILL, as does `unshare --kill-child`) comes when cryo
// exits: with --detach, a moment after the tree runs. The parent it was bound to is not in the
// image and is gone; the tree was asked to outlive cryo, so the init's threads get none.
void drop_init_parent_death_signal(ImageSet& images) {
  for (ProcessImage& process : images.processes) {
    if (process.pid() != 1 || process.zombie()) continue;
    if (process.core.pdeath_signal() != 0)
      logging::get("restore")->warn("the init's parent-death signal {} (PR_SET_PDEATHSIG) is not given back: with --detach its "
                                    "parent, cryo, exits once the tree runs, which would send it; restore without --detach to keep it",
                                    image::signal_name(process.core.pdeath_signal()));
    process.core.set_pdeath_signal(0);
    for (auto& thread : *process.core.mutable_threads()) thread.clear_pdeath_signal();
  }
}

// A restore that ended early: if a signal ended it, say so (everything it created is gone by now).
Error restore_failure(Error e) {
  if (int sig = interrupt_taken())
    return make_error("restore interrupted by " + interrupt_signal_name(sig) + "; every process it had created is killed");
  return e;
}

// The restore's stats, up to its release: what it rebuilt from the image, and the time of each stage.
image::RunStats restore_stats(const ImageSet& images, const StageTimer& stages) {
  image::RunStats stats;
  stats.command = image::StatsCommand::Restore;
  stats.stages_ms = stages.stages();
  stats.total_ms = stages.elapsed_ms();
  stats.processes = images.processes.size();
  for (const ProcessImage& process : images.processes) {
    if (process.zombie()) continue;
    stats.threads += static_cast<uint64_t>(process.core.threads_size());
    stats.fds += static_cast<uint64_t>(process.files.fds_size());
    stats.mappings += static_cast<uint64_t>(process.mm.vmas_size());
    stats.pages_bytes += process.pagemap.pages_file_size();
  }
  stats.pages = stats.pages_bytes / 4096;
  // Every file of the image was read to verify it against the inventory (pages files again to restore them).
  for (const auto& file : images.inventory.files()) stats.bytes += file.size();
  return stats;
}

// Keeps the stats beside the image and writes them where --stats-json says. The tree runs by now:
// a failure costs only the stats, and is a warning.
void keep_restore_stats(const image::RunStats& stats, const DirFd& dir, const std::string& stats_json) {
  auto log = logging::get("restore");
  if (auto kept = image::write_stats_file(dir, stats); !kept)
    log->warn("no {} kept: {}", image::stats_file_name(image::StatsCommand::Restore), kept.error().message);
  if (stats_json.empty()) return;
  if (auto written = image::write_stats_json(stats_json, stats); !written)
    log->warn("--stats-json {}: {}", stats_json, written.error().message);
}

Result<int> restore_tree_interruptibly(const RestoreOptions& options);

}  // namespace

Result<int> restore_tree(const RestoreOptions& options) {
  // Before anything is created or blocked: an exec keeps the signal mask.
  if (!options.check_only) RETURN_IF_ERROR(exec_again_for_address_randomization(options.dir));
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
  // The pre-flight alone creates nothing, not even the restore log.
  if (options.check_only) return print_preflight(options.dir, options.json);
  // With --lazy --detach, a child restores and stays as the page server; this process returns once
  // the child printed the PID (page_server.h).
  UniqueFd detached_report;
  if (options.lazy && options.detach) {
    ASSIGN_OR_RETURN(std::optional<int> waited, fork_lazy_server(&detached_report));
    if (waited) return *waited;
  }
  ProgressLine progress("restore", STDERR_FILENO, options.progress);
  StageTimer stages(&progress);
  stages.enter("read");
  std::optional<image::VerifyKey> key;
  if (!options.verify_key.empty()) {
    auto loaded = image::load_verify_key(options.verify_key);
    if (!loaded) return fail(loaded.error().context("--verify"));
    key = *loaded;
  }
  std::optional<RestoreLock> lock;
  if (!options.allow_copy) {
    ASSIGN_OR_RETURN(lock, RestoreLock::acquire(options.dir));
    RETURN_IF_ERROR(lock->check_no_restored_copy_runs());
  }
  ASSIGN_OR_RETURN(DirFd dir, open_restore_dir(options.dir));
  auto images_dir = std::make_shared<const DirFd>(std::move(dir));
  // With --lazy the page server checksums the pages files while the tree runs (page_server.h).
  ASSIGN_OR_RETURN(ImageSet images, load_image_set(images_dir, key ? &*key : nullptr, options.lazy));
  log->debug("images verified and read in {:.2f} ms", ms_since(started));
  RETURN_IF_ERROR(check_address_randomization(images.inventory));
  stages.enter("check");
  {
    uint64_t total = images.object_pages_size;
    for (const ProcessImage& process : images.processes) total += process.pagemap.pages_file_size();
    progress.set_total(total);
  }
  if (!options.allow_copy) RETURN_IF_ERROR(check_source_tree_gone(images.inventory, options.dir));
  if (options.lazy)
    for (const ProcessImage& process : images.processes)
      if (process.pagemap.has_compression())
        return fail(make_error("--lazy cannot serve the compressed pages of " + process.pages_name + " (dump --compress)")
                        .with_hint("restore this image without --lazy; nothing was started"));
  if (options.detach) drop_init_parent_death_signal(images);
  ASSIGN_OR_RETURN(Preflight checked, check_everything(images));
  const TreePlan& plan = checked.plan;
  log->debug("image and host checked in {:.2f} ms", ms_since(started));
  RETURN_IF_ERROR(fault_point("restore:after-image-check"));
  ASSIGN_OR_RETURN(auto put_back, put_back_included(images.included));
  for (const auto& path : put_back) log->info("{}: put back from the image (it was missing)", path);

  for (const auto& pipe : images.pipes.pipes()) {
    if (pipe.has_reader_in_tree() && pipe.has_writer_in_tree()) continue;
    // No process of the tree held the other end at the dump: its holders closed it or exited, or
    // it was held outside the tree, which cryo cannot give back; the dump cannot tell which. A
    // process may open a FIFO's other end again by its path (state/files/pipe.h).
    if (!pipe.fifo_path().empty()) {
      log->warn("FIFO {}: no fd of the tree had it open for {}; any such open outside the tree is not restored ({} until a process "
                "opens it by its path)", pipe.fifo_path(), pipe.has_reader_in_tree() ? "writing" : "reading",
                pipe.has_reader_in_tree() ? "reads see end-of-file" : "writes fail with EPIPE");
      continue;
    }
    log->warn("pipe {}: no process of the tree held its {} end at the dump; restored without it ({})", pipe.pipe_id(),
              pipe.has_reader_in_tree() ? "write" : "read", pipe.has_reader_in_tree() ? "reads see end-of-file" : "writes fail with EPIPE");
  }

  stages.enter("create");
  // From a container with shifted clocks, the new offsets are computed against the kernel's clocks.
  ASSIGN_OR_RETURN(ClockOffsets own_offsets, own_timens_offsets());
  ClockPlan clocks = plan_clock_offsets(images.namespaces, options.clock, options.shift_ns, read_host_clocks(own_offsets));
  if (!clocks.note.empty()) log->warn("{}", clocks.note);
  log->debug("time namespace offsets: monotonic {} ns, boottime {} ns (elapsed {} ns, shift {} ns; cryo's own: {} ns, {} ns)",
             clocks.offsets.monotonic_ns, clocks.offsets.boottime_ns, clocks.elapsed_ns, options.shift_ns,
             own_offsets.monotonic_ns, own_offsets.boottime_ns);

  auto creating = Clock::now();
  // A fork per process: for a few processes the collapse would cost more than it saves.
  if (images.processes.size() >= kCollapseFromProcesses) {
    ForkFootprint footprint = collapse_own_memory();
    log->debug("{} of {} KiB of cryo's memory in huge pages before the forks, in {:.2f} ms", footprint.collapsed_bytes / 1024,
               footprint.anonymous_bytes / 1024, ms_since(creating));
  }
  ASSIGN_OR_RETURN(PlaceholderTree tree, PlaceholderTree::create(images, plan, options.pid_method, clocks.offsets));
  log->debug("{} placeholders created in {:.2f} ms", images.processes.size(), ms_since(creating));
  if (auto zombies = tree.let_zombies_exit(); !zombies) {
    tree.kill();
    return fail(zombies.error());
  }
  // Before any memory is restored, so that its pages are charged to the process's own cgroups.
  auto restorer_cgroups = RestorerCgroups::read();
  if (!restorer_cgroups) {
    tree.kill();
    return fail(restorer_cgroups.error());
  }
  for (const ProcessImage& process : images.processes) {
    if (process.zombie()) continue;
    if (auto moved = move_into_cgroups(process.core, tree.host_pid(process.pid()), *restorer_cgroups); !moved) {
      tree.kill();
      return fail(moved.error().context("pid " + std::to_string(process.pid())));
    }
  }
  if (auto injected = fault_point("restore:after-placeholders"); !injected) {
    tree.kill();
    return fail(injected.error());
  }

  // What each placeholder has in place of its memory: shared copy-on-write with its parent and children.
  std::vector<std::string> unseeded;
  std::vector<PreparedMemory> memory =
      plan_tree_memory(images, plan, [&](size_t index) { return tree.seed_board().seeded(index); }, &unseeded);
  for (const auto& note : unseeded) log->debug("{}", note);

  // Before any process attaches them, in the tree's new IPC namespace; paged segments are filled
  // from the object pages file.
  UniqueFd sysv_pages;
  for (const auto& segment : images.sysv.segments())
    if (segment.paged() && !sysv_pages.valid()) {
      auto opened = images.dir_fd->open_regular(images.object_pages_name, images.object_pages_size);
      if (!opened) {
        tree.kill();
        return fail(opened.error().context("open the object pages file for SysV segments"));
      }
      sysv_pages = std::move(opened->fd);
    }
  auto sysv = SysvSegments::create(images.sysv, tree.root(), sysv_pages.valid() ? sysv_pages.get() : -1);
  if (!sysv) {
    tree.kill();
    return fail(sysv.error());
  }

  // Before any process is restored: it answers the faults of the restore's own syscalls too.
  std::unique_ptr<PageServer> lazy;
  if (options.lazy) {
    auto started_server = PageServer::start();
    if (!started_server) {
      tree.kill();
      return fail(started_server.error());
    }
    lazy = std::move(*started_server);
    for (const auto& file : images.inventory.files())
      if (file.name().starts_with("pages-")) lazy->checksum_later(images_dir, file.name(), file.size(), file.xxh3());
  }

  stages.enter("processes");
  progress.add_done(images.object_pages_size);  // Filled with the memory objects, before any process.
  auto restoring = Clock::now();
  // Half-restored processes must die before their tracees are dropped (dropping detaches them):
  // on every failure below the tree is killed first.
  std::vector<std::unique_ptr<Tracee>> tracees;
  std::vector<std::pair<size_t, size_t>> threads(images.processes.size());  // Each process's range of tracees.
  for (size_t index : plan.creation_order) {
    const ProcessImage& process = images.processes[index];
    if (process.zombie()) continue;
    if (auto interrupted = check_interrupt(); !interrupted) {
      tree.kill(tids_of(tracees));
      return fail(interrupted.error());
    }
    size_t first = tracees.size();
    auto restored = restore_process(process, tree.host_pid(process.pid()), tree.context(), memory[index], checked.vdso_redirect, tracees,
                                    lazy.get());
    threads[index] = {first, tracees.size()};
    if (!restored) {
      log->debug("failed: {}", restored.error().message);
      tree.kill(tids_of(tracees));
      return fail(restored.error());
    }
    progress.add_done(process.pagemap.pages_file_size());
  }
  log->debug("processes restored in {:.2f} ms", ms_since(restoring));
  // Every attachment is in place: removed segments now live on through the processes alone.
  if (auto finished = sysv->finish(); !finished) {
    tree.kill(tids_of(tracees));
    return fail(finished.error());
  }
  tree.close_memory_objects();
  stages.enter("verify");
  if (!options.verify) {
    log->info("not verified: --no-verify");
  } else if (auto verified = verify_restored_tree(images, tree, checked.vdso_redirect, options.lazy); !verified) {
    tree.kill(tids_of(tracees));
    return fail(verified.error());
  }

  if (auto injected = fault_point("restore:before-release"); !injected) {
    tree.kill(tids_of(tracees));
    return fail(injected.error());
  }
  if (lazy) {
    if (auto injected = fault_point("lazy:registered"); !injected) {
      tree.kill(tids_of(tracees));
      return fail(injected.error());
    }
  }
  // The last moment a signal stops the restore; once released, the tree is the user's (in the
  // foreground, cryo forwards signals to it from then on).
  if (auto interrupted = check_interrupt(); !interrupted) {
    tree.kill(tids_of(tracees));
    return fail(interrupted.error());
  }
  stages.enter("release");
  // Every process is ready: release them all together, those stopped by job control first.
  if (auto stopped = release_stopped_processes(images, plan, [&tree](uint32_t pid) { return tree.host_pid(pid); }, tracees, threads); !stopped) {
    tree.kill(tids_of(tracees));
    return fail(stopped.error());
  }
  if (auto released = release_threads(tracees); !released) {
    tree.kill(tids_of(tracees));
    return fail(released.error());
  }
  tree.release();
  if (lazy) lazy->release(tree.root(), images.find(1) ? images.find(1)->core.pdeath_signal() : 0);
  stages.stop();
  // The tree is the user's from here on: the line goes (in the foreground the tree may write to the
  // same terminal), and the stats end here.
  progress.finish();
  if (lock) lock->record_restored_tree(tree.root());
  image::RunStats stats = restore_stats(images, stages);
  log->info("restored {} processes from {} in {:.2f} ms; the init is host pid {}", images.processes.size(), options.dir,
            ms_since(started), tree.root());

  if (options.detach) {
    if (options.on_detached) options.on_detached(tree.root());
    // The PID stays the first line of stdout; `--stats-json -` follows it.
    std::printf("%d\n", tree.root());
    std::fflush(stdout);
    keep_restore_stats(stats, *images_dir, options.stats_json);
    if (!lazy) return 0;
    // The tree runs; this child of the waiting cryo serves its pages until all are in place.
    report_detached(detached_report);
    RETURN_IF_ERROR_CTX(lazy->wait(), "lazy restore");
    return 0;
  }
  keep_restore_stats(stats, *images_dir, options.stats_json);
  SignalForwarder forwarder;
  auto status = forwarder.wait_for_exit(tree.root());
  if (lazy) {
    if (auto served = lazy->wait(); !served) log->error("{}", served.error().message);
  }
  return status;
}

}  // namespace

}  // namespace cryo::restore
