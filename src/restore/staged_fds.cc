#include "restore/staged_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "image/restore_open_files.h"
#include "image/unix_socket_name.h"
#include "restore/memory_objects.h"
#include "restore/posix_mqueues.h"
#include "restore/unix_datagrams.h"
#include "restore/unix_listeners.h"
#include "state/files/socket_options.h"
#include "state/files/fd_kinds.h"

namespace cryo::restore {
namespace {

using state::move_fd_above;

// Data queued to one end was sent by the other: it is sent again through the other end, datagram by
// datagram where the socket keeps boundaries. Non-blocking while refilled, so data that does not fit
// the new socket's buffers fails here instead of hanging.
Result<> refill(int sender, const image::UnixSocketState& receiver) {
  for (const std::string& message : receiver.queue()) {
    size_t sent = 0;
    do {
      ssize_t n = ::send(sender, message.data() + sent, message.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("send of " + std::to_string(message.size()) + " queued bytes to socket " + std::to_string(receiver.socket_id()));
      sent += static_cast<size_t>(n);
    } while (sent < message.size() && receiver.type() == SOCK_STREAM);
  }
  return {};
}

Result<std::pair<int, int>> stage_socket_pair(const image::UnixSocketState& a, const image::UnixSocketState& b, int min_fd) {
  int ends[2];
  if (::socketpair(AF_UNIX, a.type(), 0, ends) != 0) return fail_errno("socketpair(AF_UNIX, " + std::to_string(a.type()) + ")");
  ASSIGN_OR_RETURN(int first, move_fd_above(ends[0], min_fd));
  ASSIGN_OR_RETURN(int second, move_fd_above(ends[1], min_fd));
  RETURN_IF_ERROR(refill(second, a));
  RETURN_IF_ERROR(refill(first, b));
  return std::make_pair(first, second);
}

// A pair whose other end is closed once it has sent this end's queue: the kernel then shuts this end
// down both ways, as at the dump. Data left unread in the other end when it closes makes the kernel
// give this end ECONNRESET, as the dumped one had pending.
Result<int> stage_socket_without_peer(const image::UnixSocketState& s, int min_fd) {
  int ends[2];
  if (::socketpair(AF_UNIX, s.type(), 0, ends) != 0) return fail_errno("socketpair(AF_UNIX, " + std::to_string(s.type()) + ")");
  UniqueFd other(ends[1]);
  ASSIGN_OR_RETURN(int survivor, move_fd_above(ends[0], min_fd));
  UniqueFd kept(survivor);
  RETURN_IF_ERROR(refill(other.get(), s));
  if (s.peer_reset()) {
    char unread = 0;
    if (::send(survivor, &unread, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) return fail_errno("send to the closing peer");
  }
  other.reset();
  return kept.release();
}

// Listeners, each with the connections it had accepted from clients of the tree: the client
// connects, the listener accepts, and the data queued to each end is sent again through the
// other. Listeners whose file was unlinked after bind come first (their path may be another
// listener's), and lose their file again once their clients have connected by it.
Result<> stage_unix_listeners(const std::map<uint64_t, const image::UnixSocketState*>& sockets, int min_fd,
                              std::map<uint64_t, int>& staged) {
  for (bool unlinked : {true, false})
    for (const auto& [id, listener] : sockets) {
      if (!listener->listening() || listener->file_unlinked() != unlinked) continue;
      std::string what = "unix listener " + std::to_string(id) + " on " + image::shown_unix_name(*listener);
      ASSIGN_OR_RETURN_CTX(UniqueFd made, create_unix_listener(*listener), what);
      for (const auto& [accepted_id, accepted] : sockets) {
        if (accepted->listener_id() != id) continue;
        // Validation made sure the client is in the image, connected back.
        const image::UnixSocketState* client = sockets.at(accepted->peer_id());
        ASSIGN_OR_RETURN_CTX(auto ends, connect_and_accept(made.get(), *listener), what);
        RETURN_IF_ERROR_CTX(refill(ends.first.get(), *accepted), what);
        RETURN_IF_ERROR_CTX(refill(ends.second.get(), *client), what);
        ASSIGN_OR_RETURN(staged[client->socket_id()], move_fd_above(ends.first.release(), min_fd));
        ASSIGN_OR_RETURN(staged[accepted_id], move_fd_above(ends.second.release(), min_fd));
      }
      RETURN_IF_ERROR_CTX(unlink_if_dumped_unlinked(made.get(), *listener), what);
      ASSIGN_OR_RETURN(staged[id], move_fd_above(made.release(), min_fd));
    }
  return {};
}

}  // namespace

int staging_fd_base(const ImageSet& set) {
  return image::staging_fd_base(set.processes, [](const ProcessImage& process) -> const image::ProcessFiles& { return process.files; });
}

std::map<uint64_t, const image::Fd*> shared_open_files(const ImageSet& set) {
  std::map<uint64_t, std::pair<const image::Fd*, int>> seen;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds())
      if (const state::FdKindOps* ops = state::find_fd_kind(fd.kind());
          fd.open_file_id() != 0 && ops && ops->sharing == state::FdSharing::OpenedOnce) {
        auto& entry = seen[fd.open_file_id()];
        if (!entry.first) entry.first = &fd;
        ++entry.second;
      }
  std::map<uint64_t, const image::Fd*> shared;
  for (const auto& [id, entry] : seen)
    if (entry.second > 1) shared[id] = entry.first;
  return shared;
}

Result<int> open_like(const image::Fd& fd, const state::FdInstall& at) {
  if (const state::FdKindOps* ops = state::find_fd_kind(fd.kind()); ops && ops->install) return state::create_fd(*ops, fd, at);
  if (fd.kind() == image::FD_POSIX_MQUEUE) return open_posix_mqueue(fd);
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
  // open(2) takes O_ASYNC into the flags without arming it; a device may support it, and then it
  // is armed by F_SETFL at the fd's own number (fd_status.h). Files have no O_ASYNC: if one had the
  // flag, an open gave it, and so does this one.
  if (fd.kind() == image::FD_CHARDEV) flags &= ~O_ASYNC;
  int opened = ::open(fd.path().c_str(), flags | O_NOCTTY);
  if (opened < 0) return fail_errno("open");
  // Devices keep no position worth restoring (and a tty refuses lseek).
  if (fd.kind() != image::FD_CHARDEV && fd.pos() != 0 && ::lseek(opened, static_cast<off_t>(fd.pos()), SEEK_SET) < 0) {
    Error e = errno_error("lseek(" + std::to_string(fd.pos()) + ")");
    ::close(opened);
    return fail(e);
  }
  return opened;
}

Result<StagedFds> stage_fds(const ImageSet& set, int min_fd, const StagedFds& made_by_cryo, const ClockOffsets& offsets) {
  StagedFds staged;
  staged.objects = made_by_cryo.objects;
  staged.objects_opened_by_name = made_by_cryo.objects_opened_by_name;
  for (const state::FdKindOps& ops : state::fd_kinds())
    if (ops.stage) RETURN_IF_ERROR(ops.stage(set, min_fd, staged));
  // Validation made sure every socket's peer is in the image and points back.
  std::map<uint64_t, const image::UnixSocketState*> sockets;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds())
      if (fd.kind() == image::FD_UNIX_SOCKET) sockets[fd.unix_socket().socket_id()] = &fd.unix_socket();
  RETURN_IF_ERROR(stage_unix_listeners(sockets, min_fd, staged.sockets));
  RETURN_IF_ERROR(stage_unix_datagrams(sockets, min_fd, staged.sockets));
  for (const auto& [id, socket] : sockets) {
    if (staged.sockets.count(id)) continue;
    if (socket->peer_closed()) {
      ASSIGN_OR_RETURN_CTX(staged.sockets[id], stage_socket_without_peer(*socket, min_fd), "unix socket " + std::to_string(id));
      continue;
    }
    const image::UnixSocketState* peer = sockets.at(socket->peer_id());
    ASSIGN_OR_RETURN_CTX(auto pair, stage_socket_pair(*socket, *peer, min_fd), "socketpair " + std::to_string(id) + "/" + std::to_string(peer->socket_id()));
    staged.sockets[id] = pair.first;
    staged.sockets[peer->socket_id()] = pair.second;
  }
  // Once each is made and its queue refilled: a low-water mark or a timeout cannot get in the way.
  for (const auto& [id, socket] : sockets)
    RETURN_IF_ERROR_CTX(restore_socket_options(staged.sockets.at(id), AF_UNIX, socket->options()), "unix socket " + std::to_string(id));
  for (const auto& [id, fd] : shared_open_files(set)) {
    std::string what = "shared open file " + (fd->path().empty() ? "of kind " + image::FdKind_Name(fd->kind()) : fd->path());
    ASSIGN_OR_RETURN_CTX(int opened, open_like(*fd, state::FdInstall{.tree_minus_caller = offsets, .staged = &staged}), what);
    ASSIGN_OR_RETURN_CTX(staged.files[id], move_fd_above(opened, min_fd), what);
  }
  return staged;
}

}  // namespace cryo::restore
