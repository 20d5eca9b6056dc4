#include "state/files/fd_kinds.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <unistd.h>

#include <algorithm>

#include "state/files/epoll.h"
#include "state/files/eventfd.h"
#include "state/files/fanotify.h"
#include "state/files/inotify.h"
#include "state/files/memfd.h"
#include "state/files/namespace_file.h"
#include "state/files/netlink_socket.h"
#include "state/files/pidfd.h"
#include "state/files/pipe.h"
#include "state/files/proc_file.h"
#include "state/files/signalfd.h"
#include "state/files/tcp_listener.h"
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

// One line per kind, naming the slots it fills. A kind whose code is not under state/files/ yet has
// empty code slots: dump/ and restore/ call it.
constexpr FdKindOps kFdKinds[] = {
    {.kind = FD_REGULAR, .name = "file"},
    {.kind = FD_DIRECTORY, .name = "directory"},
    {.kind = FD_CHARDEV, .name = "chardev"},
    {.kind = FD_PIPE, .name = "pipe", .sharing = Staged, .stage = stage_pipes},
    {.kind = FD_EVENTFD, .name = "eventfd", .anon_inode = "eventfd", .collect = collect_eventfd, .validate = validate_eventfd, .same_state = same_message<&image::Fd::eventfd>, .install = install_eventfd},
    {.kind = FD_TIMERFD, .name = "timerfd", .anon_inode = "timerfd", .collect = collect_timerfd, .validate = validate_timerfd, .same_state = same_timerfd, .install = install_timerfd},
    {.kind = FD_SIGNALFD, .name = "signalfd", .anon_inode = "signalfd", .collect = collect_signalfd, .validate = validate_signalfd, .same_state = same_message<&image::Fd::signalfd>, .install = install_signalfd},
    {.kind = FD_EPOLL, .name = "epoll", .anon_inode = "eventpoll", .collect = collect_epoll, .validate = validate_epoll, .same_state = same_epoll, .install = install_epoll, .finish = finish_epoll},
    {.kind = FD_UNIX_SOCKET, .name = "unix", .sharing = Staged, .same_state = same_message<&image::Fd::unix_socket>},
    {.kind = FD_TCP_LISTENER, .name = "tcp", .sharing = Staged, .validate = validate_tcp_listener, .stage = stage_tcp_listeners},
    {.kind = FD_MEMFD, .name = "memfd", .install = install_memory_object_fd},
    {.kind = FD_DELETED_FILE, .name = "deleted", .install = install_memory_object_fd},
    {.kind = FD_INOTIFY, .name = "inotify", .anon_inode = "inotify", .collect = collect_inotify, .validate = validate_inotify, .same_state = same_message<&image::Fd::inotify>, .install = install_inotify},
    {.kind = FD_PROC_FILE, .name = "proc", .filesystem = PROC_SUPER_MAGIC, .sharing = WithinProcess, .collect = collect_proc_file, .install = install_proc_file},
    {.kind = FD_NAMESPACE, .name = "namespace", .filesystem = NSFS_MAGIC, .sharing = WithinProcess, .collect = collect_namespace_file, .install = install_namespace_file},
    {.kind = FD_FANOTIFY, .name = "fanotify", .anon_inode = "fanotify", .collect = collect_fanotify, .validate = validate_fanotify, .same_state = same_message<&image::Fd::fanotify>, .install = install_fanotify},
    {.kind = FD_POSIX_MQUEUE, .name = "mqueue", .sharing = InNamespace},
    {.kind = FD_NETLINK_SOCKET, .name = "netlink", .sharing = Staged, .validate = validate_netlink_fd, .same_state = same_message<&image::Fd::netlink_socket>, .stage = stage_netlink_sockets},
    {.kind = FD_PIDFD, .name = "pidfd", .anon_inode = "pidfd", .sharing = WithinProcess, .collect = collect_pidfd, .validate = validate_pidfd, .same_state = same_message<&image::Fd::pidfd>, .install = install_pidfd},
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

const FdKindOps* find_filesystem_kind(unsigned long magic) {
  if (magic == 0) return nullptr;
  auto it = std::find_if(std::begin(kFdKinds), std::end(kFdKinds), [&](const FdKindOps& ops) { return ops.filesystem == magic; });
  return it == std::end(kFdKinds) ? nullptr : &*it;
}

std::string fd_link(const FdCollect& in) { return "/proc/" + std::to_string(in.pid) + "/fd/" + std::to_string(in.fd); }

int earlier_fd_of_open_file(const ProcessImage& process, const image::Fd& fd) {
  if (fd.open_file_id() == 0) return -1;
  for (const auto& earlier : process.files.fds()) {
    if (&earlier == &fd) break;
    if (earlier.kind() == fd.kind() && earlier.open_file_id() == fd.open_file_id()) return earlier.fd();
  }
  return -1;
}

Result<int> create_fd(const FdKindOps& ops, const image::Fd& fd, const FdInstall& at) {
  if (!ops.install) return fail("fd kind " + std::string(ops.name) + " has no install step");
  ASSIGN_OR_RETURN(int made, ops.install(fd, at));
  // File status flags (O_NONBLOCK ...) live in the open file; fcntl(F_SETFL) ignores the access mode,
  // and refuses an O_PATH fd (a reopened file's), whose flags all came from its open.
  if (!(fd.flags() & O_PATH) && ::fcntl(made, F_SETFL, static_cast<int>(fd.flags())) != 0) {
    Error e = errno_error("fcntl(F_SETFL)");
    ::close(made);
    return fail(e);
  }
  return made;
}

}  // namespace cryo::state
