// Pipes and named FIFOs: a pipe is an open file of each of its ends, grouped by its pipefs inode
// (pipe_id); a named FIFO (mkfifo) is a pipe with a path, grouped by the FIFO file's inode. Their
// fds name the pipe; pipes.img holds each pipe once, with the bytes buffered in it.
//
// Dump: the fds of a process give their ends (collect_pipe, collect_fifo); once every process is
// read, collect_pipes copies each pipe's buffer without consuming it.
//
// Restore: the helper stages every pipe before the tree is cloned (stage_pipes): pipe2 for an
// anonymous one, with its buffered bytes written back; a named FIFO is reopened at its path instead
// (the FIFO file stays there when the dumped tree dies), refilled once, and every fd of the tree gets
// its own open of it with its exact flags.
//
// An O_WRONLY open of a FIFO blocks (or, non-blocking, fails ENXIO) while no one has it open for
// reading; an O_RDWR open never blocks on Linux. So restore first opens it O_RDWR (the holder),
// refills the buffer through it, opens the fds of the tree through it, and then closes it: only the
// tree's own opens remain, as at the dump.
//
// The buffer is the tree's alone: a FIFO that already holds data here was written by someone
// outside the tree, and restoring on top of that data would hand it to the tree. That, or a path
// that is no FIFO any more, stops the restore before anything is created. Only an open can tell
// whether a FIFO holds data, so the pre-flight opens it read-only and non-blocking for a moment: a
// writer outside that was blocked opening it for writing is let through by that moment's reader.
//
// A FIFO whose path no longer exists (a restore on another host, or someone removed it) is made
// again with the mode and owner the dump recorded, in its directory, which must exist; a path that
// holds something else than a FIFO is refused.
//
// An end the tree did not hold (no reader or no writer in it) is not given back: the restorer
// warns. For a FIFO that end may equally have been no one, and any process can open the path again
// after the restore.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "pipes.pb.h"
#include "state/files/fd_kinds.h"
#include "state/files/staged_files.h"

namespace cryo::state {

// One end of a pipe held by a process of the tree; pipes.img is built from all of them.
struct PipeEnd {
  uint64_t pipe_id = 0;
  pid_t pid = 0;      // Host PID of the holder.
  int fd = -1;
  uint32_t flags = 0; // Open flags: O_RDONLY, O_WRONLY or (after a reopen through /proc) O_RDWR.
  // A named FIFO: its path and the FIFO file's device and inode (pipe_id is that inode). Empty for
  // an anonymous pipe.
  std::string fifo_path;
  uint64_t fifo_dev = 0;
  // The FIFO file's st_mode and owner, for restore to make it again where it has gone.
  uint32_t fifo_mode = 0;
  uint32_t fifo_uid = 0;
  uint32_t fifo_gid = 0;
};

// Dump: an fd whose link is "pipe:[pipe_id]": sets its kind and pipe, and appends its end to `ends`.
void collect_pipe(const FdCollect& in, uint64_t pipe_id, image::Fd& out, std::vector<PipeEnd>& ends);

// Dump: an fd on a named FIFO, `st` its stat (its flags and path are in `out`): the same, grouped by
// the FIFO's inode. Refuses a FIFO unlinked while open (it could not be reopened, and a new one would
// not be the one other processes may open later) and an O_PATH fd on one (no reader or writer).
Result<> collect_fifo(const FdCollect& in, const struct stat& st, image::Fd& out, std::vector<PipeEnd>& ends);

// Dump: pipes.img, one entry per pipe, sorted by pipe id. The tree must be frozen: the copy is only
// exact while no one reads or writes.
Result<image::Pipes> collect_pipes(const std::vector<PipeEnd>& ends);

// Validation of pipes.img (pure): ids and FIFO paths once each, buffered bytes within the capacity,
// a FIFO's identity only with its path, a mode a mkfifo may give, an owner that is one.
void validate_pipes(const image::Pipes& pipes, std::vector<std::string>* problems);

// Validation of one pipe fd against pipes.img (`pipes` by pipe_id): its pipe is there, with its path.
void validate_pipe_fd(const image::Fd& fd, const std::map<uint64_t, const image::PipeEntry*>& pipes, const std::string& name,
                      std::vector<std::string>* problems);

// For the pre-flight: adds a problem when the FIFO's path is not a FIFO here or already holds data,
// or is gone with its directory (or from an image that did not record its mode), and a note when it
// is gone (restore makes it again) or is another FIFO than at the dump (`same_boot`: its device and
// inode are comparable with the image's).
void check_fifo(const image::PipeEntry& fifo, bool same_boot, std::vector<std::string>* problems, std::vector<std::string>* notes);

// The holder: the FIFO opened O_RDWR (close-on-exec), with the dumped capacity and buffered bytes;
// the FIFO is made first if its path has gone (given its mode and owner through the holder). Checks
// again that it is a FIFO and empty, since the path may have changed since the pre-flight.
Result<UniqueFd> open_fifo_holder(const image::PipeEntry& fifo);

// The stage step (FdKindOps::stage): every pipe of pipes.img, and the open file of every pipe fd
// (staged.pipe_files). Anonymous pipes stay in staged.pipes; FIFO holders are closed at the end.
Result<> stage_pipes(const ImageSet& set, int min_fd, StagedFds& staged);

}  // namespace cryo::state
