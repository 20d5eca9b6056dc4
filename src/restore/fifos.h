// Named FIFOs (mkfifo) come back as the pipe they were: the FIFO file stays at its path when the
// dumped tree dies, so restore reopens it there instead of creating a pipe, refills its buffer once,
// and gives every fd of the tree its own open of it (staged_fds.h) with its exact flags.
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
// An end the tree did not hold (no reader or no writer in it) is not given back, as with anonymous
// pipes: the restorer warns. For a FIFO that end may equally have been no one, and any process can
// open the path again after the restore.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "pipes.pb.h"

namespace cryo::restore {

// For the pre-flight: adds a problem when the FIFO's path is not a FIFO here or already holds data,
// or is gone with its directory (or from an image that did not record its mode), and a note when it
// is gone (restore makes it again) or is another FIFO than at the dump (`same_boot`: its device and inode are
// comparable with the image's).
void check_fifo(const image::PipeEntry& fifo, bool same_boot, std::vector<std::string>* problems, std::vector<std::string>* notes);

// The holder: the FIFO opened O_RDWR (close-on-exec), with the dumped capacity and buffered bytes;
// the FIFO is made first if its path has gone (given its mode and owner through the holder). Checks again that it is a FIFO and empty, since the path may have changed since the pre-flight.
Result<UniqueFd> open_fifo_holder(const image::PipeEntry& fifo);

}  // namespace cryo::restore
