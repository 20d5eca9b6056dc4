#include "state/thread/registrations.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace cryo {

Result<> collect_robust_list(Tracee& tracee, image::ThreadCore& thread) {
  pid_t tid = tracee.tid();
  uint64_t head = 0;
  size_t len = 0;
  if (::syscall(SYS_get_robust_list, tid, &head, &len) != 0)
    return fail_errno("tid " + std::to_string(tid) + ": get_robust_list");
  thread.set_robust_list(head);
  thread.set_robust_list_len(len);
  return {};
}

Result<> ask_clear_child_tid(RemoteSyscalls& remote, uint64_t at) {
  RETURN_IF_ERROR(remote.call("prctl(PR_GET_TID_ADDRESS)", SYS_prctl, {PR_GET_TID_ADDRESS, at}));
  return {};
}

void read_clear_child_tid(const char* answer, image::ThreadCore& thread) {
  uint64_t tid_address;
  std::memcpy(&tid_address, answer, sizeof tid_address);
  thread.set_clear_child_tid(tid_address);
}

Result<> restore_registrations(RemoteTask& task, const image::ThreadCore& thread) {
  std::string where = "thread " + std::to_string(thread.tid());
  if (thread.robust_list() != 0)
    RETURN_IF_ERROR_CTX(task.call("set_robust_list", SYS_set_robust_list, {thread.robust_list(), thread.robust_list_len()}), where);
  RETURN_IF_ERROR_CTX(task.call("set_tid_address", SYS_set_tid_address, {thread.clear_child_tid()}), where);
  return {};
}

}  // namespace cryo
