#include "ns/restored_namespaces.h"

#include <sched.h>

namespace cryo {
namespace {

struct NamespaceType {
  std::string_view name;
  int flag;
};

constexpr NamespaceType kTypes[] = {
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mnt", CLONE_NEWNS},   {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},       {"time", CLONE_NEWTIME}, {"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
};

}  // namespace

bool is_namespace_type(std::string_view type) { return namespace_type_flag(type) != 0; }

int namespace_type_flag(std::string_view type) {
  for (const auto& t : kTypes)
    if (t.name == type) return t.flag;
  return 0;
}

bool restored_tree_has_own(std::string_view type, bool own_at_dump) {
  if (type == "pid" || type == "mnt" || type == "time") return true;
  if (type == "ipc" || type == "uts") return own_at_dump;
  return false;
}

}  // namespace cryo
