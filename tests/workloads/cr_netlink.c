// Checkpoint/restore workload: netlink sockets come back with their protocol, port id, multicast
// groups and options, and still talk to the kernel.
//
//   cr_netlink [--port=N] [--route-port=M]
//
// Holds
//   fd 10  NETLINK_ROUTE SOCK_RAW, bound (to M, or a port chosen by the kernel) with nl_groups RTMGRP_LINK, then
//          NETLINK_ADD_MEMBERSHIP of RTNLGRP_IPV4_ROUTE (7) and RTNLGRP_STATS (36, above bind's 32),
//          NETLINK_EXT_ACK and NETLINK_GET_STRICT_CHK on, SO_RCVBUF set
//   fd 11  NETLINK_GENERIC SOCK_DGRAM, never bound, with a classic filter (accept all) locked by
//          SO_LOCK_FILTER
//   fd 12  NETLINK_ROUTE SOCK_DGRAM bound to port N (0x7ff0cafe) and connect()ed to the kernel (port 0),
//          so that it takes messages from the kernel only
//   fd 13  NETLINK_AUDIT SOCK_RAW, bound by its first request (AUDIT_GET, answered and read), with
//          SO_PASSCRED on (as systemd keeps one)
// A child holds fd 10 too (fork), and waits on a control pipe. On SIGUSR1 the parent checks that each socket is of its protocol and type, at the same port (fd 11 still
// unbound), with the same groups (NETLINK_LIST_MEMBERSHIPS) and options, and that the kernel still
// answers: RTM_GETLINK of lo on fd 10 and fd 12, CTRL_CMD_GETFAMILY of "nlctrl" on fd 11, AUDIT_GET
// on fd 13; then it lets the child go, which checks fd 10's port and turns NETLINK_NO_ENOBUFS on
// through it: the parent then sees it on its own fd 10, one socket for both, as before the dump.
//
//   cr_netlink --mode=unread
//
// fd 10 as above, with the answer to an RTM_GETLINK request left unread: the dump refuses it.
//
//   cr_netlink --mode=netfilter | --mode=filter
//
// Refused too: a NETLINK_NETFILTER socket (the kernel keeps queues and logs bound to its port), or
// fd 10 with an eBPF socket filter attached.
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { ROUTE = 10, GENERIC = 11, CONNECTED = 12, AUDIT = 13 };
enum { GROUP_ROUTE = RTNLGRP_IPV4_ROUTE, GROUP_HIGH = RTNLGRP_STATS, RCVBUF = 96 * 1024 };
// fd 12's port: --port=N, unique to the test (tests run in parallel on one host).
static unsigned fixed_port = 0x7ff0cafe;

static void place(int fd, int number) {
  SETUP_OR_DIE(fd >= 0, "socket: %s\n", strerror(errno));
  SETUP_OR_DIE(dup2(fd, number) == number, "dup2: %s\n", strerror(errno));
  close(fd);
}

static int option(int fd, int level, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  return getsockopt(fd, level, name, &value, &size) == 0 ? value : -1;
}

static unsigned port_of(int fd) {
  struct sockaddr_nl address = {0};
  socklen_t length = sizeof address;
  if (getsockname(fd, (struct sockaddr*)&address, &length) != 0) return ~0u;
  return address.nl_pid;
}

// The groups fd is a member of, as a bitmap of 64 groups.
static uint64_t memberships(int fd) {
  uint32_t groups[8] = {0};
  socklen_t length = sizeof groups;
  if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &length) != 0) return ~0ull;
  return groups[0] | (uint64_t)groups[1] << 32;
}

static void send_getlink_lo(int fd, unsigned seq) {
  struct {
    struct nlmsghdr header;
    struct ifinfomsg info;
  } request = {0};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = seq;
  request.info.ifi_family = AF_UNSPEC;
  request.info.ifi_index = (int)if_nametoindex("lo");
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  SETUP_OR_DIE(sendto(fd, &request, sizeof request, 0, (struct sockaddr*)&kernel, sizeof kernel) == sizeof request, "sendto: %s\n",
               strerror(errno));
}

