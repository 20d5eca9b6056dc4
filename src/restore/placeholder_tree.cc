#include "restore/placeholder_tree.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <thread>

#include "base/fault_injection.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "image/restore_open_files.h"
#include "ns/namespace_init.h"
#include "ptrace/reap.h"
#include "restore/memory_objects.h"
#include "restore/staged_fds.h"

namespace cryo::restore {
namespace {

// Placeholders report at least this often while the tree is being created; silence this long means
// something hangs.
constexpr auto kQuietLimit = std::chrono::seconds(20);

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// A pipe whose read end every placeholder inherits (at a staged number) and whose write end only cryo holds.
Result<std::pair<int, UniqueFd>> inherited_pipe(int min_fd) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return fail_errno("pipe2");
  int read_fd = ::fcntl(ends[0], F_DUPFD, min_fd);  // Without O_CLOEXEC: inherited.
  int err = errno;
  ::close(ends[0]);
  if (read_fd < 0) {
    ::close(ends[1]);
    return fail(errno_error("fcntl(F_DUPFD)", err));
  }
  return std::make_pair(read_fd, UniqueFd(ends[1]));
}

// The helper: single-threaded, forked from cryo. Never returns; reports through the channel.
[[noreturn]] void run_helper(PlaceholderContext ctx, const ClockOffsets& offsets) {
  auto failed = [&](const Error& e) {
    send_report(ctx.report_fd, ReportKind::Failed, 0, 0, e.message + (e.hint.empty() ? "" : "; " + e.hint));
    ::_exit(1);
  };
  // The helper still runs in cryo's own time namespace: absolute timers are moved by the difference
  // between the tree's clocks and the ones it sees.
  auto own = own_timens_offsets();
  if (!own) failed(own.error());
  auto staged = stage_fds(*ctx.images, staging_fd_base(*ctx.images), ctx.staged, offsets_minus(offsets, *own));
  if (!staged) failed(staged.error());
  ctx.staged = std::move(*staged);
  // The time namespace applies to the children of the process that unshares it: the init below.
  NamespaceInitRequest request;
  request.clocks = offsets;
  request.own_uts = ctx.images->namespaces.own_uts();
  // Empty, as the tree's was at the dump (a dump refuses a tree whose IPC namespace holds objects).
  request.own_ipc = ctx.images->namespaces.own_ipc();
  if (ctx.pid_method == PidMethod::Clone3) request.pid = 1;
  // CLONE_PARENT makes cryo the init's parent, so this helper can exit at once and cryo can wait for
  // the init; the kernel then takes the exit signal from the helper and wants 0 here.
  request.sibling_of_caller = true;
  request.exit_signal = 0;
  auto root = clone_namespace_init(request);
  if (!root) failed(root.error().context("create the init"));
  if (*root == 0) run_root_placeholder(ctx);
  send_report(ctx.report_fd, ReportKind::RootCreated, 0, static_cast<uint64_t>(*root), "");
  ::_exit(0);
}

}  // namespace

PlaceholderTree::PlaceholderTree(PlaceholderTree&& other) noexcept
    : images_(other.images_),
      ctx_(std::move(other.ctx_)),
      channel_(std::move(other.channel_)),
      root_(other.root_),
      root_reaped_(other.root_reaped_),
      host_pids_(std::move(other.host_pids_)),
      hold_write_(std::move(other.hold_write_)),
      zombie_write_(std::move(other.zombie_write_)),
      seed_board_(std::move(other.seed_board_)),
      objects_(std::move(other.objects_)),
      released_(other.released_),
      killed_(other.killed_) {
  other.released_ = true;
}

PlaceholderTree::~PlaceholderTree() {
  if (!released_) kill();
}

Result<PlaceholderTree> PlaceholderTree::create(const ImageSet& images, const TreePlan& plan, PidMethod method,
                                                const ClockOffsets& offsets) {
  int base = staging_fd_base(images);
  // Staged fds sit above every image fd number, and the helper holds one per shared memory object,
  // pipe, socket and shared open file of the whole tree at once: a tree that maps 20,000 pieces of
  // shared anonymous memory (stress-ng's mlock stressor) needs more than a usual hard limit. Every
  // restored process gets its own limits back from the image (state/process/rlimits).
  RETURN_IF_ERROR(image::check_open_files_for_restore(base, static_cast<uint64_t>(images.objects.objects_size()), "restore again"));
  PlaceholderTree tree;
  tree.images_ = &images;
  ASSIGN_OR_RETURN(tree.channel_, ReportChannel::create(base));
  ASSIGN_OR_RETURN(auto hold, inherited_pipe(base));
  ASSIGN_OR_RETURN(auto zombie, inherited_pipe(base));
  tree.hold_write_ = std::move(hold.second);
  tree.zombie_write_ = std::move(zombie.second);
  tree.ctx_.images = &images;
  tree.ctx_.plan = &plan;
  tree.ctx_.pid_method = method;
  tree.ctx_.report_fd = tree.channel_.sender_fd();
  tree.ctx_.hold_fd = hold.first;
  tree.ctx_.zombie_fd = zombie.first;
  ASSIGN_OR_RETURN(SeedBoard board, SeedBoard::create(images));
  tree.seed_board_ = std::make_unique<SeedBoard>(std::move(board));
  tree.ctx_.seed_board = tree.seed_board_.get();
  // Created by cryo, not the helper: cryo maps them into the tracees later by these fd numbers.
  ASSIGN_OR_RETURN(tree.objects_, create_memory_objects(images, base));
  for (const auto& [id, fd] : tree.objects_.by_id) tree.ctx_.staged.objects[id] = fd.get();
  for (const auto& [holder, fd] : tree.objects_.opened_by_name) tree.ctx_.staged.objects_opened_by_name[holder] = fd.get();

  pid_t helper = ::fork();
  if (helper == 0) {
    // cryo's ends are close-on-exec but there is no exec: close them so only cryo holds them.
    tree.hold_write_.reset();
    tree.zombie_write_.reset();
    tree.channel_.close_receiver();
    run_helper(tree.ctx_, offsets);
  }
  int fork_err = errno;
  ::close(hold.first);
  ::close(zombie.first);
  tree.channel_.close_sender();
  if (helper < 0) return fail(errno_error("fork", fork_err).context("start the restore helper"));
  auto collected = tree.collect_reports(helper);
  if (!collected) {
    tree.kill();
    return fail(collected.error());
  }
  return tree;
}

