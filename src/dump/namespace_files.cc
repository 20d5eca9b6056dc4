#include "dump/namespace_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/file_util.h"
#include "dump/file_identity.h"
#include "ns/restored_namespaces.h"

namespace cryo::dump {
namespace {

Error refusal(int fd, const std::string& target, const std::string& why) {
  return make_error("fd " + std::to_string(fd) + " (" + target + ") is " + why + ", which cryo cannot dump");
}

// "net:[4026531840]" -> "net"; "" when the link has no such shape.
std::string namespace_type_of(const std::string& target) {
  size_t colon = target.find(":[");
  if (colon == std::string::npos || colon == 0 || !target.ends_with("]")) return "";
  return target.substr(0, colon);
}

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

Result<> collect_namespace_file(pid_t pid, int fd, const std::string& target, const std::string& link, image::Fd& out) {
  std::string type = namespace_type_of(target);
  if (!is_namespace_type(type)) return fail(refusal(fd, target, "a namespace file (nsfs) of a kind cryo does not know"));
  if (out.flags() & O_NOFOLLOW)
    return fail(refusal(fd, target, "a namespace file opened with O_NOFOLLOW, a flag a reopen through /proc/PID/ns cannot give"));
  ASSIGN_OR_RETURN(struct stat held, stat_path(link));
  // The holder's namespace of this type is the tree's: every process of the tree is in the init's
  // namespaces, checked before its files are read.
  std::string holders_path = "/proc/" + std::to_string(pid) + "/ns/" + type;
  ASSIGN_OR_RETURN(struct stat holders, stat_path(holders_path));
  if (!same_inode(held, holders)) {
    auto tree = read_link(holders_path);
    return fail(refusal(fd, target, "a file of a " + type + " namespace the tree is not in (the tree's is " + (tree ? *tree : "unknown") +
                                        "), which no namespace of a restored tree would be"));
  }
  ASSIGN_OR_RETURN(struct stat ours, stat_path("/proc/self/ns/" + type));
  bool tree_own = !same_inode(held, ours);
  if (restored_tree_has_own(type, tree_own) != tree_own)
    return fail(refusal(fd, target, "a file of the host's " + type + " namespace, which the tree shares, while a restored tree has a " +
                                        type + " namespace of its own"));
  out.set_kind(image::FD_NAMESPACE);
  out.mutable_namespace_file()->set_type(type);
  out.mutable_namespace_file()->set_tree_own(tree_own);
  // Only for finding fds that share the open file (shared_open_files.h); restore never checks it.
  set_identity(held, out.mutable_identity());
  return {};
}

}  // namespace cryo::dump
