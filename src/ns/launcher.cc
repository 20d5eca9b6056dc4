#include "ns/launcher.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/logging.h"
#include "base/scope_guard.h"
#include "base/unique_fd.h"
#include "ns/launch_report.h"
#include "ns/namespace_init.h"
#include "ns/proc_mount.h"
#include "ns/time_namespace.h"

namespace cryo {
namespace {

using launch_report::InitFailure;
using launch_report::InitStep;

// Everything the init needs between clone and exec, prepared before the clone: the init neither logs
// nor allocates there (a raw clone3 runs none of glibc's fork handlers).
struct InitPlan {
  std::vector<char*> argv;  // Null-terminated, pointing into the LaunchSpec.
  const char* hostname = nullptr;
  size_t hostname_size = 0;
  bool detach = false;
  int stdin_fd = -1;   // Detached only.
  int output_fd = -1;  // Detached only: stdout and stderr.
  const sigset_t* signal_mask = nullptr;
  int go_fd = -1;           // cryo -> init: one byte when cryo is ready (detached); closes when cryo dies.
  int cryo_go_fd = -1;      // Attached: cryo's end of the go socket, whose copy the init closes.
  int failure_fd = -1;      // init -> cryo: the failed step, or end-of-file on exec.
  int report_fd = -1;       // intermediate -> cryo: the init's PID or an error (detached).
};

[[noreturn]] void init_failed(const InitPlan& plan, InitStep step, int err) {
  launch_report::write_init_failure(plan.failure_fd, step, err);
  ::_exit(127);
}

// Runs as PID 1 of the new namespaces and ends in the workload (or _exit).
[[noreturn]] void become_init(const InitPlan& plan) {
  if (plan.detach) {
    // cryo reads the intermediate's report until end-of-file; this copy must not hold it open.
    ::close(plan.report_fd);
    char go = 0;
    ssize_t got;
    do {
      got = ::read(plan.go_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) ::_exit(1);  // cryo gave up on this launch, or died: nobody is waiting for us.
  } else {
    // Attached, cryo created us itself and the tree must not outlive it. If cryo died before the
    // prctl, no signal will come: the socket says so once this copy of cryo's end is closed.
    ::close(plan.cryo_go_fd);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) init_failed(plan, InitStep::kParentDeathSignal, errno);
    pollfd peer{plan.go_fd, POLLIN, 0};
    if (::poll(&peer, 1, 0) > 0 && (peer.revents & POLLHUP)) ::_exit(1);
  }
  auto proc = mount_private_proc();
  if (!proc) init_failed(plan, InitStep::kMountProc, proc.error().err);
  if (plan.hostname && ::sethostname(plan.hostname, plan.hostname_size) != 0)
    init_failed(plan, InitStep::kSetHostname, errno);
  if (plan.detach) {
    // Its own session: no controlling terminal, no SIGHUP when the caller's terminal goes away.
    if (::setsid() < 0) init_failed(plan, InitStep::kNewSession, errno);
    if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.output_fd, 1) < 0 || ::dup2(plan.output_fd, 2) < 0)
      init_failed(plan, InitStep::kRedirectStdio, errno);
    // A detached tree keeps none of the caller's descriptors: one end of a pipe held by it would keep
    // e.g. `pid=$(cryo run --detach ...)` waiting forever. The failure pipe stays open until exec.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  }
  if (plan.signal_mask && ::sigprocmask(SIG_SETMASK, plan.signal_mask, nullptr) != 0)
    init_failed(plan, InitStep::kSignalMask, errno);
  ::execvp(plan.argv[0], plan.argv.data());
  init_failed(plan, InitStep::kExec, errno);
}

// A forked copy of cryo that enters nothing itself: unshare(CLONE_NEWTIME) only changes the time
// namespace of the caller's future children, and doing it here keeps cryo's own in the host's.
// It creates the init (the first and only process to enter the new time namespace, which freezes
// the offsets) and exits, so that the init is adopted by cryo (attached) or by the host's init.
Error with_root_hint(Error error) {
  if (error.err == EPERM && error.hint.empty()) return error.with_hint("run cryo as root (it needs CAP_SYS_ADMIN)");
  return error;
}

[[noreturn]] void run_intermediate(const NamespaceInitRequest& request, const InitPlan& plan) {
  auto init = clone_namespace_init(request);
  if (!init) {
    (void)launch_report::write_error(plan.report_fd, with_root_hint(init.error()));
    ::_exit(1);
  }
  if (*init == 0) become_init(plan);
  (void)launch_report::write_init_pid(plan.report_fd, *init);
  ::_exit(0);
}

Error init_failure_error(const InitFailure& failure, const std::string& command) {
  if (failure.step != InitStep::kExec)
    return errno_error(launch_report::init_step_name(failure.step), failure.err).context("namespace init");
  Error error = make_error("cannot execute '" + command + "': " + std::strerror(failure.err));
  error.err = failure.err;
  // Exit statuses as a shell gives them: 127 when there is no such command, 126 when it cannot run.
  if (failure.err == ENOENT) return error.with_exit_status(127).with_hint("check the path, or that the command is on PATH");
  if (failure.err == EACCES) return error.with_exit_status(126).with_hint("check that it is an executable file (chmod +x)");
  return error.with_exit_status(126);
}

Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode = 0) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno("open(" + path + ")");
  return UniqueFd(fd);
}

struct Channel {
  UniqueFd read;  // cryo's end for the pipes; the init's end for the go socket.
  UniqueFd write;
};

