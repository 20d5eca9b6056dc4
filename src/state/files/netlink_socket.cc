#include "state/files/netlink_socket.h"

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <tuple>
#include <vector>

#include "base/unique_fd.h"
#include "kernel/netlink_diag.h"
#include "kernel/netlink_protocols.h"
#include "state/files/socket_options.h"

namespace cryo::state {

// Dump.

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

// Restore.

namespace {

Result<> set_int(int sock, int level, int option, int value, const char* name) {
  if (::setsockopt(sock, level, option, &value, sizeof value) != 0) return fail_errno(std::string("setsockopt(") + name + ")");
  return {};
}

Result<> set_timeout(int sock, int option, uint64_t us, const char* name) {
  if (us == 0) return {};
  timeval value{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(sock, SOL_SOCKET, option, &value, sizeof value) != 0) return fail_errno(std::string("setsockopt(") + name + ")");
  return {};
}

Result<> set_options(int sock, const image::NetlinkSocketState& s) {
  // A new socket has every SOL_NETLINK flag off; NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST
  // even to be turned off, so only the ones on are set.
  struct Flag {
    bool on;
    int option;
    const char* name;
  };
  const Flag flags[] = {
      {s.pktinfo(), NETLINK_PKTINFO, "NETLINK_PKTINFO"},
      {s.broadcast_error(), NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR"},
      {s.no_enobufs(), NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS"},
      {s.listen_all_nsid(), NETLINK_LISTEN_ALL_NSID, "NETLINK_LISTEN_ALL_NSID"},
      {s.cap_ack(), NETLINK_CAP_ACK, "NETLINK_CAP_ACK"},
      {s.ext_ack(), NETLINK_EXT_ACK, "NETLINK_EXT_ACK"},
      {s.get_strict_chk(), NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK"},
  };
  for (const auto& flag : flags)
    if (flag.on) RETURN_IF_ERROR(set_int(sock, SOL_NETLINK, flag.option, 1, flag.name));
  // A size that differs stops the restore: the socket would drop messages at another point.
  for (auto [option, force, want, name] : {std::tuple{SO_SNDBUF, SO_SNDBUFFORCE, s.sndbuf(), "SO_SNDBUF"},
                                           std::tuple{SO_RCVBUF, SO_RCVBUFFORCE, s.rcvbuf(), "SO_RCVBUF"}}) {
    ASSIGN_OR_RETURN(uint32_t now, set_buffer_size(sock, option, force, want, name));
    if (now != want) return fail(std::string(name) + " is " + std::to_string(now) + " here, not " + std::to_string(want) + " as at the dump");
  }
  if (s.passcred()) RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, SO_PASSCRED, 1, "SO_PASSCRED"));
  RETURN_IF_ERROR(set_timeout(sock, SO_RCVTIMEO, s.rcvtimeo_us(), "SO_RCVTIMEO"));
  RETURN_IF_ERROR(set_timeout(sock, SO_SNDTIMEO, s.sndtimeo_us(), "SO_SNDTIMEO"));
  // The kernel checks the program as at any SO_ATTACH_FILTER. Locked after, as a lock stops attaching.
  if (!s.filter().empty()) {
    std::vector<sock_filter> program(s.filter().size() / sizeof(sock_filter));
    std::memcpy(program.data(), s.filter().data(), program.size() * sizeof(sock_filter));
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) return fail_errno("setsockopt(SO_ATTACH_FILTER)");
  }
  if (s.filter_locked()) RETURN_IF_ERROR(set_int(sock, SOL_SOCKET, SO_LOCK_FILTER, 1, "SO_LOCK_FILTER"));
  return {};
}

Result<> bind_port(int sock, uint32_t portid) {
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_pid = portid;
  if (::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    Error e = errno_error("bind(port " + std::to_string(portid) + ")");
    if (e.err == EADDRINUSE) e = e.with_hint("another netlink socket holds that port (is the dumped tree still running?)");
    return fail(e);
  }
  return {};
}

}  // namespace

std::string describe_netlink_socket(const image::NetlinkSocketState& state) {
  const NetlinkProtocol* p = find_netlink_protocol(state.protocol());
  std::string text = p ? p->name : "netlink protocol " + std::to_string(state.protocol());
  text += " socket " + std::to_string(state.socket_id());
  if (state.portid() != 0) text += " (port " + std::to_string(state.portid()) + ")";
  return text;
}

std::string netlink_port_in_use(const image::NetlinkSocketState& state) {
  if (state.portid() == 0) return "";
  // Bound and closed at once: no message can reach it meanwhile.
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, state.protocol()));
  if (!sock.valid()) return describe_netlink_socket(state) + ": socket: " + std::strerror(errno);
  auto bound = bind_port(sock.get(), state.portid());
  return bound ? "" : describe_netlink_socket(state) + ": " + bound.error().message;
}

Result<int> create_netlink_socket(const image::NetlinkSocketState& state) {
  std::string what = describe_netlink_socket(state);
  UniqueFd sock(::socket(AF_NETLINK, state.type() | SOCK_CLOEXEC, state.protocol()));
  if (!sock.valid()) return fail(errno_error("socket(AF_NETLINK, " + std::to_string(state.type()) + ", " + std::to_string(state.protocol()) + ")").context(what));
  RETURN_IF_ERROR_CTX(set_options(sock.get(), state), what);
  if (state.portid() != 0) RETURN_IF_ERROR_CTX(bind_port(sock.get(), state.portid()), what);
  // NETLINK_ADD_MEMBERSHIP takes any group number (bind's nl_groups only the first 32) and, unlike
  // bind, leaves an unbound socket unbound, as the dumped one was.
  for (uint32_t group : state.groups()) {
    int number = static_cast<int>(group);
    if (::setsockopt(sock.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &number, sizeof number) != 0)
      return fail(errno_error("setsockopt(NETLINK_ADD_MEMBERSHIP, " + std::to_string(group) + ")").context(what));
  }
  if (state.connected()) {
    // connect() names a group by a mask, of which the kernel keeps the lowest bit.
    sockaddr_nl peer{};
    peer.nl_family = AF_NETLINK;
    peer.nl_pid = state.dst_portid();
    peer.nl_groups = state.dst_group() == 0 ? 0 : 1u << (state.dst_group() - 1);
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0)
      return fail(errno_error("connect(port " + std::to_string(state.dst_portid()) + ", group " + std::to_string(state.dst_group()) + ")").context(what));
  }
  sockaddr_nl address{};
  socklen_t length = sizeof address;
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) return fail(errno_error("getsockname").context(what));
  if (address.nl_pid != state.portid())
    return fail(what + ": bound to port " + std::to_string(address.nl_pid) + " instead of " + std::to_string(state.portid()));
  return sock.release();
}

Result<> stage_netlink_sockets(const ImageSet& set, int min_fd, StagedFds& staged) {
  return stage_each_socket_once(
      set, image::FD_NETLINK_SOCKET, [](const image::Fd& fd) { return fd.netlink_socket().socket_id(); },
      [](const image::Fd& fd) { return create_netlink_socket(fd.netlink_socket()); }, min_fd, staged);
}

}  // namespace cryo::state
