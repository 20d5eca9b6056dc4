#include "base/dir_fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cryo {

std::string_view file_type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFLNK: return "a symlink";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
  }
}

Error not_regular_error(const std::string& path, mode_t mode) {
  return make_error(path + " is " + std::string(file_type_name(mode)))
      .with_hint("an image directory holds only regular files written by cryo; remove it, or use another directory");
}

Result<DirFd> DirFd::open(const std::string& path) {
  // O_NOFOLLOW applies to the last component only: a symlink there is ELOOP (ENOTDIR when it is
  // not a directory at all).
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    struct stat st;
    if ((err == ELOOP || err == ENOTDIR) && ::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      if (S_ISLNK(st.st_mode))
        return fail(make_error(path + " is a symlink")
                        .with_hint("give the directory itself with -D (readlink -f " + path + ")"));
      return fail(path + " is " + std::string(file_type_name(st.st_mode)) + ", not a directory");
    }
    return fail(errno_error("open(" + path + ", O_DIRECTORY)", err)
                    .with_hint(err == ENOENT ? "check the path given with -D" : ""));
  }
  return DirFd(std::move(fd), path);
}

Result<DirFd> DirFd::open_at(const DirFd& parent, const std::string& name, const std::string& path) {
  UniqueFd fd(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (auto st = parent.stat_entry(name); st && !S_ISDIR(st->st_mode))
      return fail(path + " is " + std::string(file_type_name(st->st_mode)) + ", not a directory");
    return fail(errno_error("open(" + path + ", O_DIRECTORY)", err));
  }
  return DirFd(std::move(fd), path);
}

Result<struct stat> DirFd::stat_entry(const std::string& name) const {
  struct stat st;
  if (::fstatat(get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("lstat(" + describe(name) + ")");
  return st;
}

Result<> DirFd::refuse_non_regular(const std::string& name) const {
  auto st = stat_entry(name);
  if (!st) return st.error().err == ENOENT ? Result<>() : fail(st.error());
  if (!S_ISREG(st->st_mode)) return fail(not_regular_error(describe(name), st->st_mode));
  return {};
}

Result<OpenedFile> DirFd::open_regular(const std::string& name, uint64_t max_size) const {
  std::string path = describe(name);
  // Looked at by name first: opening a device can have effects of its own (a tape rewinds).
  ASSIGN_OR_RETURN(struct stat named, stat_entry(name));
  if (!S_ISREG(named.st_mode)) return fail(not_regular_error(path, named.st_mode));
  OpenedFile file;
  file.fd.reset(::openat(get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.fd.valid()) return fail_errno("open(" + path + ")");
  struct stat st;
  if (::fstat(file.fd.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  // Replaced between the look and the open: the same refusal as if it had been there all along.
  if (!S_ISREG(st.st_mode)) return fail(not_regular_error(path, st.st_mode));
  if (st.st_dev != named.st_dev || st.st_ino != named.st_ino) return fail(path + " was replaced while cryo opened it");
  file.size = static_cast<uint64_t>(st.st_size);
  if (file.size > max_size)
    return fail(make_error(path + " has " + std::to_string(file.size) + " bytes, more than the " +
                           std::to_string(max_size) + " it may have")
                    .with_hint("the image is damaged or was not written by cryo"));
  return file;
}

Result<std::string> read_bounded(int fd, uint64_t max_size, const std::string& what) {
  std::string out;
  char buf[64 << 10];
  for (;;) {
    // One byte more than allowed tells a file that grew past the bound without reading the rest.
    uint64_t room = max_size + 1 - out.size();
    ssize_t n = ::read(fd, buf, static_cast<size_t>(std::min<uint64_t>(sizeof buf, room)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read(" + what + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) return fail(what + " holds more than " + std::to_string(max_size) + " bytes");
  }
  return out;
}

Result<std::string> DirFd::read_regular(const std::string& name, uint64_t max_size) const {
  ASSIGN_OR_RETURN(OpenedFile file, open_regular(name, max_size));
  return read_bounded(file.fd.get(), max_size, describe(name));
}

Result<UniqueFd> DirFd::create_file(const std::string& name) const {
  UniqueFd fd(::openat(get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail_errno("open(" + describe(name) + ")");
  return fd;
}

Result<UniqueFd> DirFd::replace_file(const std::string& name) const {
  RETURN_IF_ERROR(refuse_non_regular(name));
  if (::unlinkat(get(), name.c_str(), 0) != 0 && errno != ENOENT) return fail_errno("unlink(" + describe(name) + ")");
  return create_file(name);
}

Result<std::vector<std::string>> DirFd::list() const {
  // fdopendir takes over the fd it is given: give it a duplicate.
  int dup = ::fcntl(get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("fcntl(" + path_ + ", F_DUPFD_CLOEXEC)");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return fail_errno("fdopendir(" + path_ + ")");
  }
  ::rewinddir(d);  // The duplicate shares the position of any earlier listing.
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<> DirFd::fsync() const {
  if (::fsync(get()) != 0) return fail_errno("fsync(" + path_ + ")");
  return {};
}

}  // namespace cryo
