// The state of unix sockets in an image (the fd kind whose validation is not under state/files/
// yet), and the checks every fd shares (status flags, owners, locks): every field is checked against what
// the kernel could have shown, so restore never hands it a value it did not make.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

#include "restore/image_validation.h"
#include "state/files/socket_options.h"

namespace cryo::restore {
namespace {

constexpr int kMaxQueuedMessages = 1 << 16;
constexpr size_t kSunPathSize = sizeof(sockaddr_un{}.sun_path);
constexpr uint64_t kMaxQueuedBytes = 64 << 20;

// The bound name fits sun_path (108 bytes, an abstract name's leading NUL among them); a path is
// absolute, without NUL (the kernel would end it there) or "." and ".." parts cryo never wrote.
void validate_unix_name(const image::UnixSocketState& s, const std::string& name, std::vector<std::string>* problems) {
  bool named = s.abstract() || !s.name().empty();
  std::string sock = name + ": unix socket " + std::to_string(s.socket_id());
  if (s.abstract() && s.name().size() > kSunPathSize - 1)
    problems->push_back(sock + ": abstract name of " + std::to_string(s.name().size()) + " bytes does not fit sun_path");
  if (!s.abstract() && !s.name().empty()) {
    if (s.name().size() > kSunPathSize) problems->push_back(sock + ": path of " + std::to_string(s.name().size()) + " bytes does not fit sun_path");
    if (s.name().find('\0') != std::string::npos) problems->push_back(sock + ": path name holds a NUL byte");
    else if (!is_clean_absolute_path(s.name())) problems->push_back(sock + ": path '" + s.name() + "' is not a clean absolute path");
  }
  bool path = named && !s.abstract();
  if (!path && (s.file_unlinked() || s.file_mode() || s.file_uid() || s.file_gid()))
    problems->push_back(sock + ": socket file facts without a path name");
  if (s.file_mode() & ~07777u) problems->push_back(sock + ": socket file mode " + std::to_string(s.file_mode()) + " has bits beyond 07777");
  if (s.file_unlinked() && (s.file_mode() || s.file_uid() || s.file_gid()))
    problems->push_back(sock + ": an unlinked socket file has no mode or owner");
  if (s.listening()) {
    if (!named) problems->push_back(sock + ": a listener must be bound");
    if (s.type() == SOCK_DGRAM) problems->push_back(sock + ": a datagram socket cannot listen");
    if (s.peer_id() != 0 || s.peer_closed() || s.peer_reset() || s.listener_id() != 0 || s.queue_size() != 0)
      problems->push_back(sock + ": a listener has no peer, no queued data and no listener of its own");
    if (s.backlog() > static_cast<uint32_t>(std::numeric_limits<int>::max()))
      problems->push_back(sock + ": backlog " + std::to_string(s.backlog()) + " is out of range");
    return;
  }
  if (s.backlog() != 0) problems->push_back(sock + ": a backlog on a socket that does not listen");
  // A named connected end is one accepted from a listener of the tree (validate_socket_pairs).
  if (s.type() != SOCK_DGRAM && named != (s.listener_id() != 0))
    problems->push_back(sock + ": only a connection accepted from a listener of the image carries a name (or a datagram socket)");
  if (s.listener_id() != 0 && (s.peer_closed() || s.type() == SOCK_DGRAM || s.file_mode() || s.file_uid() || s.file_gid()))
    problems->push_back(sock + ": an accepted connection is a stream or seqpacket socket connected to its peer");
}

void validate_unix_socket(const image::UnixSocketState& s, const std::string& name, std::vector<std::string>* problems) {
  validate_socket_options(s.options(), name, problems);
  if (s.type() != SOCK_STREAM && s.type() != SOCK_DGRAM && s.type() != SOCK_SEQPACKET)
    problems->push_back(name + ": unix socket type " + std::to_string(s.type()) + " is not one cryo restores");
  validate_unix_name(s, name, problems);
  if (s.listening()) {
    if (s.socket_id() == 0) problems->push_back(name + ": unix listener has no socket id");
  } else if (s.peer_closed()) {
    if (s.socket_id() == 0 || s.peer_id() != 0 || s.type() == SOCK_DGRAM)
      problems->push_back(name + ": unix socket " + std::to_string(s.socket_id()) + " whose peer closed must be a stream or seqpacket socket without a peer id");
  } else if (s.type() == SOCK_DGRAM) {
    // Unconnected (peer 0), or connected, to itself too (unix_datagram_validation.cc).
    if (s.socket_id() == 0) problems->push_back(name + ": unix datagram socket has no socket id");
    else if (s.peer_id() == s.socket_id() && !s.abstract() && s.name().empty())
      problems->push_back(name + ": unix socket " + std::to_string(s.socket_id()) + " has no valid peer " + std::to_string(s.peer_id()) +
                          " (connected to itself without a name)");
  } else if (s.socket_id() == 0 || s.peer_id() == 0 || s.socket_id() == s.peer_id()) {
    problems->push_back(name + ": unix socket " + std::to_string(s.socket_id()) + " has no valid peer " + std::to_string(s.peer_id()));
  }
  if (s.peer_reset() && !s.peer_closed()) problems->push_back(name + ": unix socket reset by a peer that did not close");
  if (s.type() != SOCK_DGRAM && (s.senders_size() != 0 || s.sndbuf() != 0 || s.rcvbuf() != 0))
    problems->push_back(name + ": datagram senders or buffer sizes on a unix socket that is not SOCK_DGRAM");
  if (s.type() == SOCK_STREAM && s.queue_size() > 1) problems->push_back(name + ": a stream socket's queue is one byte string");
  if (s.queue_size() > kMaxQueuedMessages) problems->push_back(name + ": unix socket has too many queued messages");
  uint64_t bytes = 0;
  for (const auto& message : s.queue()) bytes += message.size();
  if (bytes > kMaxQueuedBytes) problems->push_back(name + ": unix socket has " + std::to_string(bytes) + " queued bytes, more than any socket holds");
}

}  // namespace

void validate_socket_pairs(const ImageSet& set, std::vector<std::string>* problems) {
  std::map<uint64_t, const image::UnixSocketState*> sockets;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_UNIX_SOCKET) continue;
      auto [it, fresh] = sockets.emplace(fd.unix_socket().socket_id(), &fd.unix_socket());
      if (!fresh && it->second->SerializeAsString() != fd.unix_socket().SerializeAsString())
        problems->push_back("pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd()) + ": unix socket " +
                            std::to_string(fd.unix_socket().socket_id()) + " differs from another holder's");
    }
  std::set<std::string> bound;  // Two listeners of one name cannot both be bound (one unlinked path aside).
  for (const auto& [id, socket] : sockets) {
    if (!socket->listening() || socket->file_unlinked()) continue;
    if (!bound.insert(std::string(socket->abstract() ? "@" : "/") + socket->name()).second)
      problems->push_back("unix listener " + std::to_string(id) + ": another listener of the image is bound to the same name");
  }
  for (const auto& [id, socket] : sockets) {
    if (socket->listener_id() != 0) {
      auto listener = sockets.find(socket->listener_id());
      auto peer = sockets.find(socket->peer_id());
      if (listener == sockets.end() || !listener->second->listening() || listener->second->type() != socket->type() ||
          listener->second->name() != socket->name() || listener->second->abstract() != socket->abstract() ||
          listener->second->file_unlinked() != socket->file_unlinked())
        problems->push_back("unix socket " + std::to_string(id) + ": the listener it was accepted from is not in the image with its name");
      if (peer != sockets.end() && (peer->second->listener_id() != 0 || peer->second->abstract() || !peer->second->name().empty()))
        problems->push_back("unix socket " + std::to_string(id) + ": its client is bound too");
    }
    if (socket->peer_closed() || socket->listening() || socket->type() == SOCK_DGRAM) continue;
    auto peer = sockets.find(socket->peer_id());
    if (peer == sockets.end() || peer->second->peer_id() != id || peer->second->type() != socket->type())
      problems->push_back("unix socket " + std::to_string(id) + ": its peer " + std::to_string(socket->peer_id()) +
                          " is not in the image as the other end of the same kind of socketpair");
  }
  validate_unix_datagrams(sockets, problems);
}

