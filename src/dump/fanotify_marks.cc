#include "dump/fanotify_marks.h"

#include <sys/fanotify.h>
#include <sys/stat.h>

#include "base/file_util.h"
#include "dump/inotify_watches.h"

namespace cryo::dump {
namespace {

std::string mark_name(const FanotifyMarkInfo& mark) {
  return "fanotify mark on inode " + std::to_string(mark.ino) + " (device " + std::to_string(mark.sdev >> 20) + ":" +
         std::to_string(mark.sdev & 0xfffff) + ")";
}

}  // namespace

Result<> collect_fanotify(pid_t pid, int fd, const FdInfo& info, image::Fd& out) {
  if (!info.fanotify) return fail("fdinfo shows no fanotify flags");
  uint32_t klass = info.fanotify->flags & (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT);
  if (klass != FAN_CLASS_NOTIF)
    return fail(make_error(std::string("fanotify fd is of a permission class (") +
                           (klass == FAN_CLASS_CONTENT ? "FAN_CLASS_CONTENT" : "FAN_CLASS_PRE_CONTENT") +
                           "), which cryo cannot dump: its events wait for the process's answer"));
  ASSIGN_OR_RETURN(int queued, queued_event_bytes(pid, fd));
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
      return fail(make_error("fanotify mark on the filesystem of device " + std::to_string(mark.sdev >> 20) + ":" +
                             std::to_string(mark.sdev & 0xfffff) + " (FAN_MARK_FILESYSTEM), which cryo cannot dump yet"));
    if (mark.ignored_mask != 0 || (mark.mflags & ~static_cast<uint32_t>(FAN_MARK_EVICTABLE)) != 0)
      return fail(make_error(mark_name(mark) + " has an ignore mask or mark flags " + std::to_string(mark.mflags) +
                             ", which cryo cannot dump yet"));
    struct stat st;
    ASSIGN_OR_RETURN(std::string path,
                     watched_inode_path(pid, mountinfo, {mark.ino, mark.sdev, mark.handle, mark.handle_type}, mark_name(mark), &st));
    image::FanotifyMark* entry = state->add_marks();
    entry->set_mflags(mark.mflags);
    entry->set_mask(mark.mask);
    entry->set_path(path);
    entry->mutable_identity()->set_dev(st.st_dev);
    entry->mutable_identity()->set_ino(st.st_ino);
    entry->mutable_identity()->set_mode(st.st_mode);
    entry->set_handle(mark.handle);
    entry->set_handle_type(mark.handle_type);
  }
  return {};
}

}  // namespace cryo::dump
