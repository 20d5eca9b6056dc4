#include "cli/core_binary.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace cryo::cli {

std::vector<std::string> core_binary_candidates(const std::string& exe) {
  std::string dir = exe.substr(0, exe.rfind('/') + 1);
  return {dir + "cryo-core", dir + CRYO_CORE_FROM_BINDIR};
}

Error exec_core_binary(char** argv) {
  // /proc/self/exe, not argv[0]: cryo may have been found on PATH, or through a symlink.
  char exe[PATH_MAX];
  ssize_t size = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (size < 0) return errno_error("readlink(/proc/self/exe)");
  exe[size] = '\0';
  auto candidates = core_binary_candidates(exe);
  int err = ENOENT;
  for (const auto& path : candidates) {
    ::execv(path.c_str(), argv);
    if (errno != ENOENT) err = errno;
  }
  Error error = make_error("cannot execute cryo-core, which runs every command but 'run' (looked for " +
                           candidates[0] + " and " + candidates[1] + "): " + std::strerror(err));
  error.err = err;
  return error.with_hint("reinstall cryo (cmake --install, or its .deb)");
}

}  // namespace cryo::cli
