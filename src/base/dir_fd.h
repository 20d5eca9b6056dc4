// A directory held open by fd, and every file in it opened relative to that fd, never by a path that
// could be redirected. Image directories are data: whoever can write one can put a symlink, a FIFO
// or a device in it, and cryo runs as root. So names are looked at (fstatat without following)
// before anything is opened, opened with O_NOFOLLOW and O_NONBLOCK (a FIFO would block an open for
// reading until a writer comes), checked again with fstat on the open fd, and read within a bound.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace cryo {

// "a symlink", "a FIFO", "a directory", "a character device" ...: what a non-regular file is.
std::string_view file_type_name(mode_t mode);

// The one refusal of a non-regular entry: "DIR/restore.log is a symlink; an image directory holds
// only regular files ...".
Error not_regular_error(const std::string& path, mode_t mode);

// A regular file opened for reading, with its size when it was opened.
struct OpenedFile {
  UniqueFd fd;
  uint64_t size = 0;
};

class DirFd {
 public:
  // Opens `path` as a directory. Its last component must not be a symlink: a directory cryo
  // writes into or trusts is named as itself (earlier components are the user's to choose).
  static Result<DirFd> open(const std::string& path);
  // A directory opened relative to another one, without following a symlink.
  static Result<DirFd> open_at(const DirFd& parent, const std::string& name, const std::string& path);

  DirFd() = default;
  DirFd(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  // The path it was opened by, for messages only.
  const std::string& path() const { return path_; }
  std::string describe(std::string_view name) const { return path_ + "/" + std::string(name); }

  // lstat of an entry: nullopt-like ENOENT is reported as err == ENOENT.
  Result<struct stat> stat_entry(const std::string& name) const;
  // Refuses `name` when it exists and is not a regular file; fine when it is absent.
  Result<> refuse_non_regular(const std::string& name) const;

  // Opens a regular file for reading. Refuses by name anything else, before opening it, and a file
  // larger than max_size; checks the open fd is the file that was looked at.
  Result<OpenedFile> open_regular(const std::string& name, uint64_t max_size) const;
  // Reads a whole regular file of at most max_size bytes, never more than that.
  Result<std::string> read_regular(const std::string& name, uint64_t max_size) const;

  // Creates a new file, 0600, refusing any existing entry of that name (O_EXCL never follows).
  Result<UniqueFd> create_file(const std::string& name) const;
  // Creates `name` anew for writing (a log): refuses a non-regular entry by name, unlinks a regular
  // one (never truncates it: a hard link to another file would truncate that file) and creates it.
  Result<UniqueFd> replace_file(const std::string& name) const;

  // Every entry but "." and "..", sorted.
  Result<std::vector<std::string>> list() const;
  Result<> fsync() const;

 private:
  UniqueFd fd_;
  std::string path_;
};

// Reads at most max_size bytes of fd into a string, refusing a longer file (reads max_size + 1).
Result<std::string> read_bounded(int fd, uint64_t max_size, const std::string& what);

}  // namespace cryo
