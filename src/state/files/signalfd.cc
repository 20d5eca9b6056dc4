#include "state/files/signalfd.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "base/unique_fd.h"

namespace cryo::state {
namespace {

constexpr uint64_t kUnstoppable = (uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1));

}  // namespace

Result<> collect_signalfd(const FdCollect& in, image::Fd& out) {
  if (!in.info.sigmask) return fail("fdinfo shows no sigmask");
  out.mutable_signalfd()->set_mask(*in.info.sigmask);
  return {};
}

void validate_signalfd(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  if (fd.signalfd().mask() & kUnstoppable) problems->push_back(name + ": signalfd mask holds SIGKILL or SIGSTOP");
}

Result<int> install_signalfd(const image::Fd& image_fd, const FdInstall&) {
  // The raw call takes the kernel's 64-bit mask, which is what fdinfo showed.
  uint64_t mask = image_fd.signalfd().mask();
  UniqueFd fd(static_cast<int>(::syscall(SYS_signalfd4, -1, &mask, sizeof mask, SFD_NONBLOCK)));
  if (!fd.valid()) return fail_errno("signalfd4");
  return fd.release();
}

}  // namespace cryo::state