void validate_file_locks(const image::Fd& fd, const std::string& name, std::vector<std::string>* problems) {
  if (fd.locks_size() == 0) return;
  if (fd.kind() != image::FD_REGULAR && fd.kind() != image::FD_DIRECTORY && fd.kind() != image::FD_DELETED_FILE &&
      fd.kind() != image::FD_MEMFD && fd.kind() != image::FD_CHARDEV)
    problems->push_back(name + ": file locks on an fd of kind " + image::FdKind_Name(fd.kind()));
  if (fd.locks_size() > 1024) problems->push_back(name + ": more than 1024 file locks");
  constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  for (const auto& lock : fd.locks()) {
    if (!image::FileLock::Kind_IsValid(lock.kind())) problems->push_back(name + ": file lock of unknown kind " + std::to_string(lock.kind()));
    if (lock.start() > kMaxOffset || lock.length() > kMaxOffset - lock.start())
      problems->push_back(name + ": file lock range " + std::to_string(lock.start()) + "+" + std::to_string(lock.length()) + " is out of range");
    if (lock.kind() == image::FileLock::FLOCK && (lock.start() != 0 || lock.length() != 0))
      problems->push_back(name + ": an flock lock covers the whole file, not a range");
  }
}

// Every flag that fdinfo can show for an open file (O_CLOEXEC is the fd's, kept apart); open clears
// O_CREAT, O_EXCL, O_NOCTTY and O_TRUNC. __O_TMPFILE is refused at dump.
// glibc's O_LARGEFILE is 0 on x86_64; the kernel keeps (and fdinfo shows) its own bit.
constexpr uint32_t kKernelLargefile = 0100000;
constexpr uint32_t kKnownStatusFlags = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | kKernelLargefile |
                                       O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_PATH | O_SYNC;

