// The validation of pipes.img and of pipe fds (pipe.h): pure, so that the image fuzzer links it.
#include <sys/stat.h>

#include <cstdint>
#include <set>

#include "image/value_checks.h"
#include "state/files/pipe.h"

namespace cryo::state {

void validate_pipes(const image::Pipes& pipes, std::vector<std::string>* problems) {
  std::set<uint64_t> pipe_ids;
  std::set<std::string> fifo_paths;
  for (const auto& pipe : pipes.pipes()) {
    if (!pipe.fifo_path().empty() && !fifo_paths.insert(pipe.fifo_path()).second)
      problems->push_back("FIFO " + pipe.fifo_path() + " appears twice in pipes.img");
    if (!pipe_ids.insert(pipe.pipe_id()).second) problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + " appears twice");
    if (pipe.capacity() > (1u << 30) || (pipe.capacity() != 0 && pipe.data().size() > pipe.capacity()))
      problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": " + std::to_string(pipe.data().size()) +
                          " buffered bytes do not fit its capacity of " + std::to_string(pipe.capacity()));
    // A named FIFO is reopened at its path: it must be one a dump could have recorded, and its
    // pipe_id is the FIFO's inode.
    if (pipe.fifo_path().empty()) {
      if (pipe.fifo_dev() != 0 || pipe.fifo_ino() != 0 || pipe.fifo_mode() != 0 || pipe.fifo_uid() != 0 || pipe.fifo_gid() != 0)
        problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": a FIFO identity without a FIFO path");
    } else {
      if (!image::is_clean_absolute_path(pipe.fifo_path()) || pipe.fifo_path() == "/")
        problems->push_back("pipe " + std::to_string(pipe.pipe_id()) + ": FIFO path '" + pipe.fifo_path() + "' is not a clean absolute path");
      // Restore may mkfifo with this mode: a FIFO's type bits and permission bits, nothing else.
      if (pipe.fifo_mode() != 0 && ((pipe.fifo_mode() & S_IFMT) != S_IFIFO || (pipe.fifo_mode() & ~(S_IFMT | 07777)) != 0))
        problems->push_back("FIFO " + pipe.fifo_path() + ": mode " + std::to_string(pipe.fifo_mode()) + " is not a FIFO's");
      if (pipe.fifo_mode() == 0 && (pipe.fifo_uid() != 0 || pipe.fifo_gid() != 0))
        problems->push_back("FIFO " + pipe.fifo_path() + ": an owner without a mode");
      // (uid_t)-1 is no owner: chown reads it as "leave unchanged".
      if (pipe.fifo_uid() == UINT32_MAX || pipe.fifo_gid() == UINT32_MAX)
        problems->push_back("FIFO " + pipe.fifo_path() + ": owner " + std::to_string(pipe.fifo_uid()) + ":" + std::to_string(pipe.fifo_gid()) + " is not one");
      if (pipe.fifo_ino() != pipe.pipe_id())
        problems->push_back("FIFO " + pipe.fifo_path() + ": inode " + std::to_string(pipe.fifo_ino()) + " is not its pipe id " +
                            std::to_string(pipe.pipe_id()));
    }
  }
}

void validate_pipe_fd(const image::Fd& fd, const std::map<uint64_t, const image::PipeEntry*>& pipes, const std::string& name,
                      std::vector<std::string>* problems) {
  auto pipe = pipes.find(fd.pipe_id());
  if (pipe == pipes.end()) {
    problems->push_back(name + ": pipe " + std::to_string(fd.pipe_id()) + " is not in pipes.img");
  } else if (fd.path() != pipe->second->fifo_path()) {
    // A named FIFO's fds carry its path; an anonymous pipe's carry none. Restore reopens by the entry's path.
    problems->push_back(name + ": path '" + fd.path() + "' is not the path '" + pipe->second->fifo_path() + "' of pipe " +
                        std::to_string(fd.pipe_id()));
  }
}

}  // namespace cryo::state
