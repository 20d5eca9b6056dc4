#include "dump/netlink_sockets.h"

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <vector>

#include "kernel/netlink_diag.h"
#include "kernel/netlink_protocols.h"

namespace cryo::dump {
namespace {

Error refused(int fd, const std::string& target, const std::string& what) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + what + ", which cryo cannot dump yet");
}

Result<int> int_option(int sock, int level, int option, const char* name) {
  int value = 0;
  socklen_t size = sizeof value;
  if (::getsockopt(sock, level, option, &value, &size) != 0) return fail(errno_error(std::string("getsockopt(") + name + ")"));
  return value;
}

Result<uint64_t> timeout_option(int sock, int option, const char* name) {
  timeval value{};
  socklen_t size = sizeof value;
  if (::getsockopt(sock, SOL_SOCKET, option, &value, &size) != 0) return fail(errno_error(std::string("getsockopt(") + name + ")"));
  return static_cast<uint64_t>(value.tv_sec) * 1000000 + static_cast<uint64_t>(value.tv_usec);
}

// The SOL_NETLINK and SOL_SOCKET options restore sets again; any it could not read stops the dump.
Result<> collect_options(int sock, image::NetlinkSocketState& state) {
  struct Flag {
    int option;
    const char* name;
    void (image::NetlinkSocketState::*set)(bool);
  };
  const Flag flags[] = {
      {NETLINK_PKTINFO, "NETLINK_PKTINFO", &image::NetlinkSocketState::set_pktinfo},
      {NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR", &image::NetlinkSocketState::set_broadcast_error},
      {NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS", &image::NetlinkSocketState::set_no_enobufs},
      {NETLINK_LISTEN_ALL_NSID, "NETLINK_LISTEN_ALL_NSID", &image::NetlinkSocketState::set_listen_all_nsid},
      {NETLINK_CAP_ACK, "NETLINK_CAP_ACK", &image::NetlinkSocketState::set_cap_ack},
      {NETLINK_EXT_ACK, "NETLINK_EXT_ACK", &image::NetlinkSocketState::set_ext_ack},
      {NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK", &image::NetlinkSocketState::set_get_strict_chk},
  };
  for (const auto& flag : flags) {
    ASSIGN_OR_RETURN(int on, int_option(sock, SOL_NETLINK, flag.option, flag.name));
    (state.*flag.set)(on != 0);
  }
  ASSIGN_OR_RETURN(int sndbuf, int_option(sock, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"));
  ASSIGN_OR_RETURN(int rcvbuf, int_option(sock, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"));
  ASSIGN_OR_RETURN(int passcred, int_option(sock, SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED"));
  ASSIGN_OR_RETURN(uint64_t rcvtimeo, timeout_option(sock, SO_RCVTIMEO, "SO_RCVTIMEO"));
  ASSIGN_OR_RETURN(uint64_t sndtimeo, timeout_option(sock, SO_SNDTIMEO, "SO_SNDTIMEO"));
  state.set_sndbuf(static_cast<uint32_t>(sndbuf));
  state.set_rcvbuf(static_cast<uint32_t>(rcvbuf));
  state.set_passcred(passcred != 0);
  state.set_rcvtimeo_us(rcvtimeo);
  state.set_sndtimeo_us(sndtimeo);
  return {};
}

// What a new socket would not have: an eBPF filter (SO_ATTACH_BPF), whose program cannot be read
// back; SO_PASSSEC. "" when there is none of those.
Result<std::string> unrestorable_option(int sock) {
  socklen_t blocks = 0;
  // With no room, SO_GET_FILTER gives the classic filter's length in instructions (0: none); an
  // eBPF program has no classic original and is EACCES.
  if (::getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, nullptr, &blocks) != 0) return std::string("an eBPF socket filter attached");
  ASSIGN_OR_RETURN(int passsec, int_option(sock, SOL_SOCKET, SO_PASSSEC, "SO_PASSSEC"));
  if (passsec) return std::string("SO_PASSSEC set");
  return std::string();
}

// The classic filter's instructions, and SO_LOCK_FILTER.
Result<> collect_filter(int sock, image::NetlinkSocketState& state) {
  socklen_t blocks = 0;
  if (::getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, nullptr, &blocks) != 0) return fail_errno("getsockopt(SO_GET_FILTER)");
  if (blocks != 0) {
    if (blocks > BPF_MAXINSNS) return fail("a socket filter of " + std::to_string(blocks) + " instructions");
    std::vector<sock_filter> program(blocks);
    socklen_t got = blocks;  // SO_GET_FILTER counts in instructions, not bytes.
    if (::getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, program.data(), &got) != 0) return fail_errno("getsockopt(SO_GET_FILTER)");
    if (got != blocks) return fail("the socket filter changed while it was read");
    state.set_filter(std::string(reinterpret_cast<const char*>(program.data()), program.size() * sizeof(sock_filter)));
  }
  ASSIGN_OR_RETURN(int locked, int_option(sock, SOL_SOCKET, SO_LOCK_FILTER, "SO_LOCK_FILTER"));
  state.set_filter_locked(locked != 0);
  return {};
}

}  // namespace

// NETLINK_AUDIT: the kernel keeps the audit daemon's registration for its port, which a new socket
// would not have; but it takes AUDIT_SET only from the initial PID namespace, and a tree cryo dumps
// always has its own, so no socket of the tree is the daemon's.
Result<> collect_netlink_socket(pid_t, int sock, int fd, const std::string& target, uint64_t ino, image::Fd& out) {
  std::string where = "fd " + std::to_string(fd) + " (" + target + ")";
  ASSIGN_OR_RETURN_CTX(int type, int_option(sock, SOL_SOCKET, SO_TYPE, "SO_TYPE"), where);
  ASSIGN_OR_RETURN_CTX(int protocol, int_option(sock, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL"), where);
  const NetlinkProtocol* known = find_netlink_protocol(protocol);
  std::string kind = std::string("an AF_NETLINK ") + (known ? known->name : "protocol " + std::to_string(protocol)) + " socket";
  if (!known || !known->restorable)
    return fail(refused(fd, target, kind + ", whose kernel side keeps state for the socket that a new one would not have"));
  if (type != SOCK_RAW && type != SOCK_DGRAM) return fail(refused(fd, target, kind + " of type " + std::to_string(type)));

  sockaddr_nl address{};
  socklen_t length = sizeof address;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length) != 0) return fail(errno_error("getsockname").context(where));
  ASSIGN_OR_RETURN_CTX(NetlinkSocketDiag diag, query_netlink_socket(protocol, ino), where);
  // Unlisted: neither bound nor in a group. Such a socket cannot have been sent anything.
  if (!diag.listed && address.nl_pid != 0) return fail(make_error(where + ": bound to port " + std::to_string(address.nl_pid) + " but not listed by sock_diag"));

  image::NetlinkSocketState state;
  state.set_socket_id(ino);
  state.set_type(type);
  state.set_protocol(protocol);
  state.set_portid(address.nl_pid);
  if (diag.listed) {
    if (diag.portid != address.nl_pid)
      return fail(make_error(where + ": sock_diag says port " + std::to_string(diag.portid) + ", getsockname " + std::to_string(address.nl_pid)));
    if (diag.flags & NDIAG_FLAG_CB_RUNNING)
      return fail(refused(fd, target, kind + " with a dump request answered only in part")
                      .with_hint("dump when the process has read the whole answer; the rest would be lost"));
    if (diag.rmem_alloc.value_or(0) != 0)
      return fail(refused(fd, target, kind + " with " + std::to_string(*diag.rmem_alloc) + " bytes of messages not read yet")
                      .with_hint("dump when the process has read its messages; they would be lost"));
    if (diag.has_ring) return fail(refused(fd, target, kind + " with an mmap'ed ring"));
    for (uint32_t group : diag.groups) state.add_groups(group);
    if (diag.state == NETLINK_CONNECTED) {
      state.set_connected(true);
      state.set_dst_portid(diag.dst_portid);
      state.set_dst_group(diag.dst_group);
    }
  }
  // A message queued since the diag, or a pending error (ENOBUFS: the kernel dropped messages for
  // it), which the next read would report.
  pollfd ready{sock, POLLIN, 0};
  if (::poll(&ready, 1, 0) < 0) return fail(errno_error("poll").context(where));
  if (ready.revents & POLLERR) return fail(refused(fd, target, kind + " with an error pending (messages were dropped)"));
  if (ready.revents & POLLIN)
    return fail(refused(fd, target, kind + " with messages not read yet").with_hint("dump when the process has read its messages; they would be lost"));
  ASSIGN_OR_RETURN_CTX(std::string unrestorable, unrestorable_option(sock), where);
  if (!unrestorable.empty()) return fail(refused(fd, target, kind + " with " + unrestorable));
  RETURN_IF_ERROR_CTX(collect_options(sock, state), where);
  RETURN_IF_ERROR_CTX(collect_filter(sock, state), where);
  out.set_kind(image::FD_NETLINK_SOCKET);
  out.mutable_identity()->set_ino(ino);
  *out.mutable_netlink_socket() = std::move(state);
  return {};
}

}  // namespace cryo::dump
