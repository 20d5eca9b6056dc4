#include "ns/namespace_init.h"

#include <sched.h>

#include <cerrno>
#include <span>

#include "ns/clone3.h"

namespace cryo {
namespace {

// The clone3 flags a request asks for beyond CLONE_NEWPID|CLONE_NEWNS, with their names for messages:
// one list, so the call made and the call named in an error cannot differ.
struct AskedFlag {
  bool NamespaceInitRequest::*asked;
  uint64_t flag;
  const char* name;
};
constexpr AskedFlag kAskedFlags[] = {
    {&NamespaceInitRequest::own_ipc, CLONE_NEWIPC, "CLONE_NEWIPC"},
    {&NamespaceInitRequest::own_uts, CLONE_NEWUTS, "CLONE_NEWUTS"},
    {&NamespaceInitRequest::sibling_of_caller, CLONE_PARENT, "CLONE_PARENT"},
};

uint64_t clone_flags(const NamespaceInitRequest& request) {
  uint64_t flags = CLONE_NEWPID | CLONE_NEWNS;
  for (const auto& f : kAskedFlags)
    if (request.*f.asked) flags |= f.flag;
  return flags;
}

}  // namespace

std::string namespace_init_call(const NamespaceInitRequest& request) {
  std::string call = "clone3(CLONE_NEWPID|CLONE_NEWNS";
  for (const auto& f : kAskedFlags)
    if (request.*f.asked) call += std::string("|") + f.name;
  if (request.pid) call += ", set_tid={" + std::to_string(*request.pid) + "}";
  return call + ")";
}

Result<pid_t> clone_namespace_init(const NamespaceInitRequest& request) {
  RETURN_IF_ERROR_CTX(unshare_time_namespace(request.clocks), "time namespace");
  pid_t wanted = request.pid.value_or(0);
  std::span<const pid_t> set_tid;
  if (request.pid) set_tid = std::span<const pid_t>(&wanted, 1);
  pid_t init = clone3_fork(clone_flags(request), set_tid, request.exit_signal);
  if (init < 0) return fail(errno_error(namespace_init_call(request)));
  return init;
}

}  // namespace cryo
