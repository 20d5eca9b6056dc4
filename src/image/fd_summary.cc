// cryo show --fds: every process's fds with their kind and what each one is open on.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <map>

#include "base/display_text.h"
#include "base/text_table.h"
#include "image/summary_renderers.h"
#include "kernel/netlink_protocols.h"

namespace cryo::image {
namespace {

// Epoll and inotify watches named in one target, before "and N more".
constexpr int kMaxListedWatches = 8;

struct Lookups {
  std::map<uint64_t, const PipeEntry*> pipes;
  std::map<uint64_t, const MemoryObject*> objects;
};

std::string kind_name(FdKind kind) {
  switch (kind) {
    case FD_REGULAR: return "file";
    case FD_DIRECTORY: return "directory";
    case FD_CHARDEV: return "chardev";
    case FD_PIPE: return "pipe";
    case FD_EVENTFD: return "eventfd";
    case FD_TIMERFD: return "timerfd";
    case FD_SIGNALFD: return "signalfd";
    case FD_EPOLL: return "epoll";
    case FD_UNIX_SOCKET: return "unix";
    case FD_TCP_LISTENER: return "tcp";
    case FD_NETLINK_SOCKET: return "netlink";
    case FD_PIDFD: return "pidfd";
    case FD_INOTIFY: return "inotify";
    case FD_NAMESPACE: return "namespace";
    case FD_FANOTIFY: return "fanotify";
    case FD_POSIX_MQUEUE: return "mqueue";
    case FD_MEMFD: return "memfd";
    case FD_DELETED_FILE: return "deleted";
    default: return "kind " + std::to_string(static_cast<int>(kind));
  }
}

std::string access_mode(uint32_t flags) {
  if (flags & O_PATH) return "path";
  switch (flags & O_ACCMODE) {
    case O_RDONLY: return "r";
    case O_WRONLY: return "w";
    case O_RDWR: return "rw";
    default: return "?";
  }
}

// fdinfo shows the kernel's flags, and the kernel sets O_LARGEFILE on every 64-bit open; glibc
// defines O_LARGEFILE as 0 on x86_64, so the kernel's bit is spelled out.
constexpr uint32_t kKernelLargefile = 0100000;

std::vector<std::string> flag_names(const Fd& fd) {
  static constexpr std::pair<uint32_t, const char*> kFlags[] = {
      {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_ASYNC, "O_ASYNC"}, {O_DIRECT, "O_DIRECT"},
      {O_NOATIME, "O_NOATIME"}, {O_SYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"}, {kKernelLargefile, "O_LARGEFILE"}};
  std::vector<std::string> names;
  uint32_t flags = fd.flags();
  for (const auto& [bit, name] : kFlags) {
    // O_SYNC includes O_DSYNC's bit.
    if (bit == O_DSYNC && (flags & O_SYNC) == O_SYNC) continue;
    if ((flags & bit) == bit) names.push_back(name);
  }
  if (fd.cloexec()) names.push_back("O_CLOEXEC");
  return names;
}

std::string clock_name(int32_t clock) {
  switch (clock) {
    case 0: return "realtime";
    case 1: return "monotonic";
    case 7: return "boottime";
    case 8: return "realtime-alarm";
    case 9: return "boottime-alarm";
    default: return "clock " + std::to_string(clock);
  }
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string tcp_address(const TcpListenerState& tcp) {
  const std::string& raw = tcp.address();
  char text[INET6_ADDRSTRLEN] = "?";
  if (tcp.family() == AF_INET && raw.size() >= sizeof(sockaddr_in)) {
    sockaddr_in in;
    std::memcpy(&in, raw.data(), sizeof in);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (tcp.family() == AF_INET6 && raw.size() >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, raw.data(), sizeof in6);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return "family " + std::to_string(tcp.family()) + ", " + std::to_string(raw.size()) + "-byte address";
}

// "NETLINK_ROUTE socket:[123] port 456, groups 1,3, connected to port 0".
std::string netlink_target(const NetlinkSocketState& netlink) {
  const NetlinkProtocol* protocol = find_netlink_protocol(netlink.protocol());
  std::string out = (protocol ? std::string(protocol->name) : "protocol " + std::to_string(netlink.protocol())) + " socket:[" +
                    std::to_string(netlink.socket_id()) + "]";
  out += netlink.portid() ? " port " + std::to_string(netlink.portid()) : " unbound";
  for (int i = 0; i < netlink.groups_size() && i < 8; ++i) out += std::string(i ? "," : ", groups ") + std::to_string(netlink.groups(i));
  if (netlink.groups_size() > 8) out += ",...";
  if (netlink.connected())
    out += ", connected to port " + std::to_string(netlink.dst_portid()) + (netlink.dst_group() ? " group " + std::to_string(netlink.dst_group()) : "");
  return out;
}

std::string unix_target(const UnixSocketState& unix) {
  std::string type = unix.type() == SOCK_STREAM ? "stream" : unix.type() == SOCK_DGRAM ? "dgram"
                     : unix.type() == SOCK_SEQPACKET ? "seqpacket" : "type " + std::to_string(unix.type());
  std::string out = type + " socket:[" + std::to_string(unix.socket_id()) + "]";
  if (!unix.name().empty() || unix.abstract()) out += " " + (unix.abstract() ? "@" : std::string()) + terminal_safe(unix.name());
  if (unix.listening()) out += " listening (backlog " + std::to_string(unix.backlog()) + ")";
  if (unix.peer_id() != 0) out += " peer socket:[" + std::to_string(unix.peer_id()) + "]";
  if (unix.peer_closed()) out += " peer closed";
  uint64_t queued = 0;
  for (const auto& packet : unix.queue()) queued += packet.size();
  if (queued) out += ", " + std::to_string(queued) + " bytes queued";
  return out;
}

std::string object_target(const Fd& fd, const Lookups& lookups) {
  auto found = lookups.objects.find(fd.object_id());
  if (found == lookups.objects.end()) return "object " + std::to_string(fd.object_id()) + " (not in objects.img)";
  const MemoryObject& object = *found->second;
  std::string size = std::to_string(object.size()) + " bytes";
  if (fd.kind() == FD_MEMFD) return "memfd:" + terminal_safe(object.name()) + " (" + size + ")";
  return terminal_safe(object.name()) + " (deleted, " + size + ")";
}

std::string target_of(const Fd& fd, const Lookups& lookups) {
  switch (fd.kind()) {
    case FD_REGULAR:
      return terminal_safe(fd.path()) + " (pos " + std::to_string(fd.pos()) + ")";
    case FD_DIRECTORY:
    case FD_CHARDEV:
      return terminal_safe(fd.path());
    case FD_PIPE: {
      std::string out = "pipe:[" + std::to_string(fd.pipe_id()) + "] " + (fd.pipe_write_end() ? "write end" : "read end");
      auto pipe = lookups.pipes.find(fd.pipe_id());
      if (pipe != lookups.pipes.end()) {
        if (!pipe->second->fifo_path().empty()) out += " of FIFO " + terminal_safe(pipe->second->fifo_path());
        out += ", " + std::to_string(pipe->second->data().size()) + " bytes buffered";
      }
      return out;
    }
    case FD_EVENTFD:
      return "count " + std::to_string(fd.eventfd().count()) + (fd.eventfd().semaphore() ? ", semaphore" : "");
    case FD_TIMERFD: {
      const TimerfdState& timer = fd.timerfd();
      std::string out = clock_name(timer.clockid());
      out += timer.remaining_ns() ? ", next in " + std::to_string(timer.remaining_ns()) + " ns" : ", disarmed";
      if (timer.interval_ns()) out += ", every " + std::to_string(timer.interval_ns()) + " ns";
      if (timer.ticks()) out += ", " + std::to_string(timer.ticks()) + " expirations unread";
      return out;
    }
    case FD_SIGNALFD:
      return "mask " + hex(fd.signalfd().mask());
    case FD_EPOLL: {
      std::string out = std::to_string(fd.epoll().targets_size()) + " watches";
      for (int i = 0; i < fd.epoll().targets_size() && i < kMaxListedWatches; ++i)
        out += std::string(i ? ", " : ": ") + "fd " + std::to_string(fd.epoll().targets(i).fd());
      if (fd.epoll().targets_size() > kMaxListedWatches) out += ", ...";
      if (fd.epoll().watches_added_elsewhere()) out += " (the fds of another process that shares the set)";
      return out;
    }
    case FD_INOTIFY: {
      std::string out = std::to_string(fd.inotify().watches_size()) + " watches";
      for (int i = 0; i < fd.inotify().watches_size() && i < kMaxListedWatches; ++i)
        out += std::string(i ? ", " : ": ") + terminal_safe(fd.inotify().watches(i).path());
      if (fd.inotify().watches_size() > kMaxListedWatches) out += ", ...";
      return out;
    }
    case FD_FANOTIFY: {
      std::string out = std::to_string(fd.fanotify().marks_size()) + " marks";
      for (int i = 0; i < fd.fanotify().marks_size() && i < kMaxListedWatches; ++i)
        out += std::string(i ? ", " : ": ") + terminal_safe(fd.fanotify().marks(i).path());
      if (fd.fanotify().marks_size() > kMaxListedWatches) out += ", ...";
      return out;
    }
    case FD_NAMESPACE:
      return terminal_safe(fd.namespace_file().type()) + " namespace, " +
             (fd.namespace_file().tree_own() ? "the tree's own" : "the host's, which the tree shares");
    case FD_UNIX_SOCKET:
      return unix_target(fd.unix_socket());
    case FD_TCP_LISTENER:
      return "listening on " + tcp_address(fd.tcp_listener()) +
             (fd.tcp_listener().has_backlog() ? " (backlog " + std::to_string(fd.tcp_listener().backlog()) + ")" : "");
    case FD_NETLINK_SOCKET:
      return netlink_target(fd.netlink_socket());
    case FD_PIDFD:
      return std::string(fd.flags() & O_EXCL ? "thread " : "process ") + std::to_string(fd.pidfd().pid());
    case FD_MEMFD:
    case FD_DELETED_FILE:
      return object_target(fd, lookups);
    default:
      return terminal_safe(fd.path());
  }
}

}  // namespace

std::string render_fd_summary(const SummaryInput& input, PrintFormat format) {
  Lookups lookups;
  for (const auto& pipe : input.pipes.pipes()) lookups.pipes.emplace(pipe.pipe_id(), &pipe);
  for (const auto& object : input.objects.objects()) lookups.objects.emplace(object.id(), &object);
  const bool json = format == PrintFormat::Json;
  std::string out = json ? "{\"processes\":[" : "";
  for (size_t p = 0; p < input.processes.size(); ++p) {
    const SummaryProcess& process = input.processes[p];
    const uint32_t pid = process.entry.pid();
    if (json) {
      out += std::string(p ? "," : "") + "{\"pid\":" + std::to_string(pid) + ",\"comm\":" + json_string(process.core.comm()) +
             ",\"zombie\":" + (process.entry.zombie() ? "true" : "false") + ",\"cwd\":" + json_string(process.files.cwd()) +
             ",\"root\":" + json_string(process.files.root()) + ",\"fds\":[";
      for (int i = 0; i < process.files.fds_size(); ++i) {
        const Fd& fd = process.files.fds(i);
        out += std::string(i ? "," : "") + "{\"fd\":" + std::to_string(fd.fd()) + ",\"kind\":" + json_string(kind_name(fd.kind())) +
               ",\"mode\":" + json_string(access_mode(fd.flags())) + ",\"flags\":[";
        auto names = flag_names(fd);
        for (size_t n = 0; n < names.size(); ++n) out += (n ? "," : "") + json_string(names[n]);
        out += "],\"target\":" + json_string(target_of(fd, lookups));
        if (!fd.path().empty()) out += ",\"path\":" + json_string(fd.path());
        out += "}";
      }
      out += "]}";
      continue;
    }
    if (process.entry.zombie()) {
      out += "pid " + std::to_string(pid) + ": zombie, no files\n";
      continue;
    }
    out += "pid " + std::to_string(pid) + " (" + terminal_safe(process.core.comm()) + "): cwd " +
           terminal_safe(process.files.cwd()) + ", root " + terminal_safe(process.files.root()) + "\n";
    std::vector<std::vector<std::string>> rows = {{"FD", "KIND", "MODE", "FLAGS", "TARGET"}};
    for (const Fd& fd : process.files.fds()) {
      std::string flags;
      for (const auto& name : flag_names(fd)) flags += (flags.empty() ? "" : "|") + name;
      rows.push_back({std::to_string(fd.fd()), kind_name(fd.kind()), access_mode(fd.flags()), flags.empty() ? "-" : flags,
                      target_of(fd, lookups)});
    }
    out += format_table(rows, "  ");
  }
  if (json) out += "]}\n";
  return out;
}

}  // namespace cryo::image
