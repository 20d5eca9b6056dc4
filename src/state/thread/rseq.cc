#include "state/thread/rseq.h"

#include <sys/syscall.h>

#include <string>

#include "base/hex.h"
#include "kernel/kernel_abi.h"

namespace cryo {

Result<> collect_rseq(Tracee& tracee, image::ThreadCore& thread) {
  ASSIGN_OR_RETURN(RseqConfig rseq, tracee.get_rseq_config());
  thread.mutable_rseq()->set_address(rseq.address);
  thread.mutable_rseq()->set_length(rseq.length);
  thread.mutable_rseq()->set_signature(rseq.signature);
  return {};
}

Result<> unregister_placeholder_rseq(RemoteTask& task) {
  ASSIGN_OR_RETURN(RseqConfig rseq, task.tracee().get_rseq_config());
  if (rseq.address != 0)
    RETURN_IF_ERROR_CTX(task.call("rseq", SYS_rseq, {rseq.address, rseq.length, kernel_abi::kRseqFlagUnregister, rseq.signature}),
                        "unregister the placeholder's rseq");
  return {};
}

Result<> restore_rseq(RemoteTask& task, const image::ThreadCore& thread) {
  const auto& rseq = thread.rseq();
  if (rseq.address() != 0)
    RETURN_IF_ERROR_CTX(task.call("rseq", SYS_rseq, {rseq.address(), rseq.length(), 0, rseq.signature()}),
                        "thread " + std::to_string(thread.tid()) + ": register rseq at " + hex(rseq.address()));
  return {};
}

}  // namespace cryo
