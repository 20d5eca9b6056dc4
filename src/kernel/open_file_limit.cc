#include "kernel/open_file_limit.h"

#include <sys/resource.h>

#include <cstdlib>

#include "base/file_util.h"

namespace cryo {

Result<uint64_t> raise_open_file_limit_to_most() {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return fail_errno("getrlimit(RLIMIT_NOFILE)");
  auto nr_open = read_file("/proc/sys/fs/nr_open");
  rlim_t most = nr_open ? std::strtoull(nr_open->c_str(), nullptr, 10) : 0;
  // Fails with EPERM without CAP_SYS_RESOURCE; the soft limit is then raised to the hard one below.
  if (rlimit raised{most, most}; most > nofile.rlim_max && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  rlimit soft_raised{nofile.rlim_max, nofile.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &soft_raised) == 0) nofile = soft_raised;
  return static_cast<uint64_t>(nofile.rlim_cur);
}

}  // namespace cryo
