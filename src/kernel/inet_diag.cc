#include "kernel/inet_diag.h"

#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

#include "kernel/sock_diag.h"

namespace cryo {

Result<TcpListenerDiag> query_tcp_listener(int family, uint64_t ino) {
  std::string what = "sock_diag of TCP listener " + std::to_string(ino);
  if (family != AF_INET && family != AF_INET6) return fail(what + ": family " + std::to_string(family) + " is not AF_INET or AF_INET6");
  inet_diag_req_v2 request{};
  request.sdiag_family = static_cast<uint8_t>(family);
  request.sdiag_protocol = IPPROTO_TCP;
  request.idiag_states = 1u << TCP_LISTEN;
  // A lookup of one socket needs its cookie, which only sock_diag itself tells: dump the listeners.
  TcpListenerDiag found;
  RETURN_IF_ERROR(sock_diag_dump(&request, sizeof request, what, [&](const char* data, size_t size) -> Result<> {
    if (size < sizeof(inet_diag_msg)) return fail("inet_diag reply of " + std::to_string(size) + " bytes is too short");
    inet_diag_msg msg;
    std::memcpy(&msg, data, sizeof msg);
    if (msg.idiag_inode != ino || msg.idiag_state != TCP_LISTEN) return {};
    // For a listener, tcp_diag reports its accept queue: the connections waiting in rqueue, the
    // backlog in wqueue.
    found.listed = true;
    found.backlog = msg.idiag_wqueue;
    return {};
  }));
  return found;
}

}  // namespace cryo
