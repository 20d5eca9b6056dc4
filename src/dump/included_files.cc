#include "dump/included_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace cryo::dump {
namespace {

Result<struct stat> lstat_path(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return fail(errno_error("lstat(" + path + ")").context("--include"));
  return st;
}

Result<> add_file(const std::string& path, image::IncludedFiles& out, uint64_t& total) {
  // O_NOFOLLOW: what is stored is the file at this very path, not what a symlink there points to.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (!fd.valid()) return fail(errno_error("open(" + path + ")").context("--include"));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail(errno_error("fstat(" + path + ")").context("--include"));
  if (!S_ISREG(st.st_mode)) return fail(make_error("--include " + path + ": not a regular file"));
  uint64_t size = uint64_t(st.st_size);
  if (size > kMaxIncludedFile)
    return fail(make_error("--include " + path + ": " + std::to_string(size >> 20) + " MiB, more than the 64 MiB cryo carries per file"));
  total += size;
  if (total > kMaxIncludedTotal) return fail(make_error("--include: more than the 192 MiB cryo carries in one image"));
  std::string data(size, '\0');
  for (size_t at = 0; at < size;) {
    ssize_t n = ::pread(fd.get(), data.data() + at, size - at, off_t(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error("read(" + path + ")").context("--include"));
    if (n == 0) return fail(make_error("--include " + path + ": it shrank while it was read"));
    at += size_t(n);
  }
  auto* file = out.add_files();
  file->set_path(path);
  file->set_mode(st.st_mode & 07777);
  file->set_uid(st.st_uid);
  file->set_gid(st.st_gid);
  file->set_mtime_ns(int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
  file->set_data(std::move(data));
  return {};
}

}  // namespace

Result<> check_include_paths(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    if (path.empty() || path[0] != '/' || path.size() > 4096 || path.find("/../") != std::string::npos || path.ends_with("/.."))
      return fail(make_error("--include " + path + ": give an absolute path without \"..\""));
    ASSIGN_OR_RETURN(struct stat st, lstat_path(path));
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
      return fail(make_error("--include " + path + ": not a regular file or directory" + (S_ISLNK(st.st_mode) ? " (a symbolic link: name the file it points to)" : "")));
  }
  return {};
}

Result<image::IncludedFiles> collect_included(const std::vector<std::string>& paths, const std::set<std::string>& used) {
  image::IncludedFiles out;
  std::set<std::string> chosen;
  for (const auto& path : paths) {
    ASSIGN_OR_RETURN(struct stat st, lstat_path(path));
    if (S_ISREG(st.st_mode)) {
      chosen.insert(path);
      continue;
    }
    std::string prefix = path.ends_with("/") ? path : path + "/";
    for (const auto& file : used)
      if (file.starts_with(prefix)) chosen.insert(file);
  }
  uint64_t total = 0;
  for (const auto& path : chosen) RETURN_IF_ERROR(add_file(path, out, total));
  return out;
}

}  // namespace cryo::dump
