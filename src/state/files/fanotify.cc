#include "state/files/fanotify.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "image/value_checks.h"
#include "state/files/watched_inode.h"

namespace cryo::state {
namespace {

std::string mark_name(const FanotifyMarkInfo& mark) {
  return "fanotify mark on inode " + std::to_string(mark.ino) + " (device " + device_name(mark.sdev) + ")";
}

std::string mark_name(const image::FanotifyMark& mark) { return "fanotify mark on " + mark.path(); }

// fanotify_init flags a dump records: the notification class (0), the reporting and limit flags,
// and FAN_CLOEXEC and FAN_NONBLOCK as they were given (the group keeps them).
constexpr uint32_t kFanotifyInitFlags = FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS | FAN_ENABLE_AUDIT | FAN_REPORT_TID | FAN_REPORT_FID |
                                        FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_REPORT_TARGET_FID | FAN_REPORT_PIDFD;
constexpr uint32_t kFanotifyEventFlags = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME | O_CLOEXEC | 0100000;  // O_LARGEFILE
constexpr uint32_t kFanotifyMaskBits = FAN_ACCESS | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_CLOSE_NOWRITE | FAN_OPEN |
                                       FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CREATE | FAN_DELETE | FAN_DELETE_SELF | FAN_MOVE_SELF |
                                       FAN_OPEN_EXEC | FAN_FS_ERROR | FAN_RENAME | FAN_ONDIR | FAN_EVENT_ON_CHILD;
constexpr int kMaxFanotifyMarks = 1 << 20;

void validate_fanotify_state(const image::FanotifyState& state, const std::string& name, std::vector<std::string>* problems) {
  if (state.flags() & ~kFanotifyInitFlags) problems->push_back(name + ": fanotify flags " + std::to_string(state.flags()) + " are unknown or of a permission class");
  if (state.event_flags() & ~kFanotifyEventFlags)
    problems->push_back(name + ": fanotify event flags " + std::to_string(state.event_flags()) + " are unknown");
  if ((state.event_flags() & O_ACCMODE) == O_ACCMODE) problems->push_back(name + ": fanotify event flags have an invalid access mode");
  if (state.marks_size() > kMaxFanotifyMarks) {
    problems->push_back(name + ": fanotify fd has too many marks");
    return;
  }
  std::set<std::pair<uint64_t, uint64_t>> inodes;
  for (const auto& mark : state.marks()) {
    std::string m = name + ": fanotify mark on '" + mark.path().substr(0, 256) + "'";
    if (mark.mflags() & ~static_cast<uint32_t>(FAN_MARK_EVICTABLE)) problems->push_back(m + ": unknown mark flags " + std::to_string(mark.mflags()));
    if (mark.mask() == 0 || (mark.mask() & ~kFanotifyMaskBits)) problems->push_back(m + ": mask " + std::to_string(mark.mask()) + " is empty or unknown");
    if (!image::is_clean_absolute_path(mark.path())) problems->push_back(m + ": the path is not a clean absolute path");
    if (!mark.has_identity() || mark.identity().ino() == 0) problems->push_back(m + ": no identity of the marked file");
    if (mark.handle().empty() || mark.handle().size() > 128) problems->push_back(m + ": no file handle, or one longer than the kernel's 128 bytes");
    else if (!inodes.insert({mark.identity().dev(), mark.identity().ino()}).second)
      problems->push_back(m + ": a second mark on the same file (a group has one mark per inode)");
  }
}

Result<UniqueFd> create_fanotify(const image::FanotifyState& state) {
  // The group keeps its init flags as given (fdinfo shows them), FAN_CLOEXEC and FAN_NONBLOCK too.
  UniqueFd fd(::fanotify_init(state.flags(), state.event_flags()));
  if (!fd.valid()) return fail_errno("fanotify_init(" + std::to_string(state.flags()) + ", " + std::to_string(state.event_flags()) + ")");
  // A group lists its marks newest first (fdinfo's order, the image's): added oldest first, they
  // are listed in the same order again.
  for (auto it = state.marks().rbegin(); it != state.marks().rend(); ++it) {
    const image::FanotifyMark& mark = *it;
    RETURN_IF_ERROR(check_marked_file(mark));
    // The path is the kernel's name of the inode: its last part is no symbolic link to follow.
    unsigned flags = FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW | mark.mflags();
    if (::fanotify_mark(fd.get(), flags, mark.mask(), AT_FDCWD, mark.path().c_str()) != 0)
      return fail(errno_error("fanotify_mark(FAN_MARK_ADD)").context(mark_name(mark)));
    // The path could have been replaced between the check and the mark.
    RETURN_IF_ERROR(check_marked_file(mark));
  }
  int queued = 0;
  if (::ioctl(fd.get(), FIONREAD, &queued) != 0) return fail_errno("ioctl(fanotify, FIONREAD)");
  if (queued > 0)
    return fail(make_error("fanotify: " + std::to_string(queued) + " bytes of events arrived while its fd was being restored, which cryo "
                           "cannot give back")
                    .with_hint("a marked file changed during the restore; restore again"));
  return fd;
}

}  // namespace

Result<> collect_fanotify(const FdCollect& in, image::Fd& out) {
  pid_t pid = in.pid;
  const FdInfo& info = in.info;
  if (!info.fanotify) return fail("fdinfo shows no fanotify flags");
  uint32_t klass = info.fanotify->flags & (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT);
  if (klass != FAN_CLASS_NOTIF)
    return fail(make_error(std::string("fanotify fd is of a permission class (") +
                           (klass == FAN_CLASS_CONTENT ? "FAN_CLASS_CONTENT" : "FAN_CLASS_PRE_CONTENT") +
                           "), which cryo cannot dump: its events wait for the process's answer"));
  ASSIGN_OR_RETURN(int queued, queued_event_bytes(pid, in.fd));
  if (queued > 0)
    return fail(make_error("fanotify fd has " + std::to_string(queued) + " bytes of events queued, which cryo cannot dump: they cannot "
                           "be read back without taking them from the process")
                    .with_hint("let the process read its events first, then dump again"));
  ASSIGN_OR_RETURN(std::string mountinfo, read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
  image::FanotifyState* state = out.mutable_fanotify();
  // The fanotify_init flags as given, FAN_CLOEXEC and FAN_NONBLOCK among them (the fd's own flags
  // may have changed since, by fcntl: restore sets those as the image has them after the init).
  state->set_flags(info.fanotify->flags);
  state->set_event_flags(info.fanotify->event_flags);
  for (const FanotifyMarkInfo& mark : info.fanotify_marks) {
    if (mark.object == FanotifyMarkInfo::Object::Mount)
      return fail(make_error("fanotify mark on mount " + std::to_string(mark.mnt_id) + " (FAN_MARK_MOUNT), which cryo cannot dump yet"));
    if (mark.object == FanotifyMarkInfo::Object::Filesystem)
      return fail(make_error("fanotify mark on the filesystem of device " + device_name(mark.sdev) + " (FAN_MARK_FILESYSTEM), which cryo cannot dump yet"));
    if (mark.ignored_mask != 0 || (mark.mflags & ~static_cast<uint32_t>(FAN_MARK_EVICTABLE)) != 0)
      return fail(make_error(mark_name(mark) + " has an ignore mask or mark flags " + std::to_string(mark.mflags) +
                             ", which cryo cannot dump yet"));
    image::FanotifyMark* entry = state->add_marks();
    entry->set_mflags(mark.mflags);
    entry->set_mask(mark.mask);
    RETURN_IF_ERROR(record_watched_inode(pid, mountinfo, {mark.ino, mark.sdev, mark.handle, mark.handle_type}, mark_name(mark), entry));
  }
  return {};
}

void validate_fanotify(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  validate_fanotify_state(fd.fanotify(), name, problems);
}

Result<> check_marked_file(const image::FanotifyMark& mark) {
  return check_same_inode(mark.path(), mark.identity(), mark.handle(), mark.handle_type(), mark_name(mark));
}

// The group keeps FAN_NONBLOCK as given at its init; create_fd then sets the image's status flags.
Result<int> install_fanotify(const image::Fd& fd, const FdInstall&) {
  ASSIGN_OR_RETURN(UniqueFd made, create_fanotify(fd.fanotify()));
  return made.release();
}

}  // namespace cryo::state
