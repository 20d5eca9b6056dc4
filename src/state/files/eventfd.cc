#include "state/files/eventfd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "base/unique_fd.h"

namespace cryo::state {

Result<> collect_eventfd(const FdCollect& in, image::Fd& out) {
  if (!in.info.eventfd_count) return fail("fdinfo shows no eventfd-count");
  out.mutable_eventfd()->set_count(*in.info.eventfd_count);
  out.mutable_eventfd()->set_semaphore(in.info.eventfd_semaphore);
  return {};
}

void validate_eventfd(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  // The kernel keeps the counter below ULLONG_MAX.
  if (fd.eventfd().count() == UINT64_MAX) problems->push_back(name + ": eventfd counter is out of range");
}

Result<int> install_eventfd(const image::Fd& image_fd, const FdInstall&) {
  const image::EventfdState& state = image_fd.eventfd();
  // eventfd() takes an unsigned int; a larger counter is set by a write of the rest.
  uint64_t initial = state.count() > UINT32_MAX ? UINT32_MAX : state.count();
  UniqueFd fd(::eventfd(static_cast<unsigned>(initial), EFD_NONBLOCK | (state.semaphore() ? EFD_SEMAPHORE : 0)));
  if (!fd.valid()) return fail_errno("eventfd");
  uint64_t rest = state.count() - initial;
  if (rest != 0 && ::write(fd.get(), &rest, sizeof rest) != static_cast<ssize_t>(sizeof rest))
    return fail_errno("write(eventfd, " + std::to_string(rest) + ")");
  return fd.release();
}

}  // namespace cryo::state