Result<> PlaceholderTree::collect_reports(pid_t helper) {
  auto log = logging::get("restore");
  size_t expected = images_->processes.size();
  size_t ready = 0;
  bool helper_done = false;
  auto last_progress = std::chrono::steady_clock::now();
  // The init runs as soon as the helper clones it: its Ready (and its children's) can arrive before
  // the helper's RootCreated, so both are waited for (a restore once returned an init PID of 0).
  while (ready < expected || root_ == 0) {
    ASSIGN_OR_RETURN(auto report, channel_.receive(std::chrono::milliseconds(200)));
    if (report) {
      last_progress = std::chrono::steady_clock::now();
      switch (report->kind) {
        case ReportKind::RootCreated:
          root_ = static_cast<pid_t>(report->value);
          log->debug("the tree's init is host pid {}", root_);
          RETURN_IF_ERROR(fault_point("restore:after-namespaces"));
          break;
        case ReportKind::Ready:
          if (!images_->find(report->ns_pid) || host_pids_.count(report->ns_pid))
            return fail("restore: unexpected ready report from pid " + std::to_string(report->ns_pid));
          host_pids_[report->ns_pid] = report->sender;
          ++ready;
          log->debug("placeholder of pid {} is ready as host pid {}", report->ns_pid, report->sender);
          break;
        case ReportKind::Failed:
          if (report->ns_pid == 0) return fail("restore: " + report->text);
          return fail("restore pid " + std::to_string(report->ns_pid) + ": " + report->text);
      }
      continue;
    }
    // Nothing queued: a process that died without a report is now a failure.
    int status = 0;
    if (!helper_done && ::waitpid(helper, &status, WNOHANG) == helper) {
      helper_done = true;
      if (root_ == 0) return fail("restore: the helper that creates the namespaces " + describe_status(status) + " without creating the init");
    }
    if (root_ != 0 && ::waitpid(root_, &status, WNOHANG) == root_) {
      root_reaped_ = true;
      return fail("restore pid 1: the init " + describe_status(status) + " while the tree was being created");
    }
    if (std::chrono::steady_clock::now() - last_progress > kQuietLimit)
      return fail("restore: timed out waiting for the placeholders (" + std::to_string(ready) + " of " + std::to_string(expected) + " ready)");
  }
  if (!helper_done) ::waitpid(helper, nullptr, 0);
  return {};
}

Result<> PlaceholderTree::let_zombies_exit() {
  zombie_write_.reset();
  for (const auto& process : images_->processes) {
    if (!process.zombie()) continue;
    pid_t pid = host_pids_.at(process.pid());
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto stat = read_file(path);
      // The state follows the comm in parentheses: "pid (comm) Z ...".
      if (stat && stat->rfind(')') != std::string::npos && stat->substr(stat->rfind(')') + 2, 1) == "Z") break;
      if (std::chrono::steady_clock::now() > deadline)
        return fail("restore pid " + std::to_string(process.pid()) + ": the zombie placeholder did not exit");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return {};
}

void PlaceholderTree::kill(const std::vector<pid_t>& traced_threads) {
  if (killed_) return;
  killed_ = true;
  if (root_ != 0 && !root_reaped_) ::kill(root_, SIGKILL);
  hold_write_.reset();
  zombie_write_.reset();
  // What cryo must reap: traced threads and placeholders, then the init (ptrace/reap.h says why all
  // at once). A task cryo does not trace or parent (ECHILD) is its parent's to reap.
  std::vector<pid_t> pending = traced_threads;
  for (const auto& [pid, host] : host_pids_)
    if (host != root_ && std::find(pending.begin(), pending.end(), host) == pending.end()) pending.push_back(host);
  if (root_ != 0 && !root_reaped_) pending.push_back(root_);
  pending = reap_killed(std::move(pending), std::chrono::seconds(10));
  root_reaped_ = true;
  if (!pending.empty())
    logging::get("restore")->warn("{} task(s) of the failed restore were still not reaped 10 s after SIGKILL", pending.size());
}

}  // namespace cryo::restore
