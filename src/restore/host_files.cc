#include "restore/host_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/hex.h"
#include "base/unique_fd.h"
#include "image/image_dir.h"
#include "kernel/elf_file.h"

namespace cryo::restore {
namespace {

// "executable of pid 1, mapped by pid 1 and pid 2, and 3 more".
std::string who(const std::vector<std::string>& users) {
  std::string out;
  constexpr size_t kNamed = 3;
  for (size_t i = 0; i < users.size() && i < kNamed; ++i) out += (i ? ", " : "") + users[i];
  if (users.size() > kNamed) out += ", and " + std::to_string(users.size() - kNamed) + " more";
  return out;
}

std::string build_id_text(const std::string& id) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : id) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out.empty() ? "none" : out;
}

}  // namespace

PathStat stat_path(const std::string& path) {
  PathStat out;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    out.err = errno;
    return out;
  }
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  out.mode = st.st_mode;
  out.rdev = st.st_rdev;
  return out;
}

PathContent read_path_content(const std::string& path, bool hash) {
  PathContent out;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
    out.err = errno;
    return out;
  }
  out.build_id = elf::build_id_of_fd(fd.get(), uint64_t(st.st_size));
  if (!hash) return out;
  auto sum = image::checksum_fd(fd.get(), path);
  if (!sum) {
    out.err = sum.error().err ? sum.error().err : EIO;
    return out;
  }
  out.hashed = true;
  out.xxh3 = *sum;
  return out;
}

HostFiles::HostFiles(const image::FileContents& contents, bool same_boot, const StatFunction& stat, const ContentFunction& content)
    : same_boot_(same_boot), stat_(stat), content_(content) {
  for (const auto& file : contents.files()) contents_.emplace(std::make_pair(file.dev(), file.ino()), &file);
}

void HostFiles::same_file(const std::string& path, const image::FileIdentity& id, const std::string& user) {
  Use& use = same_[path];
  if (use.users.empty()) use.id = id;
  if (std::find(use.users.begin(), use.users.end(), user) == use.users.end()) use.users.push_back(user);
}

void HostFiles::writable_file(const std::string& path, const image::FileIdentity& id, uint64_t pos, const std::string& user) {
  Use& use = writable_[path];
  if (use.users.empty()) use.id = id;
  use.writable = true;
  use.pos = std::max(use.pos, pos);
  if (std::find(use.users.begin(), use.users.end(), user) == use.users.end()) use.users.push_back(user);
}

void HostFiles::kind(const std::string& path, const std::string& user, bool want_dir, uint64_t rdev) {
  if (!kinds_seen_.insert(path + (want_dir ? "\ndir" : "\ndev")).second) return;
  PathStat st = stat_(path);
  if (st.err != 0) {
    kind_problems_.push_back(path + " (" + user + "): " + std::strerror(st.err));
  } else if (want_dir && !S_ISDIR(st.mode)) {
    kind_problems_.push_back(path + " (" + user + ") is no longer a directory");
  } else if (!want_dir && (!S_ISCHR(st.mode) || st.rdev != rdev)) {
    kind_problems_.push_back(path + " (" + user + ") is not the character device " + std::to_string(major(rdev)) + ":" +
                             std::to_string(minor(rdev)) + " it was at the dump");
  }
}

void HostFiles::check(HostCheck* out) {
  out->problems.insert(out->problems.end(), kind_problems_.begin(), kind_problems_.end());
  for (const auto& [path, use] : same_) check_same(path, use, out);
  // A file both mapped and written is judged as the same file, which is the stricter test.
  for (const auto& [path, use] : writable_)
    if (!same_.count(path)) check_writable(path, use, out);
}

