#include "image/restore_open_files.h"

#include <string>

#include "kernel/open_file_limit.h"

namespace cryo::image {

uint64_t open_files_restore_needs(int fd_base, uint64_t memory_objects) {
  constexpr uint64_t kOwnFds = 16;  // cryo's report channel, pipes, image files and logs.
  return static_cast<uint64_t>(fd_base) + memory_objects + kOwnFds;
}

Result<> check_open_files_for_restore(int fd_base, uint64_t memory_objects, std::string_view then) {
  ASSIGN_OR_RETURN(uint64_t limit, raise_open_file_limit_to_most());
  uint64_t needed = open_files_restore_needs(fd_base, memory_objects);
  if (needed <= limit) return {};
  return fail("restoring the tree needs at least " + std::to_string(needed) + " open files in cryo at once (its fd numbers below " +
              std::to_string(fd_base) + ", and one for each of its " + std::to_string(memory_objects) +
              " memory objects), more than cryo's open-file limit of " + std::to_string(limit) +
              "; raise it (ulimit -Hn, or give cryo CAP_SYS_RESOURCE) and " + std::string(then));
}

}  // namespace cryo::image
