// The restore step of proc_file.h that runs inside the restored process (an injected lseek), apart
// from the rest so that the image fuzzer, which links every file of state/files/ that the table of
// kinds reaches, needs no ptrace code.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state/files/proc_file.h"

namespace cryo::state {

Result<> restore_proc_file_positions(RemoteTask& task, const ProcessImage& process) {
  for (const auto& fd : process.files.fds()) {
    // An O_PATH fd has no position (lseek is EBADF); 0 is where the open left it.
    if (fd.kind() != image::FD_PROC_FILE || fd.pos() == 0 || (fd.flags() & O_PATH)) continue;
    std::string what = "fd " + std::to_string(fd.fd()) + " (/proc/" + fd.proc_path() + "): lseek(" + std::to_string(fd.pos()) + ")";
    ASSIGN_OR_RETURN_CTX(uint64_t at, task.call("lseek", SYS_lseek, {static_cast<uint64_t>(fd.fd()), fd.pos(), SEEK_SET}), what);
    if (at != fd.pos()) return fail(what + " went to " + std::to_string(at));
  }
  return {};
}

}  // namespace cryo::state
