#include "restore/fanotify_fds.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>

#include "restore/inotify_fds.h"

namespace cryo::restore {
namespace {

std::string mark_name(const image::FanotifyMark& mark) { return "fanotify mark on " + mark.path(); }

}  // namespace

Result<UniqueFd> create_fanotify(const image::FanotifyState& state) {
  // The group keeps its init flags as given (fdinfo shows them), FAN_CLOEXEC and FAN_NONBLOCK too.
  UniqueFd fd(::fanotify_init(state.flags(), state.event_flags()));
  if (!fd.valid()) return fail_errno("fanotify_init(" + std::to_string(state.flags()) + ", " + std::to_string(state.event_flags()) + ")");
  // A group lists its marks newest first (fdinfo's order, the image's): added oldest first, they
  // are listed in the same order again.
  for (auto it = state.marks().rbegin(); it != state.marks().rend(); ++it) {
    const image::FanotifyMark& mark = *it;
    RETURN_IF_ERROR(check_same_inode(mark.path(), mark.identity(), mark.handle(), mark.handle_type(), mark_name(mark)));
    // The path is the kernel's name of the inode: its last part is no symbolic link to follow.
    unsigned flags = FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW | mark.mflags();
    if (::fanotify_mark(fd.get(), flags, mark.mask(), AT_FDCWD, mark.path().c_str()) != 0)
      return fail(errno_error("fanotify_mark(FAN_MARK_ADD)").context(mark_name(mark)));
    // The path could have been replaced between the check and the mark.
    RETURN_IF_ERROR(check_same_inode(mark.path(), mark.identity(), mark.handle(), mark.handle_type(), mark_name(mark)));
  }
  int queued = 0;
  if (::ioctl(fd.get(), FIONREAD, &queued) != 0) return fail_errno("ioctl(fanotify, FIONREAD)");
  if (queued > 0)
    return fail(make_error("fanotify: " + std::to_string(queued) + " bytes of events arrived while its fd was being restored, which cryo "
                           "cannot give back")
                    .with_hint("a marked file changed during the restore; restore again"));
  return fd;
}

}  // namespace cryo::restore
