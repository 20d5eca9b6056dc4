// The fanotify fds of an image (FD_FANOTIFY): known init flags of the notification class, event
// flags an event fd may be opened with, and inode marks with known bits, a clean path, the marked
// file's identity and its handle. Linked by the image fuzzer (tests/fuzz/CMakeLists.txt).
#include <fcntl.h>
#include <sys/fanotify.h>

#include <set>

#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

// fanotify_init flags a dump records: the notification class (0), the reporting and limit flags,
// and FAN_CLOEXEC and FAN_NONBLOCK as they were given (the group keeps them).
constexpr uint32_t kFanotifyInitFlags = FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS | FAN_ENABLE_AUDIT | FAN_REPORT_TID | FAN_REPORT_FID |
                                        FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_REPORT_TARGET_FID | FAN_REPORT_PIDFD;
constexpr uint32_t kFanotifyEventFlags = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME | O_CLOEXEC | 0100000;  // O_LARGEFILE
constexpr uint32_t kFanotifyMaskBits = FAN_ACCESS | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_CLOSE_NOWRITE | FAN_OPEN |
                                       FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CREATE | FAN_DELETE | FAN_DELETE_SELF | FAN_MOVE_SELF |
                                       FAN_OPEN_EXEC | FAN_FS_ERROR | FAN_RENAME | FAN_ONDIR | FAN_EVENT_ON_CHILD;
constexpr int kMaxFanotifyMarks = 1 << 20;

}  // namespace

void validate_fanotify(const image::FanotifyState& state, const std::string& name, std::vector<std::string>* problems) {
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
    if (!is_clean_absolute_path(mark.path())) problems->push_back(m + ": the path is not a clean absolute path");
    if (!mark.has_identity() || mark.identity().ino() == 0) problems->push_back(m + ": no identity of the marked file");
    if (mark.handle().empty() || mark.handle().size() > 128) problems->push_back(m + ": no file handle, or one longer than the kernel's 128 bytes");
    else if (!inodes.insert({mark.identity().dev(), mark.identity().ino()}).second)
      problems->push_back(m + ": a second mark on the same file (a group has one mark per inode)");
  }
}

}  // namespace cryo::restore
