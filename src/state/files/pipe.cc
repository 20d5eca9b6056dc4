#include "state/files/pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

namespace cryo::state {
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

// Bytes buffered in the FIFO open at `fd` (which any open of it shares), or -1 with errno.
int buffered_bytes(int fd) {
  int buffered = 0;
  return ::ioctl(fd, FIONREAD, &buffered) == 0 ? buffered : -1;
}

// "/a/b/fifo" -> "/a/b"; "/fifo" -> "/". The path is clean and absolute (validate_image).
std::string parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string octal(uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

// Makes the FIFO that has gone from its path, as the image recorded it. Returns false when something
// is at the path already (made meanwhile by someone else): it is then checked as any other.
Result<bool> make_fifo_if_gone(const image::PipeEntry& fifo) {
  struct stat st;
  if (fifo.fifo_mode() == 0 || ::lstat(fifo.fifo_path().c_str(), &st) == 0 || errno != ENOENT) return false;
  // The mode bits are set exactly on the open FIFO below: the umask may clear some here.
  if (::mkfifo(fifo.fifo_path().c_str(), 0600) != 0) {
    if (errno == EEXIST) return false;
    return fail_errno("mkfifo(" + fifo.fifo_path() + ")");
  }
  return true;
}

// The owner first: chown clears the set-user-ID and set-group-ID bits that chmod then sets.
Result<> give_fifo_its_owner_and_mode(int fd, const image::PipeEntry& fifo) {
  const std::string& path = fifo.fifo_path();
  if (::fchown(fd, fifo.fifo_uid(), fifo.fifo_gid()) != 0)
    return fail_errno("fchown(" + path + ", " + std::to_string(fifo.fifo_uid()) + ", " + std::to_string(fifo.fifo_gid()) + ")");
  if (::fchmod(fd, fifo.fifo_mode() & 07777) != 0) return fail_errno("fchmod(" + path + ", " + octal(fifo.fifo_mode() & 07777) + ")");
  return {};
}

std::string already_written(const std::string& path, int bytes) {
  return "FIFO " + path + " already holds " + std::to_string(bytes) +
         " bytes written by a process outside the tree; restoring would hand them to the tree (read or remove them first)";
}

Result<StagedPipe> stage_pipe(const image::PipeEntry& pipe, int min_fd) {
  int ends[2];
  if (::pipe2(ends, O_NONBLOCK) != 0) return fail_errno("pipe2");
  StagedPipe staged;
  ASSIGN_OR_RETURN(staged.read_fd, move_fd_above(ends[0], min_fd));
  ASSIGN_OR_RETURN(staged.write_fd, move_fd_above(ends[1], min_fd));
  if (pipe.capacity() != 0 && ::fcntl(staged.write_fd, F_SETPIPE_SZ, static_cast<int>(pipe.capacity())) < 0) {
    // Above /proc/sys/fs/pipe-max-size only CAP_SYS_RESOURCE may go; the data may still fit.
    if (pipe.data().size() > static_cast<size_t>(::fcntl(staged.write_fd, F_GETPIPE_SZ)))
      return fail_errno("fcntl(F_SETPIPE_SZ, " + std::to_string(pipe.capacity()) + ")");
  }
  // The write end is non-blocking while it is refilled: a pipe too small for its data must fail
  // here, not hang. The placeholders set each end's own flags afterwards.
  const char* data = pipe.data().data();
  size_t left = pipe.data().size();
  while (left > 0) {
    ssize_t n = ::write(staged.write_fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("write of " + std::to_string(pipe.data().size()) + " buffered bytes");
    data += n;
    left -= static_cast<size_t>(n);
  }
  for (int fd : {staged.read_fd, staged.write_fd})
    if (::fcntl(fd, F_SETFL, 0) != 0) return fail_errno("fcntl(F_SETFL)");
  return staged;
}

// Gives every pipe fd of the image its open file. pipe2 made one read-only and one write-only open
// file per pipe, without O_LARGEFILE: the first open file of the image that is like that takes it.
// Any other was made by an open of /proc/PID/fd/N (which adds O_LARGEFILE), and is made again so,
// with the flags only an open gives (access mode, O_SYNC ...); O_DIRECT (which such an open
// refuses for a pipe) and the rest are set by the placeholder (fd_status.h).
Result<> stage_pipe_files(const ImageSet& set, int min_fd, StagedFds& staged) {
  std::map<uint64_t, int> by_open_file;
  std::set<std::pair<uint64_t, bool>> taken;  // (pipe, write end) whose pipe2 end has its open file.
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_PIPE) continue;
      std::pair<uint32_t, int> key{process.pid(), fd.fd()};
      if (auto known = by_open_file.find(fd.open_file_id()); fd.open_file_id() != 0 && known != by_open_file.end()) {
        staged.pipe_files[key] = known->second;
        continue;
      }
      const StagedPipe& pipe = staged.pipes.at(fd.pipe_id());
      int mode = static_cast<int>(fd.flags()) & O_ACCMODE;
      int file = -1;
      constexpr uint32_t kKernelLargefile = 0100000;  // glibc's O_LARGEFILE is 0 on x86_64.
      // A FIFO's holder is cryo's own O_RDWR open (pipe.h): every fd of the tree gets an open of its own.
      if (!pipe.fifo && (mode == O_RDONLY || mode == O_WRONLY) && !(fd.flags() & kKernelLargefile) &&
          taken.insert({fd.pipe_id(), mode == O_WRONLY}).second) {
        file = mode == O_WRONLY ? pipe.write_fd : pipe.read_fd;
      } else {
        // Both ends are open here (a FIFO's holder is both), so opening either way does not wait for
        // the other side. Through /proc/self/fd, a FIFO is opened as the inode cryo checked.
        std::string path = "/proc/self/fd/" + std::to_string(pipe.read_fd);
        int flags = static_cast<int>(fd.flags()) & ~(O_DIRECT | O_ASYNC | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
        int opened = ::open(path.c_str(), flags);
        if (opened < 0) return fail_errno("pid " + std::to_string(process.pid()) + " fd " + std::to_string(fd.fd()) + ": open(pipe " +
                                          std::to_string(fd.pipe_id()) + ", " + std::to_string(flags) + ")");
        ASSIGN_OR_RETURN(file, move_fd_above(opened, min_fd));
      }
      staged.pipe_files[key] = file;
      if (fd.open_file_id() != 0) by_open_file[fd.open_file_id()] = file;
    }
  return {};
}

}  // namespace

void collect_pipe(const FdCollect& in, uint64_t pipe_id, image::Fd& out, std::vector<PipeEnd>& ends) {
  out.set_kind(image::FD_PIPE);
  out.set_pipe_id(pipe_id);
  out.set_pipe_write_end((in.info.flags & O_ACCMODE) == O_WRONLY);
  ends.push_back({pipe_id, in.pid, in.fd, in.info.flags & O_ACCMODE, "", 0});
}

Result<> collect_fifo(const FdCollect& in, const struct stat& st, image::Fd& out, std::vector<PipeEnd>& ends) {
  auto refused = [&](const std::string& kind) {
    return fail(make_error("fd " + std::to_string(in.fd) + " (" + out.path() + ") is " + kind + ", which cryo cannot dump yet"));
  };
  if (st.st_nlink == 0) return refused("a named FIFO unlinked while open");
  if (out.flags() & O_PATH) return refused("an O_PATH fd on a named FIFO");
  out.set_kind(image::FD_PIPE);
  out.set_pipe_id(st.st_ino);
  out.set_pipe_write_end((out.flags() & O_ACCMODE) == O_WRONLY);
  ends.push_back({st.st_ino, in.pid, in.fd, out.flags() & O_ACCMODE, out.path(), st.st_dev, st.st_mode, st.st_uid, st.st_gid});
  return {};
}

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

void check_fifo(const image::PipeEntry& fifo, bool same_boot, std::vector<std::string>* problems, std::vector<std::string>* notes) {
  const std::string& path = fifo.fifo_path();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT && fifo.fifo_mode() != 0) {
      // Made again at restore, in its directory, which must be there: cryo makes no directories.
      std::string parent = parent_directory(path);
      struct stat dir;
      if (::stat(parent.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) {
        problems->push_back("FIFO " + path + " of the tree is gone and cannot be made again: its directory " + parent + " is missing");
        return;
      }
      notes->push_back("FIFO " + path + " is gone; restore makes it again (mode " + octal(fifo.fifo_mode() & 07777) + ", owner " +
                       std::to_string(fifo.fifo_uid()) + ":" + std::to_string(fifo.fifo_gid()) + ")");
      return;
    }
    problems->push_back("FIFO " + path + " of the tree: " + std::strerror(err) + " (mkfifo " + path + " to restore it)");
    return;
  }
  if (!S_ISFIFO(st.st_mode)) {
    problems->push_back(path + " was a named FIFO of the tree and is no FIFO now");
    return;
  }
  // A non-blocking read-only open never waits for a writer, and adds no data.
  UniqueFd probe(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  int bytes = probe.valid() ? buffered_bytes(probe.get()) : -1;
  if (bytes < 0) {
    problems->push_back("FIFO " + path + " of the tree: " + std::strerror(errno));
    return;
  }
  if (bytes > 0) {
    problems->push_back(already_written(path, bytes));
    return;
  }
  if (same_boot && (st.st_dev != fifo.fifo_dev() || st.st_ino != fifo.fifo_ino()))
    notes->push_back("FIFO " + path + " is another FIFO than at the dump (made again); the tree gets this one");
}

Result<UniqueFd> open_fifo_holder(const image::PipeEntry& fifo) {
  const std::string& path = fifo.fifo_path();
  // O_NONBLOCK while refilled: data too large for the FIFO must fail here, not hang. No one else
  // shares this open file, and it is closed once the tree's fds are open.
  ASSIGN_OR_RETURN(bool made, make_fifo_if_gone(fifo));
  UniqueFd holder(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!holder.valid()) return fail_errno("open(" + path + ", O_RDWR)");
  struct stat st;
  if (::fstat(holder.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  if (!S_ISFIFO(st.st_mode)) return fail(path + " is no FIFO now");
  if (made) RETURN_IF_ERROR(give_fifo_its_owner_and_mode(holder.get(), fifo));
  int bytes = buffered_bytes(holder.get());
  if (bytes < 0) return fail_errno("ioctl(" + path + ", FIONREAD)");
  if (bytes > 0) return fail(already_written(path, bytes));
  if (fifo.capacity() != 0 && ::fcntl(holder.get(), F_SETPIPE_SZ, static_cast<int>(fifo.capacity())) < 0) {
    // Above /proc/sys/fs/pipe-max-size only CAP_SYS_RESOURCE may go; the data may still fit.
    if (fifo.data().size() > static_cast<size_t>(::fcntl(holder.get(), F_GETPIPE_SZ)))
      return fail_errno("fcntl(" + path + ", F_SETPIPE_SZ, " + std::to_string(fifo.capacity()) + ")");
  }
  const char* data = fifo.data().data();
  size_t left = fifo.data().size();
  while (left > 0) {
    ssize_t n = ::write(holder.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("write of " + std::to_string(fifo.data().size()) + " buffered bytes to " + path);
    data += n;
    left -= static_cast<size_t>(n);
  }
  return holder;
}

Result<> stage_pipes(const ImageSet& set, int min_fd, StagedFds& staged) {
  std::vector<UniqueFd> fifo_holders;
  for (const auto& pipe : set.pipes.pipes()) {
    if (!pipe.fifo_path().empty()) {
      ASSIGN_OR_RETURN_CTX(UniqueFd holder, open_fifo_holder(pipe), "FIFO " + pipe.fifo_path());
      staged.pipes[pipe.pipe_id()] = {holder.get(), holder.get(), true};
      fifo_holders.push_back(std::move(holder));
      continue;
    }
    ASSIGN_OR_RETURN_CTX(staged.pipes[pipe.pipe_id()], stage_pipe(pipe, min_fd), "pipe " + std::to_string(pipe.pipe_id()));
  }
  RETURN_IF_ERROR(stage_pipe_files(set, min_fd, staged));
  // The tree's own opens of each FIFO hold its buffer now; the holder would be one opener too many.
  for (const auto& pipe : set.pipes.pipes())
    if (!pipe.fifo_path().empty()) staged.pipes.erase(pipe.pipe_id());
  fifo_holders.clear();
  return {};
}

}  // namespace cryo::state