void validate_fd_status(const image::Fd& fd, const std::string& name, std::vector<std::string>* problems) {
  // A pidfd keeps PIDFD_THREAD as O_EXCL in its flags (state/files/pidfd.h).
  uint32_t known = kKnownStatusFlags | (fd.kind() == image::FD_PIDFD ? O_EXCL : 0);
  if (fd.flags() & ~known) problems->push_back(name + ": unknown file status flags in " + std::to_string(fd.flags()));
  // F_SETSIG takes 0 (SIGIO without siginfo) or any valid signal.
  if (fd.signal() < 0 || fd.signal() > 64) problems->push_back(name + ": O_ASYNC signal " + std::to_string(fd.signal()) + " is not a signal");
  if ((fd.flags() & O_PATH) && (fd.signal() != 0 || fd.has_owner())) problems->push_back(name + ": an O_PATH fd has no O_ASYNC owner or signal");
  if (fd.has_owner()) {
    int type = fd.owner().type();
    if (type != F_OWNER_TID && type != F_OWNER_PID && type != F_OWNER_PGRP)
      problems->push_back(name + ": O_ASYNC owner type " + std::to_string(type) + " is unknown");
    if (fd.owner().pid() <= 0) problems->push_back(name + ": O_ASYNC owner " + std::to_string(fd.owner().pid()) + " is not a PID");
  }
}

void validate_fd_owners(const ImageSet& set, std::vector<std::string>* problems) {
  std::set<int32_t> processes, threads, groups;
  for (const auto& process : set.processes) {
    processes.insert(static_cast<int32_t>(process.pid()));
    groups.insert(static_cast<int32_t>(process.entry.pgid()));
    for (const auto& thread : process.core.threads()) threads.insert(static_cast<int32_t>(thread.tid()));
  }
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (!fd.has_owner()) continue;
      const auto& owner = fd.owner();
      const std::set<int32_t>& known = owner.type() == F_OWNER_TID ? threads : owner.type() == F_OWNER_PID ? processes : groups;
      if (!known.count(owner.pid()))
        problems->push_back("pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd()) + ": O_ASYNC owner " +
                            std::to_string(owner.pid()) + " is not a " +
                            (owner.type() == F_OWNER_TID ? "thread" : owner.type() == F_OWNER_PID ? "process" : "process group") +
                            " of the tree");
    }
}

void validate_fd_state(const image::Fd& fd, std::vector<std::string>* problems) {
  std::string name = "fd " + std::to_string(fd.fd());
  switch (fd.kind()) {
    case image::FD_UNIX_SOCKET: validate_unix_socket(fd.unix_socket(), name, problems); break;
    default: break;
  }
}

}  // namespace cryo::restore
