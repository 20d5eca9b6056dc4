#include "state/files/memfd.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace cryo::state {

Result<int> reopen_object(const image::Fd& fd, int object_fd, int opened_by_name) {
  std::string path = "/proc/self/fd/" + std::to_string(object_fd);
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE);
  int opened = opened_by_name >= 0 ? ::fcntl(opened_by_name, F_DUPFD, 0) : ::open(path.c_str(), flags | O_NOCTTY);
  if (opened < 0) return fail_errno(opened_by_name >= 0 ? "fcntl(F_DUPFD)" : "open(" + path + ")");
  if (fd.pos() != 0 && ::lseek(opened, static_cast<off_t>(fd.pos()), SEEK_SET) < 0) {
    Error e = errno_error("lseek(" + std::to_string(fd.pos()) + ")");
    ::close(opened);
    return fail(e);
  }
  return opened;
}

Result<int> install_memory_object_fd(const image::Fd& fd, const FdInstall& at) {
  if (!at.staged) return fail("memory object " + std::to_string(fd.object_id()) + " is only reopened where the objects are staged");
  auto object = at.staged->objects.find(fd.object_id());
  if (object == at.staged->objects.end()) return fail("memory object " + std::to_string(fd.object_id()) + " was not recreated");
  auto named = at.staged->objects_opened_by_name.find(&fd);
  return reopen_object(fd, object->second, named == at.staged->objects_opened_by_name.end() ? -1 : named->second);
}

}  // namespace cryo::state
