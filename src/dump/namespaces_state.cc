#include "dump/namespaces_state.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/unique_fd.h"
#include "dump/dump_target.h"
#include "ns/time_namespace.h"

namespace cryo::dump {
namespace {

constexpr const char* kNamespaceNames[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                                           "time", "time_for_children", "user", "uts"};

}  // namespace

Result<std::map<std::string, uint64_t>> namespace_inodes(pid_t pid) {
  std::map<std::string, uint64_t> out;
  for (const char* name : kNamespaceNames) {
    ASSIGN_OR_RETURN(uint64_t inode, namespace_inode(pid, name));
    out[name] = inode;
  }
  return out;
}

Result<> check_same_namespaces(const std::map<std::string, uint64_t>& process,
                               const std::map<std::string, uint64_t>& init) {
  for (const auto& [name, inode] : process) {
    auto it = init.find(name);
    if (it != init.end() && it->second != inode)
      return fail(make_error("it is in a " + name + " namespace of its own (the init's is " + std::to_string(it->second) +
                             ", its own " + std::to_string(inode) + "), which cryo cannot dump yet"));
  }
  return {};
}

image::ClockReadings read_host_clocks(const ClockOffsets& own) {
  image::ClockReadings clocks;
  clocks.set_monotonic_ns(kernel_clock_ns(CLOCK_MONOTONIC, own));
  clocks.set_boottime_ns(kernel_clock_ns(CLOCK_BOOTTIME, own));
  clocks.set_realtime_ns(clock_now_ns(CLOCK_REALTIME));
  return clocks;
}

Result<std::string> read_hostname(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/uts";
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + path + ")");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd from_child(fds[0]), to_parent(fds[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork");
  if (child == 0) {
    // Only async-signal-safe calls between fork and _exit. The answer is the hostname, or an
    // errno byte prefixed by '!' when joining the namespace failed.
    char buf[HOST_NAME_MAX + 2] = {};
    if (::setns(ns.get(), CLONE_NEWUTS) != 0 || ::gethostname(buf + 1, HOST_NAME_MAX) != 0) {
      buf[0] = '!';
      buf[1] = static_cast<char>(errno);
      (void)!::write(to_parent.get(), buf, 2);
      ::_exit(1);
    }
    buf[0] = '=';
    (void)!::write(to_parent.get(), buf, 1 + __builtin_strlen(buf + 1));
    ::_exit(0);
  }
  to_parent.reset();
  std::string answer;
  char buf[HOST_NAME_MAX + 2];
  for (;;) {
    ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (answer.size() >= 2 && answer[0] == '!') return fail(errno_error("setns(" + path + ", CLONE_NEWUTS)", answer[1]));
  if (answer.empty() || answer[0] != '=') return fail("reading the hostname of pid " + std::to_string(pid) + " failed");
  return answer.substr(1);
}

Result<image::Namespaces> collect_namespaces(pid_t init, const image::ClockReadings& host_clocks) {
  image::Namespaces ns;
  ASSIGN_OR_RETURN(auto tree, namespace_inodes(init));
  ASSIGN_OR_RETURN(auto ours, namespace_inodes(0));
  auto own = [&](const char* name) { return tree.at(name) != ours.at(name); };
  ns.set_own_pid(own("pid"));
  ns.set_own_time(own("time"));
  ns.set_own_mount(own("mnt"));
  ns.set_own_uts(own("uts"));
  ns.set_own_ipc(own("ipc"));
  ns.set_own_net(own("net"));
  ns.set_own_user(own("user"));
  ns.set_own_cgroup(own("cgroup"));

  ASSIGN_OR_RETURN(ClockOffsets offsets, read_timens_offsets(init));
  // Seconds and nanoseconds as timens_offsets has them: nsec in [0, 1e9), so -1.5 s is -2 s + 0.5e9 ns.
  auto split = [](int64_t total, int64_t* sec, int64_t* nsec) {
    *sec = total / 1000000000;
    *nsec = total % 1000000000;
    if (*nsec < 0) {
      *nsec += 1000000000;
      *sec -= 1;
    }
  };
  int64_t sec, nsec;
  auto* o = ns.mutable_time_offsets();
  split(offsets.monotonic_ns, &sec, &nsec);
  o->set_monotonic_sec(sec);
  o->set_monotonic_nsec(nsec);
  split(offsets.boottime_ns, &sec, &nsec);
  o->set_boottime_sec(sec);
  o->set_boottime_nsec(nsec);
  *ns.mutable_host_clocks() = host_clocks;
  // What the tree saw at the same instant: the kernel adds the offsets to the host's clocks.
  auto* inside = ns.mutable_clocks_inside();
  inside->set_monotonic_ns(host_clocks.monotonic_ns() + offsets.monotonic_ns);
  inside->set_boottime_ns(host_clocks.boottime_ns() + offsets.boottime_ns);
  inside->set_realtime_ns(host_clocks.realtime_ns());
  if (ns.own_uts()) {
    ASSIGN_OR_RETURN(std::string hostname, read_hostname(init));
    ns.set_hostname(hostname);
  } else {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, HOST_NAME_MAX) != 0) return fail_errno("gethostname");
    ns.set_hostname(name);
  }
  return ns;
}

}  // namespace cryo::dump
