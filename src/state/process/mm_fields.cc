#include "state/process/mm_fields.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/syscall.h>

#include "base/file_util.h"
#include "base/hex.h"

namespace cryo {

Result<> collect_mm_fields(pid_t pid, const ProcStat& stat, uint64_t brk, image::MmFields* mm) {
  mm->set_start_code(stat.start_code);
  mm->set_end_code(stat.end_code);
  mm->set_start_data(stat.start_data);
  mm->set_end_data(stat.end_data);
  mm->set_start_brk(stat.start_brk);
  mm->set_brk(brk);
  mm->set_start_stack(stat.start_stack);
  mm->set_arg_start(stat.arg_start);
  mm->set_arg_end(stat.arg_end);
  mm->set_env_start(stat.env_start);
  mm->set_env_end(stat.env_end);
  ASSIGN_OR_RETURN(std::string auxv, read_file("/proc/" + std::to_string(pid) + "/auxv"));
  mm->set_auxv(auxv);
  return {};
}

Result<> restore_mm_fields(RemoteTask& task, const image::MmFields& mm) {
  task.reset_scratch();
  ASSIGN_OR_RETURN(uint64_t exe_path, task.put_string(mm.exe()));
  ASSIGN_OR_RETURN_CTX(uint64_t exe_fd, task.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), exe_path, O_RDONLY | O_CLOEXEC}),
                       "open executable " + mm.exe());
  uint64_t auxv = 0;
  if (!mm.auxv().empty()) {
    ASSIGN_OR_RETURN(auxv, task.put(mm.auxv().data(), mm.auxv().size()));
  }
  prctl_mm_map map{};
  map.start_code = mm.start_code();
  map.end_code = mm.end_code();
  map.start_data = mm.start_data();
  map.end_data = mm.end_data();
  map.start_brk = mm.start_brk();
  map.brk = mm.brk();
  map.start_stack = mm.start_stack();
  map.arg_start = mm.arg_start();
  map.arg_end = mm.arg_end();
  map.env_start = mm.env_start();
  map.env_end = mm.env_end();
  map.auxv = reinterpret_cast<__u64*>(auxv);
  map.auxv_size = static_cast<uint32_t>(mm.auxv().size());
  map.exe_fd = static_cast<uint32_t>(exe_fd);
  ASSIGN_OR_RETURN(uint64_t remote_map, task.put(&map, sizeof map));
  auto set = task.call("prctl(PR_SET_MM, PR_SET_MM_MAP)", SYS_prctl, {PR_SET_MM, PR_SET_MM_MAP, remote_map, sizeof map});
  RETURN_IF_ERROR_CTX(task.call("close", SYS_close, {exe_fd}), "close executable");
  if (!set) return fail(set.error().context("set mm fields (brk " + hex(mm.brk()) + ", stack " + hex(mm.start_stack()) + ")"));
  return {};
}

}  // namespace cryo