void HostFiles::check_same(const std::string& path, const Use& use, HostCheck* out) {
  const image::FileIdentity& id = use.id;
  std::string users = who(use.users);
  PathStat st = stat_(path);
  if (st.err == ENOENT && carried_.count(path)) {
    out->notes.push_back(path + " (" + users + ") is missing on this host: put back from the image (--include)");
    return;
  }
  if (st.err == ENOENT) {
    out->problems.push_back(path + " (" + users + ") is missing on this host (cryo dump --include " + path + " carries it)");
    return;
  }
  if (st.err != 0) {
    out->problems.push_back(path + " (" + users + "): " + std::strerror(st.err));
    return;
  }
  if (id.ino() == 0 && id.dev() == 0) {
    out->notes.push_back(path + " (" + users + "): the image recorded no identity; not checked");
    return;
  }
  bool same_inode = st.dev == id.dev() && st.ino == id.ino();
  // The fast path: the same inode on the same boot, unchanged, is the same file. Nothing is read.
  if (same_boot_ && same_inode && st.size == id.size() && st.mtime_ns == id.mtime_ns()) return;
  auto record = contents_.find({id.dev(), id.ino()});
  if (record == contents_.end()) {
    // An image from before contents.img (or a file it could not record): device and inode it is.
    if (!same_inode) {
      out->problems.push_back(path + " (" + users + ") is another file than at the dump (device:inode " + std::to_string(id.dev()) + ":" +
                              std::to_string(id.ino()) + ", now " + std::to_string(st.dev) + ":" + std::to_string(st.ino) +
                              ") and the image does not record its content");
    } else if (st.size != id.size() || st.mtime_ns != id.mtime_ns()) {
      out->problems.push_back(path + " (" + users + ") changed since the dump (size " + std::to_string(id.size()) + " -> " +
                              std::to_string(st.size) + (st.mtime_ns != id.mtime_ns() ? ", modified again" : "") + ")");
    }
    return;
  }
  const image::FileContent& file = *record->second;
  if (!S_ISREG(st.mode)) {
    out->problems.push_back(path + " (" + users + ") is no longer a regular file");
    return;
  }
  std::vector<std::string> differs;
  if (st.size != file.size()) differs.push_back("size " + std::to_string(file.size()) + ", now " + std::to_string(st.size));
  if (differs.empty()) {
    PathContent here = content_(path, file.hashed());
    if (here.err != 0) {
      out->problems.push_back(path + " (" + users + ") cannot be read to compare it with the dump's: " + std::strerror(here.err));
      return;
    }
    if (!file.build_id().empty() && here.build_id != file.build_id())
      differs.push_back("build-id " + build_id_text(file.build_id()) + ", now " + build_id_text(here.build_id));
    if (file.hashed() && here.xxh3 != file.xxh3())
      differs.push_back("content (xxh3 " + hex(file.xxh3()) + ", now " + hex(here.xxh3) + ")");
    if (!file.hashed() && st.mtime_ns != file.mtime_ns()) differs.push_back("mtime, and it was not hashed (over the dump's size bound)");
  }
  if (!differs.empty()) {
    std::string what;
    for (size_t i = 0; i < differs.size(); ++i) what += (i ? ", " : "") + differs[i];
    out->problems.push_back(path + " (" + users + ") is not the dump's file: " + what);
    return;
  }
  if (!same_inode || !same_boot_)
    out->notes.push_back(path + " (" + users + "): " + (file.hashed() ? "same content" : "not hashed, same size, mtime and build-id") +
                         " as at the dump, on another inode or boot");
}

void HostFiles::check_writable(const std::string& path, const Use& use, HostCheck* out) {
  std::string users = who(use.users);
  PathStat st = stat_(path);
  if (st.err == ENOENT && carried_.count(path)) {
    out->notes.push_back(path + " (" + users + ", open for writing) is missing on this host: put back from the image (--include)");
    return;
  }
  if (st.err == ENOENT) {
    out->problems.push_back(path + " (" + users + ", open for writing) is missing on this host (cryo dump --include " + path +
                            " carries it)");
    return;
  }
  if (st.err != 0) {
    out->problems.push_back(path + " (" + users + ", open for writing): " + std::strerror(st.err));
    return;
  }
  if (!S_ISREG(st.mode)) {
    out->problems.push_back(path + " (" + users + ", open for writing) is no longer a regular file");
    return;
  }
  if (st.size < use.pos) {
    out->problems.push_back(path + " (" + users + ", open for writing) is " + std::to_string(st.size) +
                            " bytes, shorter than the position " + std::to_string(use.pos) + " the tree was at");
    return;
  }
  bool same = same_boot_ && st.dev == use.id.dev() && st.ino == use.id.ino() && st.size == use.id.size() && st.mtime_ns == use.id.mtime_ns();
  if (!same)
    out->notes.push_back(path + " (" + users + ", open for writing): accepted by path, " + std::to_string(st.size) +
                         " bytes, at least its position " + std::to_string(use.pos));
}

}  // namespace cryo::restore
