// Memory objects of objects.img recreated for restore: each shared anonymous region, memfd and
// deleted file once, by cryo itself before the restore helper forks, so the helper and every
// placeholder inherit the same object at the same fd number and cryo knows that number when it
// maps the object into a tracee:
// - shared anonymous memory: a MAP_SHARED|MAP_ANONYMOUS mapping of the object's size, filled, and
//   opened through /proc/self/map_files; mapping that fd gives every holder the one shmem object,
//   still named "/dev/zero (deleted)" as the kernel names shared anonymous memory;
// - memfd: memfd_create with its name, size, contents, mode and then its seals;
// - deleted file: an O_TMPFILE in the directory it was in (so on the same filesystem, and never
//   linked: st_nlink stays 0), with its contents, size, mode and owner.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/image_set.h"

namespace cryo::restore {

struct MemoryObjects {
  std::map<uint64_t, UniqueFd> by_id;
  // The open files of deleted-file fds with O_NOFOLLOW, by their image fd: O_NOFOLLOW cannot be
  // given to an open through /proc/self/fd (a symlink of the kernel's), so these are opened through
  // the file's old name while it has it for a moment, when the object is made.
  std::map<const image::Fd*, UniqueFd> opened_by_name;
};

// Creates every object of the image at fd numbers >= min_fd, not close-on-exec.
Result<MemoryObjects> create_memory_objects(const ImageSet& set, int min_fd);

// The objects that the mappings of `process` map (they are kept open in its placeholder until
// its memory is restored).
std::set<uint64_t> objects_mapped_by(const ProcessImage& process);

}  // namespace cryo::restore
