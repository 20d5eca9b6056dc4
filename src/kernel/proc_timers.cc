#include "kernel/proc_timers.h"

#include <signal.h>

#include <string>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

// "signal/pid.123", "none/tid.7", "thread/pid.9": the kernel's names for SIGEV_SIGNAL, SIGEV_NONE and
// SIGEV_THREAD, then whom it signals.
Result<> parse_notify(std::string_view value, ProcTimer& timer) {
  size_t slash = value.find('/');
  if (slash == std::string_view::npos) return fail("timers: notify '" + std::string(value) + "' has no '/'");
  std::string_view kind = value.substr(0, slash), target = value.substr(slash + 1);
  if (kind == "signal") timer.notify = SIGEV_SIGNAL;
  else if (kind == "none") timer.notify = SIGEV_NONE;
  else if (kind == "thread") timer.notify = SIGEV_THREAD;
  else return fail("timers: unknown notify kind '" + std::string(kind) + "'");
  if (target.starts_with("tid.")) {
    timer.notify |= SIGEV_THREAD_ID;
  } else if (!target.starts_with("pid.")) {
    return fail("timers: notify target '" + std::string(target) + "' is neither pid.N nor tid.N");
  }
  ASSIGN_OR_RETURN(int64_t pid, proc_text::parse_i64(target.substr(4), "timers notify pid"));
  timer.notify_pid = static_cast<pid_t>(pid);
  return {};
}

}  // namespace

Result<std::vector<ProcTimer>> parse_proc_timers(std::string_view text) {
  std::vector<ProcTimer> timers;
  for (auto line : proc_text::lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon), value = proc_text::trim(line.substr(colon + 1));
    if (key == "ID") {
      ASSIGN_OR_RETURN(int64_t id, proc_text::parse_i64(value, "timers ID"));
      timers.push_back(ProcTimer{});
      timers.back().id = static_cast<int>(id);
      continue;
    }
    if (timers.empty()) return fail("timers: '" + std::string(key) + "' before the first ID");
    ProcTimer& timer = timers.back();
    if (key == "signal") {
      size_t slash = value.find('/');
      if (slash == std::string_view::npos) return fail("timers: signal '" + std::string(value) + "' has no '/'");
      ASSIGN_OR_RETURN(int64_t signo, proc_text::parse_i64(value.substr(0, slash), "timers signal"));
      ASSIGN_OR_RETURN(timer.sigval, proc_text::parse_u64(value.substr(slash + 1), 16, "timers sigval"));
      timer.signo = static_cast<int>(signo);
    } else if (key == "notify") {
      RETURN_IF_ERROR(parse_notify(value, timer));
    } else if (key == "ClockID") {
      ASSIGN_OR_RETURN(int64_t clock, proc_text::parse_i64(value, "timers ClockID"));
      timer.clock_id = static_cast<int>(clock);
    }
  }
  return timers;
}

Result<std::vector<ProcTimer>> read_proc_timers(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/timers"));
  return parse_proc_timers(text);
}

}  // namespace cryo
