#include "image/file_identity.h"

#include <sys/vfs.h>
#include <unistd.h>

namespace cryo {

Result<struct stat> stat_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fail_errno("stat(" + path + ")");
  return st;
}

void set_identity(const struct stat& st, image::FileIdentity* id) {
  id->set_dev(st.st_dev);
  id->set_ino(st.st_ino);
  id->set_size(static_cast<uint64_t>(st.st_size));
  id->set_mtime_ns(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  id->set_mode(st.st_mode);
}

unsigned long filesystem_magic(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 ? static_cast<unsigned long>(fs.f_type) : 0;
}

}  // namespace cryo
