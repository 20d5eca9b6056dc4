#include "state/files/namespace_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "image/file_identity.h"
#include "ns/restored_namespaces.h"
#include "state/files/proc_file.h"

namespace cryo::state {
namespace {

Error refusal(int fd, std::string_view target, const std::string& why) {
  return make_error("fd " + std::to_string(fd) + " (" + std::string(target) + ") is " + why + ", which cryo cannot dump");
}

// "net:[4026531840]" -> "net"; "" when the link has no such shape.
std::string namespace_type_of(std::string_view target) {
  size_t colon = target.find(":[");
  if (colon == std::string::npos || colon == 0 || !target.ends_with("]")) return "";
  return std::string(target.substr(0, colon));
}

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

Result<> collect_namespace_file(const FdCollect& in, image::Fd& out) {
  std::string type = namespace_type_of(in.target);
  if (!is_namespace_type(type)) return fail(refusal(in.fd, in.target, "a namespace file (nsfs) of a kind cryo does not know"));
  if (out.flags() & O_NOFOLLOW)
    return fail(refusal(in.fd, in.target, "a namespace file opened with O_NOFOLLOW, a flag a reopen through /proc/PID/ns cannot give"));
  ASSIGN_OR_RETURN(struct stat held, stat_path(fd_link(in)));
  // The holder's namespace of this type is the tree's: every process of the tree is in the init's
  // namespaces, checked before its files are read.
  std::string holders_path = "/proc/" + std::to_string(in.pid) + "/ns/" + type;
  ASSIGN_OR_RETURN(struct stat holders, stat_path(holders_path));
  if (!same_inode(held, holders)) {
    auto tree = read_link(holders_path);
    return fail(refusal(in.fd, in.target, "a file of a " + type + " namespace the tree is not in (the tree's is " + (tree ? *tree : "unknown") +
                                              "), which no namespace of a restored tree would be"));
  }
  ASSIGN_OR_RETURN(struct stat ours, stat_path("/proc/self/ns/" + type));
  bool tree_own = !same_inode(held, ours);
  if (restored_tree_has_own(type, tree_own) != tree_own)
    return fail(refusal(in.fd, in.target, "a file of the host's " + type + " namespace, which the tree shares, while a restored tree has a " +
                                              type + " namespace of its own"));
  out.set_kind(image::FD_NAMESPACE);
  out.mutable_namespace_file()->set_type(type);
  out.mutable_namespace_file()->set_tree_own(tree_own);
  // Only for finding fds that share the open file (dump/shared_open_files.h); restore never checks it.
  set_identity(held, out.mutable_identity());
  return {};
}

Result<int> open_namespace_file(const image::Fd& fd) {
  const std::string& type = fd.namespace_file().type();
  std::string path = "/proc/1/ns/" + type;
  // O_ASYNC is armed by F_SETFL at the fd's number (restore/fd_status.h), like every status flag open
  // does not take. Validation refused O_NOFOLLOW, which would open the magic link itself.
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

Result<int> install_namespace_file(const image::Fd& fd, const FdInstall& at) { return place_by_name(fd, at, open_namespace_file); }

}  // namespace cryo::state
