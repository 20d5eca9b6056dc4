#include "restore/namespace_files.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "ns/restored_namespaces.h"

namespace cryo::restore {

Result<int> open_namespace_file(const image::Fd& fd) {
  const std::string& type = fd.namespace_file().type();
  std::string path = "/proc/1/ns/" + type;
  // O_ASYNC is armed by F_SETFL at the fd's number (fd_status.h), like every status flag open does
  // not take. Validation refused O_NOFOLLOW, which would open the magic link itself.
  int flags = static_cast<int>(fd.flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_ASYNC);
  UniqueFd opened(::open(path.c_str(), flags | O_NOCTTY));
  if (!opened.valid()) return fail_errno("open(" + path + ")");
  // What was opened is the namespace itself, and of the image's type: an O_PATH fd cannot be asked
  // NS_GET_NSTYPE, its filesystem tells enough.
  struct statfs fs;
  if (::fstatfs(opened.get(), &fs) != 0) return fail_errno("fstatfs(" + path + ")");
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) return fail(path + " is not a namespace file");
  if (!(fd.flags() & O_PATH)) {
    int got = ::ioctl(opened.get(), NS_GET_NSTYPE);
    if (got < 0) return fail_errno("ioctl(" + path + ", NS_GET_NSTYPE)");
    if (got != namespace_type_flag(type)) return fail(path + " is a namespace of another type (" + std::to_string(got) + ")");
  }
  return opened.release();
}

}  // namespace cryo::restore
