// The namespace files of an image (FD_NAMESPACE): a known type, the relation to the tree that
// namespaces.img gives for that type, and one that the restored tree has again (a dump refuses the
// rest, ns/restored_namespaces.h); no path, no flag a reopen through /proc/1/ns cannot give.
#include <fcntl.h>

#include <map>

#include "ns/restored_namespaces.h"
#include "state/files/namespace_file.h"

namespace cryo::state {
namespace {

// Whether the dumped tree had its own namespace of `type` (a known one), as namespaces.img says.
bool own_at_dump(const image::Namespaces& ns, const std::string& type) {
  if (type == "cgroup") return ns.own_cgroup();
  if (type == "ipc") return ns.own_ipc();
  if (type == "mnt") return ns.own_mount();
  if (type == "net") return ns.own_net();
  if (type == "pid") return ns.own_pid();
  if (type == "time") return ns.own_time();
  if (type == "user") return ns.own_user();
  return ns.own_uts();
}

}  // namespace

void validate_namespace_files(const ImageSet& set, std::vector<std::string>* problems) {
  std::map<uint64_t, std::string> shared;  // open_file_id -> its namespace, the same for every holder.
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd());
      if (fd.kind() != image::FD_NAMESPACE) {
        if (fd.has_namespace_file()) problems->push_back(name + ": a namespace on an fd of kind " + image::FdKind_Name(fd.kind()));
        continue;
      }
      const auto& ns = fd.namespace_file();
      if (!is_namespace_type(ns.type())) {
        problems->push_back(name + ": namespace type '" + ns.type().substr(0, 32) + "' is unknown");
        continue;
      }
      std::string which = ns.type() + " namespace";
      name += " (" + which + ")";
      if (ns.tree_own() != own_at_dump(set.namespaces, ns.type()))
        problems->push_back(name + ": is " + (ns.tree_own() ? "the tree's own" : "the host's") + ", but namespaces.img says the tree " +
                            (ns.tree_own() ? "shared the host's" : "had its own"));
      else if (restored_tree_has_own(ns.type(), ns.tree_own()) != ns.tree_own())
        problems->push_back(name + ": is " + (ns.tree_own() ? "the tree's own" : "the host's") + ", but a restored tree " +
                            (ns.tree_own() ? "shares the host's" : "has its own"));
      if (fd.flags() & O_NOFOLLOW) problems->push_back(name + ": O_NOFOLLOW, which a reopen through /proc/1/ns cannot give");
      if (!fd.path().empty() || !fd.proc_path().empty()) problems->push_back(name + ": a namespace file carries no path");
      if (fd.open_file_id() != 0) {
        auto [it, fresh] = shared.emplace(fd.open_file_id(), ns.SerializeAsString());
        if (!fresh && it->second != ns.SerializeAsString())
          problems->push_back(name + ": shares open file " + std::to_string(fd.open_file_id()) + " with an fd of another namespace");
      }
    }
}

}  // namespace cryo::state
