#include "restore/placeholder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "base/file_util.h"
#include "kernel/kernel_abi.h"
#include "ns/clone3.h"
#include "ns/proc_mount.h"
#include "restore/fd_status.h"
#include "restore/memory_objects.h"
#include "restore/memory_seeding.h"
#include "restore/posix_mqueues.h"
#include "restore/report_channel.h"
#include "state/files/fd_kinds.h"

namespace cryo::restore {
namespace {

// Placeholders never log: their fds are being rearranged and a log write could land in a workload's
// file. Failures travel to cryo as a report instead.
[[noreturn]] void die(const PlaceholderContext& ctx, uint32_t pid, const Error& error) {
  send_report(ctx.report_fd, ReportKind::Failed, pid, 0, error.message);
  ::_exit(1);
}

// setsid comes first, before any helper is forked: the helpers of groups in this process's session
// must be in it. setpgid comes after the helpers: it may join the group one of them just made.
Result<> enter_session(const ProcessPlan& plan) {
  if (plan.session == SessionAction::NewSession && ::setsid() < 0) return fail_errno("setsid");
  return {};
}

Result<> enter_group(const ProcessPlan& plan) {
  switch (plan.session) {
    case SessionAction::Inherit:
    case SessionAction::NewSession: return {};
    case SessionAction::NewGroup:
      if (::setpgid(0, 0) != 0) return fail_errno("setpgid(0, 0)");
      return {};
    case SessionAction::JoinGroup:
      if (::setpgid(0, static_cast<pid_t>(plan.join_pgid)) != 0) return fail_errno("setpgid(0, " + std::to_string(plan.join_pgid) + ")");
      return {};
  }
  return {};
}

// The memory plan of the placeholder that forked this one (memory_seeding.h), inherited by fork
// with the memory it describes. A helper forks with none: it keeps no memory of the image.
const PreparedMemory* forker_memory = nullptr;
int forker_index = -1;

using NodeMain = void (*)(const PlaceholderContext& ctx, size_t index, int done_fd);
[[noreturn]] void run_placeholder(const PlaceholderContext& ctx, size_t index, int done_fd);
[[noreturn]] void run_helper(const PlaceholderContext& ctx, size_t index, int done_fd);

// Forks a process with PID `want` that runs `main` and waits until it says its whole subtree
// exists, so that only one process forks at a time (which ns_last_pid needs) and everything earlier
// in the creation order exists when a process joins a group.
Result<pid_t> fork_node(const PlaceholderContext& ctx, pid_t want, int exit_signal, NodeMain main, size_t index) {
  int done[2];
  if (::pipe(done) != 0) return fail_errno("pipe");
  Result<pid_t> got = 0;
  if (ctx.pid_method == PidMethod::Clone3) {
    got = clone3_with_pid(want, exit_signal);
  } else {
    // The write applies to the writer's own PID namespace, which is the tree's (docs/design.md).
    auto written = write_existing_file("/proc/sys/kernel/ns_last_pid", std::to_string(want - 1));
    if (!written) {
      ::close(done[0]);
      ::close(done[1]);
      return fail(written.error().context("pid " + std::to_string(want)));
    }
    got = clone3_fork(0, {}, exit_signal);
    if (*got < 0) got = fail_errno("fork");
  }
  if (got && *got == 0) {
    ::close(done[0]);
    main(ctx, index, done[1]);
  }
  ::close(done[1]);
  UniqueFd done_read(done[0]);
  if (!got) return fail(got.error().context("create pid " + std::to_string(want)));
  if (*got != want) {
    ::kill(*got, SIGKILL);
    return fail("create pid " + std::to_string(want) + ": fork after writing ns_last_pid gave pid " + std::to_string(*got) +
                " (PID " + std::to_string(want) + " is in use, or another process forked in between)");
  }
  char byte = 0;
  ssize_t n;
  while ((n = ::read(done_read.get(), &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) return fail("pid " + std::to_string(want) + " failed while creating its subtree");
  return *got;
}

Result<> create_child(const PlaceholderContext& ctx, size_t index) {
  const ProcessImage& child = ctx.images->processes[index];
  int exit_signal = child.zombie() || child.core.exit_signal() == 0 ? SIGCHLD : static_cast<int>(child.core.exit_signal());
  RETURN_IF_ERROR(fork_node(ctx, static_cast<pid_t>(child.pid()), exit_signal, run_placeholder, index));
  return {};
}

Result<pid_t> create_helper(const PlaceholderContext& ctx, size_t index) {
  return fork_node(ctx, static_cast<pid_t>(ctx.plan->helpers[index].pid), SIGCHLD, run_helper, index);
}

// A helper has exited once its work is done; reaping it frees its PID before the tree runs, and
// its children (those the init must adopt) are the init's from its exit on.
Result<> reap_helper(pid_t helper) {
  int status = 0;
  pid_t got;
  while ((got = ::waitpid(helper, &status, 0)) < 0 && errno == EINTR) {
  }
  if (got != helper) return fail_errno("waitpid(helper " + std::to_string(helper) + ")");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("helper pid " + std::to_string(helper) + " ended with status " + std::to_string(status));
  return {};
}

Result<> create_helpers(const PlaceholderContext& ctx, const std::vector<size_t>& helpers, std::vector<pid_t>* made) {
  for (size_t h : helpers) {
    ASSIGN_OR_RETURN(pid_t pid, create_helper(ctx, h));
    made->push_back(pid);
  }
  return {};
}

Result<> reap_helpers(const std::vector<pid_t>& made) {
  for (pid_t pid : made) RETURN_IF_ERROR(reap_helper(pid));
  return {};
}

// A helper stands in for a session or group leader that had exited: it makes the session or group,
// forks the helpers of the groups in its session and the processes the init adopted, then exits.
[[noreturn]] void run_helper(const PlaceholderContext& ctx, size_t index, int done_fd) {
  const HelperPlan& plan = ctx.plan->helpers[index];
  forker_memory = nullptr;
  forker_index = -1;
  auto failed = [&](const Error& e) {
    std::string role = plan.session == SessionAction::NewSession ? "session " : "process group ";
    send_report(ctx.report_fd, ReportKind::Failed, 0, 0, "helper for " + role + std::to_string(plan.pid) + ": " + e.message);
    ::_exit(1);
  };
  if (plan.session == SessionAction::NewSession ? ::setsid() < 0 : ::setpgid(0, 0) != 0)
    failed(errno_error(plan.session == SessionAction::NewSession ? "setsid" : "setpgid(0, 0)"));
  std::vector<pid_t> made;
  if (auto r = create_helpers(ctx, plan.helpers, &made); !r) failed(r.error());
  if (auto r = reap_helpers(made); !r) failed(r.error());
  for (size_t child : plan.children)
    if (auto r = create_child(ctx, child); !r) failed(r.error());
  char byte = 1;
  (void)!::write(done_fd, &byte, 1);
  ::_exit(0);
}

// Puts `opened` at fd.fd() with the image's close-on-exec flag.
Result<> place_fd(int opened, const image::Fd& fd, const std::string& what) {
  if (opened != fd.fd()) {
    if (::dup2(opened, fd.fd()) < 0) {
      Error e = errno_error("dup2").context(what);
      ::close(opened);
      return fail(e);
    }
    ::close(opened);
  }
  if (::fcntl(fd.fd(), F_SETFD, fd.cloexec() ? FD_CLOEXEC : 0) != 0) return fail(errno_error("fcntl(F_SETFD)").context(what));
  return {};
}

// Puts the fd at its number, then gives it its status flags there (fd_status.h).
Result<> place_fd_with_status(int opened, const image::Fd& fd, const std::string& what) {
  RETURN_IF_ERROR(place_fd(opened, fd, what));
  RETURN_IF_ERROR_CTX(set_fd_status(fd), what);
  return {};
}

// What an fd is, for its messages: its path, the /proc file or namespace it names, or its kind.
std::string shown_fd(const image::Fd& fd) {
  if (fd.kind() == image::FD_PROC_FILE) return "/proc" + (fd.proc_path().empty() ? "" : "/" + fd.proc_path());
  if (fd.kind() == image::FD_NAMESPACE) return fd.namespace_file().type() + " namespace";
  return fd.path().empty() ? image::FdKind_Name(fd.kind()) : fd.path();
}

// For the kinds a process opens itself by their install step (FdSharing::WithinProcess: a pidfd,
// a /proc or namespace file): the number of an earlier fd of the process that holds the
// open file of `fd`, or -1.
int installed_before(const ProcessImage& process, const image::Fd& fd) {
  const state::FdKindOps* ops = state::find_fd_kind(fd.kind());
  if (!ops || ops->sharing != state::FdSharing::WithinProcess || !ops->install) return -1;
  return state::earlier_fd_of_open_file(process, fd);
}

Result<> open_image_fd(const PlaceholderContext& ctx, const ProcessImage& process, const image::Fd& fd) {
  std::string what = "fd " + std::to_string(fd.fd());
  int opened = -1;
  if (fd.kind() == image::FD_PIPE) {
    what += " (pipe)";
    // Status flags (O_NONBLOCK ...) live in the open file, shared by every fd that shares it.
    opened = ::fcntl(ctx.staged.pipe_files.at({process.pid(), fd.fd()}), F_DUPFD, 0);
    if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
  } else if (fd.kind() == image::FD_UNIX_SOCKET || fd.kind() == image::FD_TCP_LISTENER || fd.kind() == image::FD_NETLINK_SOCKET) {
    bool tcp = fd.kind() == image::FD_TCP_LISTENER;
    bool netlink = fd.kind() == image::FD_NETLINK_SOCKET;
    what += tcp ? " (TCP listener)" : netlink ? " (netlink socket)" : " (unix socket)";
    uint64_t id = tcp ? fd.tcp_listener().socket_id() : netlink ? fd.netlink_socket().socket_id() : fd.unix_socket().socket_id();
    opened = ::fcntl(ctx.staged.sockets.at(id), F_DUPFD, 0);
    if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
  } else if (auto shared = ctx.staged.files.find(fd.open_file_id()); fd.open_file_id() != 0 && shared != ctx.staged.files.end()) {
    // Opened once by the helper with its flags and position; every holder gets a copy.
    what += " (" + fd.path() + ")";
    opened = ::fcntl(shared->second, F_DUPFD, 0);
    if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
  } else if (int first = installed_before(process, fd); first >= 0) {
    what += " (" + image::FdKind_Name(fd.kind()) + ", shared with fd " + std::to_string(first) + ")";
    opened = ::fcntl(first, F_DUPFD, 0);
    if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
  } else {
    what += " (" + shown_fd(fd) + ")";
    // The placeholder is inside the tree's time namespace: its clocks are the tree's. A /proc or
    // namespace file is opened in the tree's /proc, or shared with another process
    // (state/files/proc_file.h).
    ASSIGN_OR_RETURN_CTX(opened, open_like(fd, state::FdInstall{.images = ctx.images, .process = &process, .staged = &ctx.staged}), what);
  }
  return place_fd_with_status(opened, fd, what);
}

// The kinds with a finish step (an epoll set, whose watches name the other fds) come after every
// other fd of the process: first every such fd (a set may watch another), then their finish steps,
// once per open file. Fds that share one open file get copies: of the helper's (staged) one when it
// is shared, else of the first fd that made it here.
bool is_finished_last(const image::Fd& fd) {
  const state::FdKindOps* ops = state::find_fd_kind(fd.kind());
  return ops && ops->finish;
}

Result<> open_finished_fds(const PlaceholderContext& ctx, const ProcessImage& process) {
  std::map<uint64_t, int> made;  // open_file_id -> the fd that holds it.
  for (const auto& fd : process.files.fds()) {
    if (!is_finished_last(fd)) continue;
    const state::FdKindOps& ops = *state::find_fd_kind(fd.kind());
    std::string what = "fd " + std::to_string(fd.fd()) + " (" + std::string(ops.name) + ")";
    int opened = -1;
    if (auto staged = ctx.staged.files.find(fd.open_file_id()); fd.open_file_id() != 0 && staged != ctx.staged.files.end()) {
      opened = ::fcntl(staged->second, F_DUPFD, 0);
      if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
    } else if (auto first = made.find(fd.open_file_id()); fd.open_file_id() != 0 && first != made.end()) {
      opened = ::fcntl(first->second, F_DUPFD, 0);
      if (opened < 0) return fail(errno_error("fcntl(F_DUPFD)").context(what));
    } else {
      ASSIGN_OR_RETURN_CTX(opened, state::create_fd(ops, fd, state::FdInstall{.process = &process}), what);
      if (fd.open_file_id() != 0) made[fd.open_file_id()] = fd.fd();
    }
    RETURN_IF_ERROR(place_fd_with_status(opened, fd, what));
  }
  std::set<uint64_t> finished;
  for (const auto& fd : process.files.fds()) {
    if (!is_finished_last(fd)) continue;
    if (fd.open_file_id() != 0 && !finished.insert(fd.open_file_id()).second) continue;
    const state::FdKindOps& ops = *state::find_fd_kind(fd.kind());
    RETURN_IF_ERROR_CTX(ops.finish(fd), "fd " + std::to_string(fd.fd()) + " (" + std::string(ops.name) + ")");
  }
  return {};
}

// Closes every fd but `keep` (cryo's inherited fds, staged pipe ends nobody here needs, ...).
void close_all_but(const std::set<int>& keep) {
  unsigned next = 0;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(next, ~0u, 0);
}

// rt_sigaction(2) directly, with the kernel's struct: glibc's sigaction() refuses its two internal
// real-time signals, and every signal must be reset.
Result<> reset_signal_dispositions() {
  kernel_abi::Sigaction dfl{};
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8) != 0) return fail_errno("rt_sigaction(" + std::to_string(sig) + ", SIG_DFL)");
  }
  return {};
}

// Everything a live placeholder can do for itself before it is seized.
Result<> prepare_self(const PlaceholderContext& ctx, const ProcessImage& process) {
  for (const auto& fd : process.files.fds())
    if (!is_finished_last(fd)) RETURN_IF_ERROR(open_image_fd(ctx, process, fd));
  RETURN_IF_ERROR(open_finished_fds(ctx, process));
  std::set<int> keep{ctx.report_fd, ctx.hold_fd};
  for (const auto& fd : process.files.fds()) keep.insert(fd.fd());
  // The memory objects this process maps stay open until cryo has mapped them (restore_memory).
  for (uint64_t id : objects_mapped_by(process)) keep.insert(ctx.staged.objects.at(id));
  close_all_but(keep);
  // chroot comes later, injected after the last file was opened by its host path.
  if (::chdir(process.files.cwd().c_str()) != 0) return fail(errno_error("chdir(" + process.files.cwd() + ")"));
  ::umask(static_cast<mode_t>(process.core.umask()));
  if (::prctl(PR_SET_NAME, process.core.comm().c_str(), 0, 0, 0) != 0) return fail(errno_error("prctl(PR_SET_NAME)"));
  return reset_signal_dispositions();
}

// A zombie is recreated by a placeholder that exits the way the process did, once the whole tree
// exists (its parent must not have been seized yet: it must not see the SIGCHLD with a handler).
[[noreturn]] void become_zombie(const PlaceholderContext& ctx, const ProcessImage& process) {
  close_all_but({ctx.report_fd, ctx.zombie_fd});
  send_report(ctx.report_fd, ReportKind::Ready, process.pid(), 1, "");
  char byte;
  while (::read(ctx.zombie_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  int status = process.entry.exit_code();
  if (WIFSIGNALED(status)) {
    // Die by the same signal, without writing a core file.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::signal(WTERMSIG(status), SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, WTERMSIG(status));
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), WTERMSIG(status));
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 0);
}

[[noreturn]] void run_placeholder(const PlaceholderContext& ctx, size_t index, int done_fd) {
  const ProcessImage& process = ctx.images->processes[index];
  const ProcessPlan& plan = ctx.plan->processes[index];
  uint32_t pid = process.pid();
  if (auto r = enter_session(plan); !r) die(ctx, pid, r.error().context("session"));
  std::vector<pid_t> helpers;
  if (auto r = create_helpers(ctx, plan.helpers, &helpers); !r) die(ctx, pid, r.error());
  if (auto r = enter_group(plan); !r) die(ctx, pid, r.error().context("process group"));
  if (auto r = reap_helpers(helpers); !r) die(ctx, pid, r.error());
  // Before the children: what they share with this process must be in place when they are forked.
  auto seeded = seed_shared_memory(ctx, index, forker_index, forker_memory);
  if (!seeded) die(ctx, pid, seeded.error());
  PreparedMemory memory = std::move(*seeded);
  forker_memory = &memory;
  forker_index = static_cast<int>(index);
  for (size_t child : plan.children)
    if (auto r = create_child(ctx, child); !r) die(ctx, pid, r.error());
  if (done_fd >= 0) {
    char byte = 1;
    (void)!::write(done_fd, &byte, 1);
    ::close(done_fd);
  }
  if (process.zombie()) become_zombie(ctx, process);
  if (auto r = prepare_self(ctx, process); !r) die(ctx, pid, r.error());
  send_report(ctx.report_fd, ReportKind::Ready, pid, 0, "");
  // Cryo seizes the placeholder here. A read that ends means cryo is gone: nobody will restore us.
  char byte;
  while (::read(ctx.hold_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  ::_exit(1);
}

}  // namespace

void run_root_placeholder(const PlaceholderContext& ctx) {
  // Cryo is the init's parent (CLONE_PARENT). If cryo dies before the restore is done, the init and
  // with it the whole namespace go too; the image's own setting is injected at the end.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (auto r = mount_private_proc(); !r) die(ctx, 1, r.error().context("mount /proc"));
  const auto& ns = ctx.images->namespaces;
  if (ns.own_uts() && ::sethostname(ns.hostname().data(), ns.hostname().size()) != 0)
    die(ctx, 1, errno_error("sethostname(" + ns.hostname() + ")"));
  // The tree's POSIX message queues exist only in its new IPC namespace: made here, before any child
  // (whose fds may name them), with the open files several fds share at numbers every child inherits.
  PlaceholderContext own = ctx;
  int dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (auto r = create_posix_mqueues(ctx.images->sysv); !r) die(ctx, 1, r.error());
  // Each queue is made as its owner, and the kernel clears the parent-death signal and resets
  // dumpable on every change of effective ids: both are set again.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || (dumpable >= 0 && ::prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0) != 0))
    die(ctx, 1, errno_error("prctl(PR_SET_PDEATHSIG, PR_SET_DUMPABLE)"));
  if (auto r = stage_shared_mqueue_files(*ctx.images, staging_fd_base(*ctx.images), own.staged.files); !r) die(ctx, 1, r.error());
  run_placeholder(own, 0, -1);
}

}  // namespace cryo::restore
