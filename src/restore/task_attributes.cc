#include "restore/task_attributes.h"

#include "base/logging.h"
#include "state/scheduling.h"

namespace cryo::restore {

Result<> restore_task_attributes(pid_t host_tid, const image::ThreadCore& thread) {
  std::string where = "thread " + std::to_string(thread.tid());
  if (thread.has_sched()) {
    std::string note;
    RETURN_IF_ERROR_CTX(apply_sched_state(host_tid, thread.sched(), &note), where);
    if (!note.empty()) logging::get("restore")->warn("{}: {}", where, note);
  }
  return {};
}

}  // namespace cryo::restore
