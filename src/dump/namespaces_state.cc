#include "dump/namespaces_state.h"

#include <sched.h>
#include <time.h>

#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/logging.h"
#include "dump/dump_target.h"
#include "ns/namespace_file.h"
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

Result<> refuse_unrestorable_namespaces(const std::map<std::string, uint64_t>& tree,
                                        const std::map<std::string, uint64_t>& ours) {
  for (const char* name : {"user", "net", "cgroup"}) {
    if (tree.at(name) == ours.at(name)) continue;
    return fail(make_error(std::string("the tree has its own ") + name + " namespace, which cryo cannot dump yet (restore could not rebuild it)")
                    .with_hint(std::string("start the tree in cryo's ") + name + " namespace (`cryo run` does)"));
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
  // /proc/sys/kernel/hostname shows the reader's UTS namespace.
  ASSIGN_OR_RETURN(std::string name, read_file_in_namespace_of(pid, "uts", CLONE_NEWUTS, "/proc/sys/kernel/hostname", 256));
  if (name.ends_with('\n')) name.pop_back();
  return name;
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
  // The SysV objects of an IPC namespace of its own are dumped with sysv.img (dump/sysv_ipc.h).
  if (!ns.own_ipc()) {
    // The host's SysV objects cannot be told apart by who uses them: a restore on another host, or
    // after they were removed, would not have them.
    logging::get("dump")->warn("the tree shares the host's IPC namespace: SysV semaphores and message queues it uses, and "
                               "POSIX message queues it holds no fd of, are not in the image (trees started with cryo run "
                               "have their own)");
  }
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
