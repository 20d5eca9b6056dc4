#include "kernel/proc_stat.h"

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {

Result<ProcStat> parse_proc_stat(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return fail("stat: no '(comm)' field");
  ProcStat s;
  ASSIGN_OR_RETURN(uint64_t pid, proc_text::parse_u64(proc_text::trim(text.substr(0, open)), 10, "stat pid"));
  s.pid = static_cast<pid_t>(pid);
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  // rest[0] is field 3 (state); field N is rest[N - 3].
  auto rest = proc_text::fields(proc_text::trim(text.substr(close + 1)));
  constexpr size_t kLastField = 52;
  if (rest.size() < kLastField - 2)
    return fail("stat: expected at least " + std::to_string(kLastField) + " fields, got " + std::to_string(rest.size() + 2));
  auto field = [&](size_t n) { return rest[n - 3]; };
  auto num = [&](size_t n) -> Result<int64_t> { return proc_text::parse_i64(field(n), "stat field " + std::to_string(n)); };
  auto unum = [&](size_t n) -> Result<uint64_t> {
    return proc_text::parse_u64(field(n), 10, "stat field " + std::to_string(n));
  };
  if (field(3).size() != 1) return fail("stat: bad state '" + std::string(field(3)) + "'");
  s.state = field(3)[0];
  ASSIGN_OR_RETURN(int64_t ppid, num(4));
  ASSIGN_OR_RETURN(int64_t pgrp, num(5));
  ASSIGN_OR_RETURN(int64_t session, num(6));
  ASSIGN_OR_RETURN(int64_t threads, num(20));
  s.ppid = static_cast<pid_t>(ppid);
  s.pgrp = static_cast<pid_t>(pgrp);
  s.session = static_cast<pid_t>(session);
  ASSIGN_OR_RETURN(uint64_t flags, unum(9));
  s.flags = static_cast<uint32_t>(flags);
  s.num_threads = static_cast<uint32_t>(threads);
  ASSIGN_OR_RETURN(s.start_code, unum(26));
  ASSIGN_OR_RETURN(s.end_code, unum(27));
  ASSIGN_OR_RETURN(s.start_stack, unum(28));
  ASSIGN_OR_RETURN(int64_t exit_signal, num(38));
  s.exit_signal = static_cast<int32_t>(exit_signal);
  ASSIGN_OR_RETURN(int64_t processor, num(39));
  s.processor = static_cast<int32_t>(processor);
  ASSIGN_OR_RETURN(s.start_data, unum(45));
  ASSIGN_OR_RETURN(s.end_data, unum(46));
  ASSIGN_OR_RETURN(s.start_brk, unum(47));
  ASSIGN_OR_RETURN(s.arg_start, unum(48));
  ASSIGN_OR_RETURN(s.arg_end, unum(49));
  ASSIGN_OR_RETURN(s.env_start, unum(50));
  ASSIGN_OR_RETURN(s.env_end, unum(51));
  ASSIGN_OR_RETURN(int64_t exit_code, num(52));
  s.exit_code = static_cast<int32_t>(exit_code);
  return s;
}

Result<ProcStat> read_proc_stat(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/stat"));
  auto stat = parse_proc_stat(text);
  if (!stat) return fail(stat.error().context("pid " + std::to_string(pid)));
  return stat;
}

}  // namespace cryo