// Waits up to 5 s for the answer of sequence `seq` whose header names port `portid` or the kernel's
// 0 (multicast messages may come first), and returns
// its type (NLMSG_ERROR: the error's code is in *error), or -1.
static int answer_of(int fd, unsigned seq, unsigned portid, int* error) {
  static char buffer[65536];
  for (int tries = 0; tries < 500; ++tries) {
    ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      sleep_ms(10);
      continue;
    }
    if (n < 0) return -1;
    for (struct nlmsghdr* h = (struct nlmsghdr*)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || (h->nlmsg_pid != portid && h->nlmsg_pid != 0)) continue;
      if (h->nlmsg_type == NLMSG_ERROR) *error = ((struct nlmsgerr*)NLMSG_DATA(h))->error;
      return h->nlmsg_type;
    }
  }
  return -1;
}

// Outside the initial PID namespace the kernel refuses AUDIT_GET (EPERM or ECONNREFUSED, by version):
// that error is its answer too.
static int audit_answered(int type, int error) { return type == AUDIT_GET || (type == NLMSG_ERROR && error < 0); }

static void drain(int fd) {
  char buffer[65536];
  while (recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
  }
}

// fd 10's port: chosen by the kernel (0), or --route-port=N. The kernel picks the process's PID in
// its namespace, 1 for every tree's init: tests that run at the same time as the one that checks
// the kernel's pick give a port of their own.
static unsigned route_port_asked;

static void open_route(void) {
  place(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), ROUTE);
  struct sockaddr_nl address = {.nl_family = AF_NETLINK, .nl_pid = route_port_asked, .nl_groups = RTMGRP_LINK};
  SETUP_OR_DIE(bind(ROUTE, (struct sockaddr*)&address, sizeof address) == 0, "bind: %s\n", strerror(errno));
  for (int group = GROUP_ROUTE; group; group = group == GROUP_ROUTE ? GROUP_HIGH : 0)
    SETUP_OR_DIE(setsockopt(ROUTE, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) == 0, "ADD_MEMBERSHIP %d: %s\n", group,
                 strerror(errno));
  int on = 1, rcvbuf = RCVBUF;
  SETUP_OR_DIE(setsockopt(ROUTE, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) == 0, "EXT_ACK: %s\n", strerror(errno));
  SETUP_OR_DIE(setsockopt(ROUTE, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on) == 0, "STRICT_CHK: %s\n", strerror(errno));
  SETUP_OR_DIE(setsockopt(ROUTE, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0, "SO_RCVBUF: %s\n", strerror(errno));
}

static void unread_answer(void) {
  open_route();
  send_getlink_lo(ROUTE, 1);
  say("READY netlink unread\n");
  wait_for_check();
  int error = 0;
  EXPECT_OR_FAIL(answer_of(ROUTE, 1, port_of(ROUTE), &error) == RTM_NEWLINK, "the unread answer is gone\n");
  finish();
}

static void send_audit_get(int fd, unsigned seq) {
  struct nlmsghdr request = {NLMSG_LENGTH(0), AUDIT_GET, NLM_F_REQUEST, seq, 0};
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  SETUP_OR_DIE(sendto(fd, &request, request.nlmsg_len, 0, (struct sockaddr*)&kernel, sizeof kernel) == (ssize_t)request.nlmsg_len,
               "sendto(AUDIT_GET): %s\n", strerror(errno));
}

