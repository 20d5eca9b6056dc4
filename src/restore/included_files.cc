#include "restore/included_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace cryo::restore {
namespace {

// The directory that holds `path`, opened without following any symbolic link on the way.
Result<UniqueFd> open_parent(const std::string& path, std::string* name) {
  UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return fail_errno("open(/)");
  size_t at = 1;
  for (;;) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) {
      *name = path.substr(at);
      return dir;
    }
    std::string part = path.substr(at, slash - at);
    at = slash + 1;
    if (part.empty()) continue;
    if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir(" + path.substr(0, slash) + ")");
    UniqueFd next(::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return fail_errno("open(" + path.substr(0, slash) + ", O_NOFOLLOW)");
    dir = std::move(next);
  }
}

Result<bool> put_back(const image::IncludedFile& file) {
  std::string name;
  ASSIGN_OR_RETURN(UniqueFd dir, open_parent(file.path(), &name));
  struct stat st;
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return false;  // There already.
  if (errno != ENOENT) return fail_errno("stat(" + file.path() + ")");
  // Written under its final name with O_EXCL: nothing that appears meanwhile is overwritten; a
  // failure removes the partial file.
  UniqueFd out(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return fail_errno("create(" + file.path() + ")");
  auto written = write_all(out.get(), file.data().data(), file.data().size(), file.path());
  timespec times[2] = {{0, UTIME_OMIT}, {file.mtime_ns() / 1'000'000'000, file.mtime_ns() % 1'000'000'000}};
  if (!written || ::fchown(out.get(), file.uid(), file.gid()) != 0 || ::fchmod(out.get(), file.mode() & 07777) != 0 ||
      ::futimens(out.get(), times) != 0) {
    Error e = written ? errno_error("setting owner, mode and mtime of " + file.path()) : written.error();
    ::unlinkat(dir.get(), name.c_str(), 0);
    return fail(e);
  }
  return true;
}

}  // namespace

Result<std::vector<std::string>> put_back_included(const image::IncludedFiles& included) {
  std::vector<std::string> created;
  for (const auto& file : included.files()) {
    ASSIGN_OR_RETURN(bool made, put_back(file));
    if (made) created.push_back(file.path());
  }
  return created;
}

}  // namespace cryo::restore
