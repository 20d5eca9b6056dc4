// How syscalls are injected into the threads of a process: through its resume path when it has one
// (a cryo killed meanwhile cannot harm the thread, see ptrace/resume_frame.h), else through the
// syscall instruction of its vdso (or its text). Found once per process, entered once per thread.
#pragma once

#include <sys/types.h>

#include <optional>

#include "base/error.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/resume_frame.h"
#include "ptrace/tracee.h"

namespace cryo {

struct InjectionSites {
  std::optional<ResumePath> resume;
  SyscallSite vdso;

  static Result<InjectionSites> find(pid_t pid) {
    InjectionSites sites;
    ASSIGN_OR_RETURN(sites.vdso, find_syscall_site(pid));
    ASSIGN_OR_RETURN(sites.resume, find_resume_path(pid));
    return sites;
  }

  Result<RemoteSyscalls> enter(Tracee& thread) const {
    if (resume) return RemoteSyscalls::create_resumable(thread, *resume);
    return RemoteSyscalls::create(thread, vdso);
  }
};

}  // namespace cryo
