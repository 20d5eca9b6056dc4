#include "state/files/fd_kinds.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "state/files/epoll.h"
#include "state/files/eventfd.h"
#include "state/files/signalfd.h"
#include "state/files/timerfd.h"

namespace cryo::state {
namespace {

// Holders of one open file read its state at one freeze, so its message must be the same.
template <auto message>
bool same_message(const image::Fd& a, const image::Fd& b) {
  return (a.*message)().SerializeAsString() == (b.*message)().SerializeAsString();
}

using enum image::FdKind;
using enum FdSharing;

// One line per kind: kind, name, anon_inode, sharing, collect, validate, same_state, install, finish.
// A kind whose code is not under state/files/ yet has empty code slots: dump/ and restore/ call it.
constexpr FdKindOps kFdKinds[] = {
    {FD_REGULAR, "file", "", OpenedOnce, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_DIRECTORY, "directory", "", OpenedOnce, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_CHARDEV, "chardev", "", OpenedOnce, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_PIPE, "pipe", "", Staged, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_EVENTFD, "eventfd", "eventfd", OpenedOnce, collect_eventfd, validate_eventfd, same_message<&image::Fd::eventfd>, install_eventfd, nullptr},
    {FD_TIMERFD, "timerfd", "timerfd", OpenedOnce, collect_timerfd, validate_timerfd, same_timerfd, install_timerfd, nullptr},
    {FD_SIGNALFD, "signalfd", "signalfd", OpenedOnce, collect_signalfd, validate_signalfd, same_message<&image::Fd::signalfd>, install_signalfd, nullptr},
    {FD_EPOLL, "epoll", "eventpoll", WithinProcess, collect_epoll, validate_epoll, same_message<&image::Fd::epoll>, install_epoll, finish_epoll},
    {FD_UNIX_SOCKET, "unix", "", Staged, nullptr, nullptr, same_message<&image::Fd::unix_socket>, nullptr, nullptr},
    {FD_TCP_LISTENER, "tcp", "", Staged, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_MEMFD, "memfd", "", OpenedOnce, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_DELETED_FILE, "deleted", "", OpenedOnce, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_INOTIFY, "inotify", "inotify", OpenedOnce, nullptr, nullptr, same_message<&image::Fd::inotify>, nullptr, nullptr},
    {FD_PROC_FILE, "proc", "", WithinProcess, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_NAMESPACE, "namespace", "", WithinProcess, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_FANOTIFY, "fanotify", "fanotify", OpenedOnce, nullptr, nullptr, same_message<&image::Fd::fanotify>, nullptr, nullptr},
    {FD_POSIX_MQUEUE, "mqueue", "", InNamespace, nullptr, nullptr, nullptr, nullptr, nullptr},
    {FD_NETLINK_SOCKET, "netlink", "", Staged, nullptr, nullptr, same_message<&image::Fd::netlink_socket>, nullptr, nullptr},
};

}  // namespace

std::span<const FdKindOps> fd_kinds() { return kFdKinds; }

const FdKindOps* find_fd_kind(image::FdKind kind) {
  auto it = std::find_if(std::begin(kFdKinds), std::end(kFdKinds), [&](const FdKindOps& ops) { return ops.kind == kind; });
  return it == std::end(kFdKinds) ? nullptr : &*it;
}

const FdKindOps* find_anon_inode_kind(std::string_view name) {
  if (name.empty()) return nullptr;
  auto it = std::find_if(std::begin(kFdKinds), std::end(kFdKinds), [&](const FdKindOps& ops) { return ops.anon_inode == name; });
  return it == std::end(kFdKinds) ? nullptr : &*it;
}

Result<int> create_fd(const FdKindOps& ops, const image::Fd& fd, const ClockOffsets& tree_minus_caller) {
  if (!ops.install) return fail("fd kind " + std::string(ops.name) + " has no install step");
  ASSIGN_OR_RETURN(int made, ops.install(fd, tree_minus_caller));
  // File status flags (O_NONBLOCK ...) live in the open file; fcntl(F_SETFL) ignores the access mode.
  if (::fcntl(made, F_SETFL, static_cast<int>(fd.flags())) != 0) {
    Error e = errno_error("fcntl(F_SETFL)");
    ::close(made);
    return fail(e);
  }
  return made;
}

}  // namespace cryo::state
