#include "dump/pipe_contents.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <map>

#include "base/unique_fd.h"

namespace cryo::dump {
namespace {

constexpr int kMinPeekPipeSize = 64 * 1024;

// A read end of the pipe behind `end`, for this process (a named FIFO too). pidfd_getfd duplicates the tracee's own
// file (same open file description), which is the right thing for a read end. A write end cannot be
// tee'd from; opening /proc/PID/fd/N for reading gives a new read end of the same pipe instead.
Result<UniqueFd> local_read_end(const PipeEnd& end) {
  std::string who = "pid " + std::to_string(end.pid) + " fd " + std::to_string(end.fd);
  if (end.flags != O_WRONLY) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, end.pid, 0)));
    if (!pidfd.valid()) return fail_errno(who + ": pidfd_open");
    UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), end.fd, 0)));
    if (!copy.valid()) return fail_errno(who + ": pidfd_getfd");
    return copy;
  }
  std::string path = "/proc/" + std::to_string(end.pid) + "/fd/" + std::to_string(end.fd);
  // O_NONBLOCK: opening a pipe for reading must not wait for a writer.
  UniqueFd reader(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!reader.valid()) return fail_errno(who + ": open(" + path + ", O_RDONLY)");
  return reader;
}

// Copies the buffered bytes of the pipe without consuming them: tee() into a private peek pipe,
// then read that. tee uses one slot of the peek pipe per buffer of the source, so the peek pipe
// must be at least as large as the source. SPLICE_F_NONBLOCK is used instead of O_NONBLOCK on the
// copied fd, whose file status flags the tracee shares.
Result<> peek(const PipeEnd& end, image::PipeEntry& entry) {
  std::string who = "pipe " + std::to_string(end.pipe_id) + " (pid " + std::to_string(end.pid) + " fd " +
                    std::to_string(end.fd) + ")";
  ASSIGN_OR_RETURN(UniqueFd source, local_read_end(end));
  int capacity = ::fcntl(source.get(), F_GETPIPE_SZ);
  if (capacity < 0) return fail_errno(who + ": fcntl(F_GETPIPE_SZ)");
  entry.set_capacity(static_cast<uint32_t>(capacity));
  int buffered = 0;
  if (::ioctl(source.get(), FIONREAD, &buffered) != 0) return fail_errno(who + ": ioctl(FIONREAD)");
  if (buffered == 0) return {};

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail_errno("pipe2");
  UniqueFd peek_read(fds[0]), peek_write(fds[1]);
  int size = std::max(capacity, kMinPeekPipeSize);
  if (::fcntl(peek_write.get(), F_SETPIPE_SZ, size) < 0)
    return fail(errno_error(who + ": fcntl(F_SETPIPE_SZ, " + std::to_string(size) + ") for the peek pipe")
                    .with_hint("a pipe larger than /proc/sys/fs/pipe-max-size needs CAP_SYS_RESOURCE"));
  ssize_t copied = ::tee(source.get(), peek_write.get(), static_cast<size_t>(INT_MAX), SPLICE_F_NONBLOCK);
  if (copied < 0) return fail_errno(who + ": tee");
  if (copied != buffered)
    return fail(who + ": tee copied " + std::to_string(copied) + " of " + std::to_string(buffered) + " buffered bytes");
  // A buffer written in packet mode (O_DIRECT) ends every read that reaches it, and a read that
  // stops inside it drops the rest: its boundaries are part of the data, and pipes.img has no room
  // for them yet. One byte written after the copy shows them: a single read of everything stops
  // short of that byte exactly when some buffer is a packet. (If the peek pipe has no free slot for
  // the byte, only a packet before the last buffer shows, as a short read.)
  char marker = 0;
  bool marked = ::write(peek_write.get(), &marker, 1) == 1;
  std::string data(static_cast<size_t>(copied) + (marked ? 1 : 0), '\0');
  size_t got = 0;
  bool packets = false;
  while (got < data.size()) {
    ssize_t n = ::read(peek_read.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno(who + ": read(peek pipe)");
    if (got == 0 && static_cast<size_t>(n) < data.size()) packets = true;
    got += static_cast<size_t>(n);
    if (packets) break;
  }
  if (packets)
    return fail(make_error(who + " holds data written in packet mode (O_DIRECT), whose packet boundaries cryo cannot restore yet")
                    .with_hint("let the reader drain the pipe before the dump"));
  data.resize(static_cast<size_t>(copied));
  entry.set_data(std::move(data));
  return {};
}

// A named FIFO's ends are grouped by its inode, an anonymous pipe's by its pipefs inode: ends that
// share a number but not a FIFO (a FIFO on another filesystem, a pipefs inode that happens to have
// the number, another link to the FIFO) would be restored as one pipe, so they are refused.
Result<> set_fifo(const std::vector<const PipeEnd*>& holders, image::PipeEntry& entry) {
  const PipeEnd& first = *holders.front();
  for (const PipeEnd* end : holders)
    if (end->fifo_path != first.fifo_path || end->fifo_dev != first.fifo_dev)
      return fail(make_error("pid " + std::to_string(end->pid) + " fd " + std::to_string(end->fd) + " (" +
                             (end->fifo_path.empty() ? "a pipe" : end->fifo_path) + ") and pid " + std::to_string(first.pid) + " fd " +
                             std::to_string(first.fd) + " (" + (first.fifo_path.empty() ? "a pipe" : first.fifo_path) +
                             ") have the same inode number " + std::to_string(first.pipe_id) +
                             " but are not one FIFO by one path, which cryo cannot dump yet")
                      .with_hint("open a FIFO by one path only"));
  if (first.fifo_path.empty()) return {};
  entry.set_fifo_path(first.fifo_path);
  entry.set_fifo_dev(first.fifo_dev);
  entry.set_fifo_ino(first.pipe_id);
  entry.set_fifo_mode(first.fifo_mode);
  entry.set_fifo_uid(first.fifo_uid);
  entry.set_fifo_gid(first.fifo_gid);
  return {};
}

}  // namespace

Result<image::Pipes> collect_pipes(const std::vector<PipeEnd>& ends) {
  std::map<uint64_t, std::vector<const PipeEnd*>> by_pipe;
  for (const auto& end : ends) by_pipe[end.pipe_id].push_back(&end);
  image::Pipes pipes;
  for (const auto& [id, holders] : by_pipe) {
    image::PipeEntry* entry = pipes.add_pipes();
    entry->set_pipe_id(id);
    RETURN_IF_ERROR(set_fifo(holders, *entry));
    const PipeEnd* reader = nullptr;
    for (const PipeEnd* end : holders) {
      if (end->flags == O_RDONLY || end->flags == O_RDWR) {
        entry->set_has_reader_in_tree(true);
        if (!reader) reader = end;
      }
      if (end->flags == O_WRONLY || end->flags == O_RDWR) entry->set_has_writer_in_tree(true);
    }
    RETURN_IF_ERROR(peek(reader ? *reader : *holders.front(), *entry));
  }
  return pipes;
}

}  // namespace cryo::dump
