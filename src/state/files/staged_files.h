// What the single-threaded helper stages before the tree's init is cloned (FdKindOps::stage in
// fd_kinds.h): every pipe and FIFO, every socket, and every open file that more than one fd shares.
// They sit at high fd numbers that every placeholder inherits; each placeholder copies the ones it
// had to their numbers and closes the rest, so the same processes share the same open files again.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"

namespace cryo::state {

struct StagedPipe {
  int read_fd = -1;
  int write_fd = -1;
  bool fifo = false;  // A named FIFO: both are cryo's O_RDWR holder, closed once staging is done (pipe.h).
};

struct StagedFds {
  std::map<uint64_t, StagedPipe> pipes;  // By pipe_id; anonymous pipes only once staging is done.
  // Every pipe fd of the image, by (pid, fd number): the open file it gets a copy of. The fds that
  // shared an open file share one again; other open files of the same end (a reopen through
  // /proc/PID/fd, an O_RDWR one) are opened again the same way, so each keeps its own flags.
  std::map<std::pair<uint32_t, int>, int> pipe_files;
  std::map<uint64_t, int> files;         // By open_file_id, for ids used by more than one fd.
  std::map<uint64_t, int> objects;       // Memory objects by id (restore/memory_objects.h), made by cryo itself.
  std::map<const image::Fd*, int> objects_opened_by_name;  // MemoryObjects::opened_by_name.
  std::map<uint64_t, int> sockets;       // Unix socket ends and listeners, TCP listeners, netlink sockets, by socket_id.
};

// Moves `fd` to the lowest free number >= min_fd, where the staged fds go, and closes it at its old
// number (also on failure).
Result<int> move_fd_above(int fd, int min_fd);

// Stages every socket of `kind` in `set` once, however many fds hold it, into staged.sockets by
// `id_of` it: `make` creates it from one of its fds.
Result<> stage_each_socket_once(const ImageSet& set, image::FdKind kind, uint64_t (*id_of)(const image::Fd&),
                                Result<int> (*make)(const image::Fd&), int min_fd, StagedFds& staged);

}  // namespace cryo::state