Result<Channel> make_pipe(const std::string& what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error("pipe2").context(what));
  return Channel{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Attached: cryo creates the init itself, as unshare(1) does. Its own time namespace for children
// changes with it, which no later child of `cryo run` minds (it has none), and the init is its
// child from the start: no intermediate to wait for, no go byte, and the init's PID is cryo's to
// reap, so it names the init until then.
Result<pid_t> launch_attached(const std::string& command, const NamespaceInitRequest& request, InitPlan& plan,
                              Channel& failure, Channel& go) {
  plan.cryo_go_fd = go.write.get();
  auto init = clone_namespace_init(request);
  if (!init) return fail(with_root_hint(init.error()));
  if (*init == 0) become_init(plan);
  pid_t pid = *init;
  failure.write.reset();
  go.read.reset();
  auto init_failure = launch_report::read_init_failure(failure.read.get());
  if (!init_failure || *init_failure) {
    // An init that reported a failure exits by itself; one that did not report is killed.
    if (!init_failure) ::kill(pid, SIGKILL);
    reap(pid);
    if (!init_failure) return fail(init_failure.error());
    return fail(init_failure_error(**init_failure, command));
  }
  logging::get("ns")->info("started '{}' as pid 1 of new namespaces, host pid {}", command, pid);
  return pid;
}

}  // namespace

Result<pid_t> launch(const LaunchSpec& spec) {
  auto log = logging::get("ns");
  if (spec.argv.empty()) return fail("no command to run");

  InitPlan plan;
  for (const auto& arg : spec.argv) plan.argv.push_back(const_cast<char*>(arg.c_str()));
  plan.argv.push_back(nullptr);
  if (spec.hostname) {
    plan.hostname = spec.hostname->c_str();
    plan.hostname_size = spec.hostname->size();
  }
  plan.detach = spec.detach;
  if (spec.workload_signal_mask) plan.signal_mask = &*spec.workload_signal_mask;

  UniqueFd stdin_fd, output_fd;
  if (spec.detach) {
    ASSIGN_OR_RETURN(stdin_fd, open_fd("/dev/null", O_RDONLY));
    if (spec.log_path.empty()) {
      ASSIGN_OR_RETURN(output_fd, open_fd("/dev/null", O_WRONLY));
    } else {
      ASSIGN_OR_RETURN(output_fd, open_fd(spec.log_path, O_WRONLY | O_CREAT | O_APPEND, 0600));
    }
    plan.stdin_fd = stdin_fd.get();
    plan.output_fd = output_fd.get();
  }

  ASSIGN_OR_RETURN(Channel report, make_pipe("launcher report pipe"));
  ASSIGN_OR_RETURN(Channel failure, make_pipe("init failure pipe"));
  // A socket rather than a pipe: cryo's write must not raise SIGPIPE when the init is already gone,
  // and the init polls it for the hang-up that says cryo died.
  int go_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go_pair) != 0) return fail_errno("socketpair(AF_UNIX)");
  Channel go{UniqueFd(go_pair[0]), UniqueFd(go_pair[1])};
  plan.report_fd = report.write.get();
  plan.failure_fd = failure.write.get();
  plan.go_fd = go.read.get();

  // Without a request every offset is zero, whatever cryo's own namespace: no need to read it.
  ClockOffsets offsets;
  if (spec.clocks.uptime_ns || spec.clocks.boottime_offset_ns || spec.clocks.monotonic_offset_ns) {
    ASSIGN_OR_RETURN(ClockOffsets own, own_timens_offsets());
    offsets = resolve_clock_offsets(spec.clocks, kernel_clock_ns(CLOCK_BOOTTIME, own),
                                    kernel_clock_ns(CLOCK_MONOTONIC, own), own);
  }
  log->debug("time namespace offsets: monotonic {} ns, boottime {} ns", offsets.monotonic_ns, offsets.boottime_ns);
  NamespaceInitRequest request;
  request.clocks = offsets;
  // An IPC namespace of its own: the tree's SysV objects and POSIX message queues are then its own,
  // so a dump can tell what the tree holds (and refuses what it cannot dump) instead of sharing the host's.
  request.own_ipc = true;
  request.own_uts = spec.hostname.has_value();
  if (!spec.detach) return launch_attached(spec.argv[0], request, plan, failure, go);

  pid_t helper = ::fork();
  if (helper < 0) return fail_errno("fork");
  if (helper == 0) run_intermediate(request, plan);
  report.write.reset();
  failure.write.reset();
  go.read.reset();

  auto init_pid = launch_report::read_init_pid(report.read.get(), "launcher helper");
  reap(helper);
  if (!init_pid) return fail(init_pid.error());
  pid_t pid = *init_pid;
  log->debug("namespace init is host pid {}", pid);

  // The init is blocked until the go byte, so it is alive here and a pidfd names it for sure.
  // (Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++ callers.)
  UniqueFd init_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!init_fd.valid()) return fail_errno("pidfd_open(" + std::to_string(pid) + ")");
  bool init_reported = false;
  ScopeGuard stop_init([&] {
    // A launch that fails after this point leaves nothing running. An init that reported a failure
    // exits by itself.
    if (!init_reported) ::syscall(SYS_pidfd_send_signal, init_fd.get(), SIGKILL, nullptr, 0);
  });

  const char go_byte = 'g';
  if (::send(go.write.get(), &go_byte, 1, MSG_NOSIGNAL) != 1) return fail_errno("send(go) to namespace init");
  auto init_failure = launch_report::read_init_failure(failure.read.get());
  if (!init_failure) return fail(init_failure.error());
  if (*init_failure) {
    init_reported = true;
    return fail(init_failure_error(**init_failure, spec.argv[0]));
  }
  stop_init.dismiss();
  log->info("started '{}' as pid 1 of new namespaces, host pid {}", spec.argv[0], pid);
  return pid;
}

}  // namespace cryo