// A socket the dump refuses, and a check that it is still there after the refused dumps.
static void refused_socket(const char* mode) {
  if (strcmp(mode, "netfilter") == 0) {
    place(socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER), ROUTE);
  } else {
    // An eBPF program (r0 = 0xffff; exit), whose instructions the kernel does not give back.
    open_route();
    struct bpf_insn program[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0xffff}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insn_cnt = 2;
    attr.insns = (uint64_t)(uintptr_t)program;
    attr.license = (uint64_t)(uintptr_t) "GPL";
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    SETUP_OR_DIE(prog >= 0, "bpf(BPF_PROG_LOAD): %s\n", strerror(errno));
    SETUP_OR_DIE(setsockopt(ROUTE, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) == 0, "SO_ATTACH_BPF: %s\n", strerror(errno));
    close(prog);
  }
  say("READY netlink %s\n", mode);
  wait_for_check();
  EXPECT_OR_FAIL(option(ROUTE, SOL_SOCKET, SO_DOMAIN) == AF_NETLINK, "fd %d is gone\n", ROUTE);
  finish();
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* mode = arg_string(argc, argv, "mode", "");
  fixed_port = (unsigned)arg_number(argc, argv, "port", fixed_port);
  route_port_asked = (unsigned)arg_number(argc, argv, "route-port", 0);
  if (strcmp(mode, "unread") == 0) unread_answer();
  if (strcmp(mode, "netfilter") == 0 || strcmp(mode, "filter") == 0) refused_socket(mode);
  open_route();
  place(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_GENERIC), GENERIC);
  struct sock_filter accept_all[] = {BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
  struct sock_fprog filter = {2, accept_all};
  int lock = 1;
  SETUP_OR_DIE(setsockopt(GENERIC, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) == 0 &&
                   setsockopt(GENERIC, SOL_SOCKET, SO_LOCK_FILTER, &lock, sizeof lock) == 0,
               "SO_ATTACH_FILTER, SO_LOCK_FILTER: %s\n", strerror(errno));
  place(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE), CONNECTED);
  struct sockaddr_nl fixed = {.nl_family = AF_NETLINK, .nl_pid = fixed_port};
  SETUP_OR_DIE(bind(CONNECTED, (struct sockaddr*)&fixed, sizeof fixed) == 0, "bind(%#x): %s\n", fixed_port, strerror(errno));
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  SETUP_OR_DIE(connect(CONNECTED, (struct sockaddr*)&kernel, sizeof kernel) == 0, "connect: %s\n", strerror(errno));
  place(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT), AUDIT);
  int on = 1;
  SETUP_OR_DIE(setsockopt(AUDIT, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED: %s\n", strerror(errno));
  send_audit_get(AUDIT, 1);
  int error = 0;
  unsigned audit_port = port_of(AUDIT);
  int type = answer_of(AUDIT, 1, audit_port, &error);
  SETUP_OR_DIE(audit_answered(type, error), "no AUDIT_GET answer before the dump (type %d, error %d)\n", type, error);
  unsigned route_port = port_of(ROUTE);
  int rcvbuf = option(ROUTE, SOL_SOCKET, SO_RCVBUF);
  uint64_t groups = (1ull << (RTNLGRP_LINK - 1)) | (1ull << (GROUP_ROUTE - 1)) | (1ull << (GROUP_HIGH - 1));
  SETUP_OR_DIE(memberships(ROUTE) == groups, "memberships %#llx before the dump\n", (unsigned long long)memberships(ROUTE));
  SETUP_OR_DIE(route_port != 0 && port_of(GENERIC) == 0, "ports %u and %u\n", route_port, port_of(GENERIC));
  int control[2];
  SETUP_OR_DIE(pipe(control) == 0, "pipe: %s\n", strerror(errno));
  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) {
    close(control[1]);
    char go = 0;
    ssize_t n;
    while ((n = read(control[0], &go, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) _exit(2);
    if (port_of(ROUTE) != route_port) _exit(3);
    int on = 1;
    _exit(setsockopt(ROUTE, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on) == 0 ? 0 : 4);
  }
  close(control[0]);
  // A link event of the host in the meantime would be a message not read yet: read it now.
  drain(ROUTE);
  say("READY netlink\n");
  wait_for_check();

  EXPECT_OR_FAIL(option(ROUTE, SOL_SOCKET, SO_PROTOCOL) == NETLINK_ROUTE && option(ROUTE, SOL_SOCKET, SO_TYPE) == SOCK_RAW,
                 "fd %d is not a NETLINK_ROUTE SOCK_RAW socket\n", ROUTE);
  EXPECT_OR_FAIL(option(GENERIC, SOL_SOCKET, SO_PROTOCOL) == NETLINK_GENERIC && option(GENERIC, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM,
                 "fd %d is not a NETLINK_GENERIC SOCK_DGRAM socket\n", GENERIC);
  EXPECT_OR_FAIL(option(CONNECTED, SOL_SOCKET, SO_PROTOCOL) == NETLINK_ROUTE && option(CONNECTED, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM,
                 "fd %d is not a NETLINK_ROUTE SOCK_DGRAM socket\n", CONNECTED);
  EXPECT_OR_FAIL(port_of(ROUTE) == route_port, "fd %d at port %u, was %u\n", ROUTE, port_of(ROUTE), route_port);
  EXPECT_OR_FAIL(port_of(GENERIC) == 0, "fd %d at port %u, was unbound\n", GENERIC, port_of(GENERIC));
  EXPECT_OR_FAIL(port_of(CONNECTED) == fixed_port, "fd %d at port %#x, was %#x\n", CONNECTED, port_of(CONNECTED), fixed_port);
  EXPECT_OR_FAIL(memberships(ROUTE) == groups, "fd %d in groups %#llx, was in %#llx\n", ROUTE, (unsigned long long)memberships(ROUTE),
                 (unsigned long long)groups);
  struct sock_filter held[8];
  socklen_t blocks = 8;
  EXPECT_OR_FAIL(getsockopt(GENERIC, SOL_SOCKET, SO_GET_FILTER, held, &blocks) == 0 && blocks == 2 &&
                     memcmp(held, accept_all, sizeof accept_all) == 0,
                 "fd %d has not its socket filter back (%u instructions)\n", GENERIC, (unsigned)blocks);
  EXPECT_OR_FAIL(option(GENERIC, SOL_SOCKET, SO_LOCK_FILTER) == 1, "fd %d: SO_LOCK_FILTER is off\n", GENERIC);
  EXPECT_OR_FAIL(option(ROUTE, SOL_SOCKET, SO_LOCK_FILTER) == 0, "fd %d: SO_LOCK_FILTER is on\n", ROUTE);
  EXPECT_OR_FAIL(memberships(GENERIC) == 0, "fd %d in groups %#llx, was in none\n", GENERIC, (unsigned long long)memberships(GENERIC));
  EXPECT_OR_FAIL(option(ROUTE, SOL_NETLINK, NETLINK_EXT_ACK) == 1, "fd %d: NETLINK_EXT_ACK is off\n", ROUTE);
  EXPECT_OR_FAIL(option(ROUTE, SOL_NETLINK, NETLINK_GET_STRICT_CHK) == 1, "fd %d: NETLINK_GET_STRICT_CHK is off\n", ROUTE);
  EXPECT_OR_FAIL(option(ROUTE, SOL_NETLINK, NETLINK_NO_ENOBUFS) == 0, "fd %d: NETLINK_NO_ENOBUFS is on\n", ROUTE);
  EXPECT_OR_FAIL(option(ROUTE, SOL_SOCKET, SO_RCVBUF) == rcvbuf, "fd %d: SO_RCVBUF %d, was %d\n", ROUTE, option(ROUTE, SOL_SOCKET, SO_RCVBUF),
                 rcvbuf);
  struct sockaddr_nl peer = {0};
  socklen_t length = sizeof peer;
  EXPECT_OR_FAIL(getpeername(CONNECTED, (struct sockaddr*)&peer, &length) == 0 && peer.nl_pid == 0 && peer.nl_groups == 0,
                 "fd %d is not connected to the kernel\n", CONNECTED);
  // getpeername shows port 0 for an unconnected socket too; what tells them apart is that a
  // connected one takes messages from its destination only: another socket's is refused.
  int other = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct nlmsghdr noop = {sizeof noop, NLMSG_NOOP, 0, 1, 0};
  struct sockaddr_nl to_connected = {.nl_family = AF_NETLINK, .nl_pid = fixed_port};
  errno = 0;
  EXPECT_OR_FAIL(other >= 0 && sendto(other, &noop, sizeof noop, 0, (struct sockaddr*)&to_connected, sizeof to_connected) < 0 &&
                     errno == ECONNREFUSED,
                 "fd %d took a message from another port than its destination (%s)\n", CONNECTED, strerror(errno));
  close(other);
  drain(CONNECTED);

  EXPECT_OR_FAIL(port_of(AUDIT) == audit_port, "fd %d at port %u, was %u\n", AUDIT, port_of(AUDIT), audit_port);
  EXPECT_OR_FAIL(option(AUDIT, SOL_SOCKET, SO_PROTOCOL) == NETLINK_AUDIT, "fd %d is not a NETLINK_AUDIT socket\n", AUDIT);
  EXPECT_OR_FAIL(option(AUDIT, SOL_SOCKET, SO_PASSCRED) == 1, "fd %d: SO_PASSCRED is off\n", AUDIT);
  EXPECT_OR_FAIL(option(ROUTE, SOL_SOCKET, SO_PASSCRED) == 0, "fd %d: SO_PASSCRED is on\n", ROUTE);

  send_getlink_lo(ROUTE, 101);
  EXPECT_OR_FAIL(answer_of(ROUTE, 101, route_port, &error) == RTM_NEWLINK, "fd %d: no RTM_NEWLINK answer for lo (error %d)\n", ROUTE, error);
  // Through the connected socket: send() without an address goes to the kernel.
  struct {
    struct nlmsghdr header;
    struct ifinfomsg info;
  } request = {{sizeof request, RTM_GETLINK, NLM_F_REQUEST, 102, 0}, {AF_UNSPEC, 0, 0, (int)if_nametoindex("lo"), 0, 0}};
  EXPECT_OR_FAIL(send(CONNECTED, &request, sizeof request, 0) == sizeof request, "fd %d: send: %s\n", CONNECTED, strerror(errno));
  EXPECT_OR_FAIL(answer_of(CONNECTED, 102, fixed_port, &error) == RTM_NEWLINK, "fd %d: no RTM_NEWLINK answer for lo (error %d)\n", CONNECTED,
                 error);
  // The generic socket binds on its first send, as it would have.
  struct {
    struct nlmsghdr header;
    struct genlmsghdr genl;
    struct nlattr attr;
    char name[8];
  } family = {{sizeof family, GENL_ID_CTRL, NLM_F_REQUEST, 103, 0}, {CTRL_CMD_GETFAMILY, 1, 0}, {NLA_HDRLEN + 7, CTRL_ATTR_FAMILY_NAME}, "nlctrl"};
  struct sockaddr_nl to_kernel = {.nl_family = AF_NETLINK};
  EXPECT_OR_FAIL(sendto(GENERIC, &family, sizeof family, 0, (struct sockaddr*)&to_kernel, sizeof to_kernel) == sizeof family,
                 "fd %d: sendto: %s\n", GENERIC, strerror(errno));
  EXPECT_OR_FAIL(answer_of(GENERIC, 103, port_of(GENERIC), &error) == GENL_ID_CTRL, "fd %d: no answer from nlctrl (error %d)\n", GENERIC,
                 error);
  send_audit_get(AUDIT, 104);
  error = 0;
  type = answer_of(AUDIT, 104, audit_port, &error);
  EXPECT_OR_FAIL(audit_answered(type, error), "fd %d: no AUDIT_GET answer (type %d, error %d)\n", AUDIT, type, error);
  EXPECT_OR_FAIL(write(control[1], "g", 1) == 1, "write to the child: %s\n", strerror(errno));
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed its check %d (status %#x)\n", WEXITSTATUS(status), status);
  EXPECT_OR_FAIL(option(ROUTE, SOL_NETLINK, NETLINK_NO_ENOBUFS) == 1, "fd %d is not the socket the child holds\n", ROUTE);
  finish();
}
